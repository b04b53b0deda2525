import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { ErrorCode, SlipwayError } from '../core/errors.ts';

/** Bytes of a Slipway secret key (AES-256). */
export const SECRET_KEY_BYTES = 32;

const PREFIX = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secrets stored in the database (webhook secrets, repository credentials) with
 * AES-256-GCM: `v1:<iv>:<tag>:<ciphertext>`, each part base64url. The additional authenticated
 * data names the row and column a value belongs to, so a sealed value copied into another
 * project's row, or into another column, does not open.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== SECRET_KEY_BYTES) {
      throw new SlipwayError(ErrorCode.SECRET_KEY_INVALID, `a secret key is ${SECRET_KEY_BYTES} bytes, this one is ${key.length}`);
    }
    this.#key = Buffer.from(key);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [PREFIX, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
  }

  /** Throws SECRET_KEY_MISMATCH when the value was sealed with another key or for another context. */
  open(sealed: string, context: string): string {
    const parts = sealed.split(':');
    const [prefix, iv, tag, body] = parts;
    if (parts.length !== 4 || prefix !== PREFIX || iv === undefined || tag === undefined || body === undefined) {
      throw new SlipwayError(ErrorCode.SECRET_KEY_MISMATCH, `a stored secret (${context}) is not in the sealed format`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SlipwayError(ErrorCode.SECRET_KEY_MISMATCH, `a stored secret (${context}) does not open with this secret key`);
    }
  }

  /**
   * A keyed fingerprint of a secret (HMAC-SHA256 under a key derived from this one for
   * `purpose`), hex: equal secrets have equal fingerprints under one key, and without the key a
   * fingerprint cannot be checked against guesses.
   */
  fingerprint(secret: string, purpose: string): string {
    const key = createHmac('sha256', this.#key).update(`slipway fingerprint: ${purpose}`).digest();
    return createHmac('sha256', key).update(secret, 'utf8').digest('hex');
  }

  isSealed(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }
}
