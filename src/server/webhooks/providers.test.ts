import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSlipwayError } from '../../core/errors.ts';
import { ZERO_SHA } from '../services/pushes.ts';
import { generic } from './generic.ts';
import { github } from './github.ts';
import { gitlab } from './gitlab.ts';
import { decodePayload, type RawDelivery } from './provider.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const delivery = (headers: Record<string, string>, body = '{}'): RawDelivery => ({ headers, body: Buffer.from(body) });

const githubPush = (fields: Record<string, unknown>) => ({
  ref: 'refs/heads/main',
  before: A,
  after: B,
  repository: { clone_url: 'https://github.com/acme/shop.git', html_url: 'https://github.com/acme/shop' },
  pusher: { name: 'mona' },
  head_commit: { id: B, message: 'Fix', author: { name: 'Mona Lisa', username: 'mona' } },
  ...fields,
});

describe('GitHub payloads', () => {
  const push = delivery({ 'x-github-event': 'push' });

  test('a branch push moves the ref to after, with the head commit author and message', () => {
    assert.deepEqual(github.interpret(push, githubPush({})), {
      kind: 'push',
      updates: [{ ref: 'refs/heads/main', before: A, after: B }],
      author: 'Mona Lisa',
      message: 'Fix',
    });
  });

  test('an annotated tag builds the tagged commit (head_commit), not the tag object (after)', () => {
    const event = github.interpret(push, githubPush({ ref: 'refs/tags/v1', before: ZERO_SHA, after: C }));
    assert.equal(event.kind, 'push');
    if (event.kind === 'push') assert.deepEqual(event.updates, [{ ref: 'refs/tags/v1', before: ZERO_SHA, after: B }]);
  });

  test('deleted: true is a delete whatever after says; the pusher is the author', () => {
    const event = github.interpret(push, githubPush({ deleted: true, after: ZERO_SHA, head_commit: null }));
    assert.equal(event.kind, 'push');
    if (event.kind === 'push') {
      assert.equal(event.updates[0]?.after, ZERO_SHA);
      assert.equal(event.author, 'mona');
    }
  });

  test('commit ids are lower-cased; a malformed one is INVALID_REQUEST', () => {
    const event = github.interpret(push, githubPush({ after: B.toUpperCase(), head_commit: null }));
    if (event.kind === 'push') assert.equal(event.updates[0]?.after, B);
    assert.throws(
      () => github.interpret(push, githubPush({ after: 'b'.repeat(39) })),
      (err) => isSlipwayError(err, 'INVALID_REQUEST'),
    );
  });

  test('repository URLs are read from an unverified payload without trusting anything else', () => {
    assert.deepEqual(github.repositoryUrls(githubPush({})), ['https://github.com/acme/shop.git', 'https://github.com/acme/shop']);
    assert.deepEqual(github.repositoryUrls({ repository: 'nope' }), []);
    assert.deepEqual(github.repositoryUrls(null), []);
  });

  test('ping and other events', () => {
    assert.deepEqual(github.interpret(delivery({ 'x-github-event': 'ping' }), { zen: 'Keep it logically awesome.', hook_id: 7 }), {
      kind: 'ping',
      zen: 'Keep it logically awesome.',
      hookId: 7,
    });
    assert.deepEqual(github.interpret(delivery({ 'x-github-event': 'star' }), {}), { kind: 'ignored', event: 'star' });
  });
});

describe('GitLab payloads', () => {
  const base = {
    object_kind: 'push',
    ref: 'refs/heads/main',
    before: A,
    after: B,
    checkout_sha: B,
    user_name: 'John Smith',
    project: { git_http_url: 'https://gitlab.example.com/acme/shop.git', git_ssh_url: 'git@gitlab.example.com:acme/shop.git' },
    commits: [{ id: B, message: 'Update translation\n', author: { name: 'Jordi Mallach' } }],
  };

  test('the delivery id prefers Idempotency-Key (kept on retries), then webhook-id, then the event UUID, then the body digest', () => {
    const all = { 'idempotency-key': 'k', 'webhook-id': 'w', 'x-gitlab-event-uuid': 'u' };
    assert.equal(gitlab.deliveryId(delivery(all), {}), 'k');
    assert.equal(gitlab.deliveryId(delivery({ 'webhook-id': 'w', 'x-gitlab-event-uuid': 'u' }), {}), 'w');
    assert.equal(gitlab.deliveryId(delivery({ 'x-gitlab-event-uuid': 'u' }), {}), 'u');
    const digest = gitlab.deliveryId(delivery({}, '{"same":"body"}'), {});
    assert.match(digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(gitlab.deliveryId(delivery({}, '{"same":"body"}'), {}), digest);
  });

  test('a signed delivery is known by the webhook-id its signature covers, not an unsigned Idempotency-Key', () => {
    const signed = { 'idempotency-key': 'edited', 'webhook-id': 'w', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };
    assert.equal(gitlab.deliveryId(delivery(signed), {}), 'w');
  });

  test('a push takes the matching commit for author and message', () => {
    const event = gitlab.interpret(delivery({ 'x-gitlab-event': 'Push Hook' }), base);
    assert.deepEqual(event, {
      kind: 'push',
      updates: [{ ref: 'refs/heads/main', before: A, after: B }],
      author: 'Jordi Mallach',
      message: 'Update translation\n',
    });
  });

  test('a branch delete has checkout_sha null and after zeros', () => {
    const event = gitlab.interpret(delivery({ 'x-gitlab-event': 'Push Hook' }), { ...base, after: ZERO_SHA, checkout_sha: null, commits: [] });
    if (event.kind === 'push') {
      assert.equal(event.updates[0]?.after, ZERO_SHA);
      assert.equal(event.author, 'John Smith');
    }
  });

  test('an event header that is not a push hook is ignored, even with a push body', () => {
    assert.deepEqual(gitlab.interpret(delivery({ 'x-gitlab-event': 'System Hook' }), base), { kind: 'ignored', event: 'System Hook' });
  });
});

describe('generic payloads', () => {
  test('a bare branch name means refs/heads/<name>; before is required', () => {
    const event = generic.interpret(delivery({}), { ref: 'feature/blue', before: ZERO_SHA, after: B });
    assert.equal(event.kind, 'push');
    if (event.kind === 'push') assert.deepEqual(event.updates, [{ ref: 'refs/heads/feature/blue', before: ZERO_SHA, after: B }]);
    assert.throws(() => generic.interpret(delivery({}), { ref: 'feature/blue', after: B }), (err: unknown) => isSlipwayError(err) && err.code === 'INVALID_REQUEST');
  });

  test('the delivery id comes from the body, else the X-Slipway-Delivery header', () => {
    assert.equal(generic.deliveryId(delivery({ 'x-slipway-delivery': 'h' }), { delivery: 'b' }), 'b');
    assert.equal(generic.deliveryId(delivery({ 'x-slipway-delivery': 'h' }), { delivery: 5 }), 'h');
    assert.equal(generic.deliveryId(delivery({}), [1, 2]), undefined);
  });
});

describe('decoding bodies', () => {
  test('JSON, form-encoded payload=, and errors', () => {
    assert.deepEqual(decodePayload(delivery({ 'content-type': 'application/json; charset=utf-8' }, '{"a":1}')), { a: 1 });
    const form = `payload=${encodeURIComponent('{"a":2}')}`;
    assert.deepEqual(decodePayload(delivery({ 'content-type': 'application/x-www-form-urlencoded' }, form)), { a: 2 });
    assert.throws(() => decodePayload(delivery({ 'content-type': 'application/json' }, '{')), (err) => isSlipwayError(err, 'INVALID_REQUEST'));
    assert.throws(
      () => decodePayload(delivery({ 'content-type': 'application/x-www-form-urlencoded' }, 'other=1')),
      (err) => isSlipwayError(err, 'INVALID_REQUEST'),
    );
  });
});
