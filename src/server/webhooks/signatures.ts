import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Pure checks of webhook credentials. Every comparison decodes the presented value, checks its
 * length against the expected one first (timingSafeEqual throws on unequal lengths), then
 * compares in constant time. None of them parses the body: they run on the raw bytes.
 */

export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };
const refuse = (reason: string): Verdict => ({ ok: false, reason });

/** Standard Webhooks (and GitLab's signing token) refuse timestamps further off than this. */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

function hmacSha256(key: Uint8Array | string, ...parts: (Uint8Array | string)[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function sameBytes(presented: Buffer, expected: Buffer): boolean {
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** `sha256=<hex>` over the raw body, as GitHub's `X-Hub-Signature-256` and Slipway's `X-Slipway-Signature`. */
export function signHex(secret: string, body: Uint8Array | string): string {
  return `sha256=${hmacSha256(secret, body).toString('hex')}`;
}

/**
 * Checks a `sha256=<hex>` header against HMAC-SHA256(secret, body). The hex must be exactly
 * 64 digits: Buffer.from(…, 'hex') silently stops at the first bad digit or an odd tail, so a
 * truncated or odd-length value is refused before it is decoded.
 */
export function verifyHexSignature(secret: string, body: Uint8Array, header: string | undefined): Verdict {
  if (header === undefined || header === '') return refuse('signature header is missing');
  const match = /^sha256=(.*)$/s.exec(header.trim());
  if (!match) return refuse('signature must look like "sha256=<hex>"');
  const hex = match[1] ?? '';
  if (!HEX_SHA256.test(hex)) return refuse('signature must be 64 hex digits');
  return sameBytes(Buffer.from(hex, 'hex'), hmacSha256(secret, body)) ? OK : refuse('signature does not match the body');
}

/** GitLab's `X-Gitlab-Token`: the secret itself, compared in constant time. */
export function verifyToken(secret: string, token: string | undefined): Verdict {
  if (token === undefined || token === '') return refuse('token header is missing');
  return sameBytes(Buffer.from(token, 'utf8'), Buffer.from(secret, 'utf8')) ? OK : refuse('token does not match');
}

/**
 * The HMAC key of a Standard Webhooks secret: `whsec_<base64>` is the base64 key (the form
 * GitLab requires of a signing token); any other secret is used as its UTF-8 bytes.
 */
export function standardWebhookKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export interface StandardWebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/** The `webhook-signature` value a sender computes: `v1,<base64>` of HMAC-SHA256(key, `id.timestamp.body`). */
export function signStandardWebhook(secret: string, id: string, timestamp: string, body: Uint8Array | string): string {
  return `v1,${hmacSha256(standardWebhookKey(secret), `${id}.${timestamp}.`, body).toString('base64')}`;
}

/**
 * Standard Webhooks verification (GitLab's signing token): the signature header holds one or
 * more space-separated `v1,<base64>` entries (several during a key rotation); one must match.
 * A timestamp more than five minutes from `now` is refused, so a captured request cannot be
 * replayed later.
 */
export function verifyStandardWebhook(secret: string, body: Uint8Array, headers: StandardWebhookHeaders, now: Date): Verdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return refuse('webhook-id, webhook-timestamp and webhook-signature are all required');
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('webhook-timestamp must be whole seconds since the epoch');
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) return refuse(`webhook-timestamp is ${Math.round(skew)} s away from now (limit ${TIMESTAMP_TOLERANCE_SECONDS} s)`);
  const expected = hmacSha256(standardWebhookKey(secret), `${id}.${timestamp}.`, body);
  let matched = false;
  for (const entry of signature.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const encoded = entry.slice(comma + 1);
    // Same reason as the hex check: Buffer's base64 decoder skips what it does not understand.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) continue;
    // No early exit: every entry costs the same whether or not an earlier one matched.
    if (sameBytes(Buffer.from(encoded, 'base64'), expected)) matched = true;
  }
  return matched ? OK : refuse('no v1 entry of webhook-signature matches');
}
