import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  signHex,
  signStandardWebhook,
  standardWebhookKey,
  verifyHexSignature,
  verifyStandardWebhook,
  verifyToken,
  type Verdict,
} from './signatures.ts';

const ok = (v: Verdict) => assert.deepEqual(v, { ok: true });
const refused = (v: Verdict, reason?: RegExp) => {
  assert.equal(v.ok, false);
  if (reason && !v.ok) assert.match(v.reason, reason);
};

describe('hex HMAC signatures (GitHub X-Hub-Signature-256, X-Slipway-Signature)', () => {
  // The example GitHub's documentation gives for validating deliveries.
  const secret = "It's a Secret to Everybody";
  const body = Buffer.from('Hello, World!');
  const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  test('matches the documented example', () => {
    assert.equal(signHex(secret, body), documented);
    ok(verifyHexSignature(secret, body, documented));
  });

  test('upper-case hex and surrounding spaces are accepted', () => {
    ok(verifyHexSignature(secret, body, ` sha256=${documented.slice(7).toUpperCase()} `));
  });

  test('a changed body, a wrong secret, or a missing header is refused', () => {
    refused(verifyHexSignature(secret, Buffer.from('Hello, World?'), documented), /does not match/);
    refused(verifyHexSignature('another secret', body, documented), /does not match/);
    refused(verifyHexSignature(secret, body, undefined), /missing/);
    refused(verifyHexSignature(secret, body, ''), /missing/);
  });

  test('truncated, odd-length, over-long or non-hex digits are refused before decoding', () => {
    const hex = documented.slice(7);
    // Buffer.from(hex, 'hex') would silently decode a prefix of each of these.
    refused(verifyHexSignature(secret, body, `sha256=${hex.slice(0, 62)}`), /64 hex/);
    refused(verifyHexSignature(secret, body, `sha256=${hex.slice(0, 63)}`), /64 hex/);
    refused(verifyHexSignature(secret, body, `sha256=${hex}0`), /64 hex/);
    refused(verifyHexSignature(secret, body, `sha256=${hex.slice(0, 62)}zz`), /64 hex/);
    refused(verifyHexSignature(secret, body, 'sha256='), /64 hex/);
  });

  test('other algorithms or a bare digest are refused', () => {
    refused(verifyHexSignature(secret, body, documented.slice(7)), /sha256=/);
    refused(verifyHexSignature(secret, body, `sha1=${documented.slice(7)}`), /sha256=/);
  });

  test('an empty body still has a signature', () => {
    ok(verifyHexSignature(secret, Buffer.alloc(0), signHex(secret, '')));
  });
});

describe('GitLab X-Gitlab-Token', () => {
  test('the secret itself is accepted; anything else is not', () => {
    ok(verifyToken('s3cret-token', 's3cret-token'));
    refused(verifyToken('s3cret-token', 's3cret-tokem'), /does not match/);
    refused(verifyToken('s3cret-token', 's3cret'), /does not match/);
    refused(verifyToken('s3cret-token', 's3cret-token '), /does not match/);
    refused(verifyToken('s3cret-token', undefined), /missing/);
    refused(verifyToken('s3cret-token', ''), /missing/);
  });
});

describe('Standard Webhooks signatures (GitLab signing token)', () => {
  // The specification's own example (standard-webhooks test suite).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = '1614265330';
  const body = Buffer.from('{"test": 2432232314}');
  const documented = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const at = new Date(Number(timestamp) * 1000);

  test('matches the specification example, with the whsec_ secret base64-decoded', () => {
    assert.equal(standardWebhookKey(secret).length, 24);
    assert.equal(signStandardWebhook(secret, id, timestamp, body), documented);
    ok(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented }, at));
  });

  test('a secret without the whsec_ prefix is used as its bytes', () => {
    const plain = 'plain-shared-secret';
    assert.deepEqual(standardWebhookKey(plain), Buffer.from(plain));
    const signature = signStandardWebhook(plain, id, timestamp, body);
    ok(verifyStandardWebhook(plain, body, { id, timestamp, signature }, at));
  });

  test('one matching entry among several is enough (key rotation); unknown versions are skipped', () => {
    const other = signStandardWebhook('whsec_b3RoZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmctLS0=', id, timestamp, body);
    ok(verifyStandardWebhook(secret, body, { id, timestamp, signature: `${other} v1a,abcd ${documented}` }, at));
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: `${other} v2,${documented.slice(3)}` }, at), /no v1/);
  });

  test('a changed body, id or timestamp is refused', () => {
    refused(verifyStandardWebhook(secret, Buffer.from('{"test": 2432232315}'), { id, timestamp, signature: documented }, at));
    refused(verifyStandardWebhook(secret, body, { id: `${id}x`, timestamp, signature: documented }, at));
    refused(verifyStandardWebhook(secret, body, { id, timestamp: '1614265331', signature: documented }, at));
  });

  test('truncated or malformed base64 is refused', () => {
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented.slice(0, -4) }, at));
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: `${documented.slice(0, -1)}!` }, at));
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: 'v1,' }, at));
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: 'v1' }, at));
  });

  test('timestamps more than five minutes away are refused, either side', () => {
    ok(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented }, new Date(at.getTime() + 299_000)));
    ok(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented }, new Date(at.getTime() - 299_000)));
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented }, new Date(at.getTime() + 301_000)), /away from now/);
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: documented }, new Date(at.getTime() - 301_000)), /away from now/);
    refused(verifyStandardWebhook(secret, body, { id, timestamp: '1614265330.5', signature: documented }, at), /whole seconds/);
  });

  test('every header is required', () => {
    refused(verifyStandardWebhook(secret, body, { id: undefined, timestamp, signature: documented }, at), /required/);
    refused(verifyStandardWebhook(secret, body, { id, timestamp: undefined, signature: documented }, at), /required/);
    refused(verifyStandardWebhook(secret, body, { id, timestamp, signature: undefined }, at), /required/);
  });
});
