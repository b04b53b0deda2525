import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LookupAll } from '../src/core/repo-url.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import type { NotifyDelivery } from '../src/protocol/notifications.ts';
import { queueReleaseNotifications, sendNotification } from '../src/server/services/notifications.ts';
import { verifyHexSignature } from '../src/server/webhooks/signatures.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { startNotifyReceiver, type NotifyReceiver } from './support/notify-receiver.ts';
import { commit, deployCommit, projectIdOf } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** Commits by three people: a batch that carries a2 and a3 names Ann's and Bob's work. */
const A1 = commit('a1');
const A2 = commit('a2');
const A3 = commit('a3');

for (const backend of backends) {
  describe(`notifications on ${backend.name}`, () => {
    let t: TestServer;
    let receiver: NotifyReceiver;
    let deployer: SlipwayClient;
    let viewer: SlipwayClient;
    let projectAdmin: SlipwayClient;

    const deliveries = async (target?: string): Promise<NotifyDelivery[]> => (await t.client.listNotifyDeliveries('shop', target === undefined ? {} : { target })).deliveries;
    const deliveryOf = (target: string, event: string, state: NotifyDelivery['state']) =>
      eventually(`a ${state} ${event} delivery to ${target}`, async () => (await deliveries(target)).find((d) => d.event === event && d.state === state));

    before(async () => {
      t = await startTestServer(backend);
      receiver = await startNotifyReceiver();
      await t.client.createProject('shop');
      deployer = t.clientWith((await t.client.createToken({ name: 'dep', role: 'deployer' })).secret);
      viewer = t.clientWith((await t.client.createToken({ name: 'view', role: 'viewer' })).secret);
      projectAdmin = t.clientWith((await t.client.createToken({ name: 'boss', role: 'admin' })).secret);
      const at = new Date().toISOString();
      await t.server.deps.store.insertCommits(
        await projectIdOf(t, 'shop'),
        [
          { sha: A1, parents: [], authorName: 'Grace Hopper', authorEmail: 'grace@example.com', message: 'First page', committedAt: at },
          { sha: A2, parents: [A1], authorName: 'Ann Author', authorEmail: 'ann@example.com', message: 'Cart <script>', committedAt: at },
          { sha: A3, parents: [A2], authorName: 'Bob Builder', authorEmail: 'bob@example.com', message: 'Checkout', committedAt: at },
        ],
        at,
      );
      await t.client.setPolicy('shop', 'production', {});
    });
    after(async () => {
      await receiver.close();
      await t.dispose();
    });

    test('bad targets are refused with a code and nothing is added', async () => {
      const refused = [
        'http://127.0.0.1:9/hook',
        `http://127.0.0.1:${receiver.port}/hook`,
        'http://2130706433/',
        'http://0x7f.1/',
        'http://[::1]/',
        'http://[::ffff:127.0.0.1]/',
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/',
        'http://localhost:7070/api/v1/projects',
        // A name this machine resolves to loopback (/etc/hosts).
        `http://vm:${receiver.port}/hook`,
        'file:///etc/passwd',
        'gopher://example.com/',
        'https://user:pw@example.com/',
      ];
      for (const url of refused) await rejectsWithCode(t.client.addNotifyTarget('shop', { url }), 'URL_FORBIDDEN', 400);
      await rejectsWithCode(t.client.addNotifyTarget('shop', { url: 'https://hooks.example.com/x', events: ['release.deployed'] }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.addNotifyTarget('shop', { url: 'https://hooks.example.com/x', format: 'xml' as 'json' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.addNotifyTarget('nowhere', { url: 'https://hooks.example.com/x' }), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(deployer.addNotifyTarget('shop', { url: 'https://hooks.example.com/x' }), 'FORBIDDEN', 403);
      await rejectsWithCode(deployer.addNotifyTarget('shop', { url: receiver.url(), allowPrivate: true }), 'FORBIDDEN', 403);
      // An admin of the project only (a scoped token, a member) may add targets, not reach the private network.
      const scoped = t.clientWith((await t.client.createToken({ name: 'shop-admin', role: 'admin', project: 'shop' })).secret);
      await rejectsWithCode(scoped.addNotifyTarget('shop', { url: receiver.url(), allowPrivate: true }), 'FORBIDDEN', 403);
      await t.client.createUser({ name: 'pat', emails: ['pat@example.com'], role: 'viewer' });
      await t.client.setMember('shop', 'pat', { role: 'admin' });
      const member = t.clientWith((await t.client.createToken({ name: 'pat-cli', user: 'pat' })).secret);
      await rejectsWithCode(member.addNotifyTarget('shop', { url: receiver.url(), allowPrivate: true }), 'FORBIDDEN', 403);
      const public_ = await member.addNotifyTarget('shop', { url: 'http://93.184.216.34/hook' });
      await member.removeNotifyTarget('shop', public_.id);
      await rejectsWithCode(viewer.listNotifyTargets('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(viewer.listNotifyDeliveries('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.removeNotifyTarget('shop', 'ntf-nothere'), 'NOTIFY_TARGET_NOT_FOUND', 404);
      await rejectsWithCode(t.client.listNotifyDeliveries('shop', { target: 'ntf-nothere' }), 'NOTIFY_TARGET_NOT_FOUND', 404);
      assert.deepEqual((await t.client.listNotifyTargets('shop')).targets, []);
    });

    test('a project has at most 20 targets', async () => {
      await t.client.createProject('busy');
      const made = await Promise.all(Array.from({ length: 21 }, (_, i) => t.client.addNotifyTarget('busy', { url: `http://93.184.216.34/${i}` }).then((x) => x, (err: unknown) => err)));
      assert.equal(made.filter((x) => !(x instanceof Error)).length, 20);
      assert.equal((await t.client.listNotifyTargets('busy')).targets.length, 20);
      await rejectsWithCode(t.client.addNotifyTarget('busy', { url: 'http://93.184.216.34/one-more' }), 'INVALID_REQUEST', 400);
    });

    test('a release going live reaches the receiver signed; a failing receiver is retried with backoff until it answers', async () => {
      receiver.received.length = 0;
      const created = await projectAdmin.addNotifyTarget('shop', { url: receiver.url('/hook?k=secret-token'), allowPrivate: true, events: ['live', 'rolled_back'] });
      assert.ok(created.secret.length >= 32);
      assert.deepEqual(created.events, ['release.live', 'release.rolled_back']);
      // Only admins see the whole URL: a token in its path or query stays hidden from deployers.
      assert.equal((await deployer.listNotifyTargets('shop')).targets[0]?.url, `http://127.0.0.1:${receiver.port}/…`);
      assert.equal((await t.client.listNotifyTargets('shop')).targets[0]?.url, receiver.url('/hook?k=secret-token'));

      receiver.script('/hook', { status: 500, body: 'down' }, { status: 503, body: 'x'.repeat(100_000) });
      const first = await deployCommit(t.client, 'shop', A1);
      const moved = await deployer.promote('shop', 'production', { deployment: first.id, reason: 'first' });
      const delivered = await deliveryOf(created.id, 'release.live', 'delivered');
      assert.equal(delivered.attempts, 3);
      assert.equal(delivered.statusCode, 200);
      assert.equal(delivered.release, moved.id);
      assert.equal(delivered.error, null);

      const sent = receiver.received.filter((r) => r.headers['x-slipway-event'] === 'release.live');
      assert.equal(sent.length, 3, 'two failures and the success');
      for (const request of sent) {
        assert.equal(request.path, '/hook?k=secret-token');
        assert.equal(request.headers['content-type'], 'application/json');
        assert.equal(request.headers['x-slipway-delivery'], delivered.id);
        assert.deepEqual(verifyHexSignature(created.secret, request.body, request.headers['x-slipway-signature'] as string), { ok: true });
        assert.deepEqual(verifyHexSignature('another secret', request.body, request.headers['x-slipway-signature'] as string).ok, false);
        assert.ok(request.body.equals(sent[0]?.body ?? Buffer.alloc(0)), 'every attempt sends the same bytes');
      }
      // The queue's backoff: 2 s after the first failure, 4 s after the second.
      const [a, b, c] = sent.map((r) => r.at);
      assert.ok(a !== undefined && b !== undefined && c !== undefined);
      assert.ok(b - a >= 1500, `second attempt ${b - a} ms after the first`);
      assert.ok(c - b >= 3500, `third attempt ${c - b} ms after the second`);

      const body = JSON.parse(sent[0]?.body.toString('utf8') ?? '{}') as Record<string, unknown> & { release: Record<string, unknown>; urls: Record<string, string>; batch: { commits: unknown[] } };
      assert.equal(body.type, 'release.live');
      assert.equal(body.delivery, delivered.id);
      assert.equal(body.project, 'shop');
      assert.equal(body.environment, 'production');
      assert.equal(body.release.number, 1);
      assert.equal(body.release.state, 'live');
      assert.equal(body.release.previousState, 'rolling_out');
      assert.equal(body.release.deploymentId, first.id);
      assert.match(body.urls.deployment ?? '', new RegExp(`${first.id}--shop`));
      assert.deepEqual(body.batch.commits, [{ sha: A1, message: 'First page', authorName: 'Grace Hopper', authorEmail: 'grace@example.com' }]);
    });

    test('--format slack: a Slack-compatible message with the batch, its authors and links', async () => {
      receiver.received.length = 0;
      const slack = await t.client.addNotifyTarget('shop', { url: receiver.url('/slack'), allowPrivate: true, format: 'slack', events: ['live'] });
      const next = await deployCommit(t.client, 'shop', A3);
      await deployer.promote('shop', 'production', { deployment: next.id });
      await deliveryOf(slack.id, 'release.live', 'delivered');
      const request = receiver.received.find((r) => r.path === '/slack');
      assert.ok(request);
      assert.deepEqual(verifyHexSignature(slack.secret, request.body, request.headers['x-slipway-signature'] as string), { ok: true });
      const message = JSON.parse(request.body.toString('utf8')) as { text: string; blocks: { type: string }[] };
      assert.match(message.text, /shop production v2 is live/);
      assert.ok(message.blocks.every((b) => b.type === 'section' || b.type === 'context'));
      const text = JSON.stringify(message.blocks);
      assert.match(text, /2 commits/);
      assert.match(text, /Cart &lt;script&gt; — Ann Author/);
      assert.match(text, /Checkout — Bob Builder/);
      assert.match(text, /Authors: Ann Author, Bob Builder|Authors: Bob Builder, Ann Author/);
      assert.match(text, new RegExp(`${next.id}--shop`));
      assert.match(text, /#\/projects\/shop\|Slipway/);
      await t.client.removeNotifyTarget('shop', slack.id);
    });

    test('a redirect is not followed, a long answer is cut, and a removed target sends nothing more', async () => {
      receiver.received.length = 0;
      const target = await t.client.addNotifyTarget('shop', { url: receiver.url('/moved'), allowPrivate: true, events: ['rolled_back'] });
      receiver.script('/moved', { status: 302, headers: { location: receiver.url('/elsewhere') } });
      await t.client.rollback('shop', 'production', { reason: 'bad checkout' });
      const pending = await eventually('a failed attempt on the redirect', async () => (await deliveries(target.id)).find((d) => d.attempts === 1 && d.state === 'pending'));
      assert.equal(pending.statusCode, 302);
      assert.match(pending.error ?? '', /redirect/);
      assert.ok(pending.nextAttemptAt !== null);
      assert.equal(receiver.received.filter((r) => r.path === '/elsewhere').length, 0);
      const removed = await t.client.removeNotifyTarget('shop', target.id);
      assert.equal(removed.id, target.id);
      const canceled = (await deliveries(target.id)).find((d) => d.id === pending.id);
      assert.equal(canceled?.state, 'canceled');
      await rejectsWithCode(t.client.removeNotifyTarget('shop', target.id), 'NOTIFY_TARGET_NOT_FOUND', 404);
      const events = (await t.client.listEvents({ project: 'shop' })).events.map((e) => e.action);
      assert.ok(events.includes('notify.add') && events.includes('notify.remove'));
      // The first target's 503 answer was 100,000 bytes: only its start is kept.
      for (const d of await deliveries()) assert.ok((d.response ?? '').length <= 512);
    });

    test('every send checks the address again and connects to the one it checked', async () => {
      receiver.received.length = 0;
      const store = t.server.deps.store;
      const projectId = await projectIdOf(t, 'shop');
      const now = new Date().toISOString();
      const insert = async (id: string, url: string, allowPrivate: boolean) => {
        await store.insertNotifyTarget({ id, projectId, url, urlOrigin: 'x', format: 'json', events: ['release.live'], allowPrivate, createdAt: now, createdBy: 'test', secret: 's3cret' });
        await store.insertNotifyDelivery({ id: `ndl-${id}`, targetId: id, projectId, event: 'release.live', releaseId: null, body: '{"hello":1}', createdAt: now });
      };
      // Public when it was added; the name now resolves to loopback (or to loopback among public answers).
      const lookup: LookupAll = (hostname) =>
        Promise.resolve(
          hostname === 'hooks.example.com'
            ? [{ address: '127.0.0.1', family: 4 }]
            : hostname === 'mixed.example.com'
              ? [{ address: '93.184.216.34', family: 4 }, { address: '::1', family: 6 }]
              : [{ address: '127.0.0.1', family: 4 }],
        );
      await insert('ntf-rebound', `http://hooks.example.com:${receiver.port}/rebound`, false);
      await insert('ntf-mixed', `http://mixed.example.com:${receiver.port}/mixed`, false);
      for (const id of ['ntf-rebound', 'ntf-mixed']) {
        const row = await sendNotification(t.server.deps, `ndl-${id}`, { attempt: 1, lastAttempt: false, retryAt: null }, lookup);
        assert.equal(row?.state, 'failed', id);
        assert.match(row?.error ?? '', /URL_FORBIDDEN/);
      }
      assert.equal(receiver.received.length, 0, 'nothing reached the receiver');

      // Allowed private: the name is resolved once, by the check, and the connection goes to that address.
      await insert('ntf-pinned', `http://receiver.invalid:${receiver.port}/pinned`, true);
      const row = await sendNotification(t.server.deps, 'ndl-ntf-pinned', { attempt: 1, lastAttempt: false, retryAt: null }, lookup);
      assert.equal(row?.state, 'delivered');
      assert.equal(receiver.received[0]?.headers.host, `receiver.invalid:${receiver.port}`);
      assert.deepEqual(verifyHexSignature('s3cret', receiver.received[0]?.body ?? Buffer.alloc(0), receiver.received[0]?.headers['x-slipway-signature'] as string), { ok: true });
      // A receiver that never answers is a failed attempt after the timeout, retried; on the last attempt, failed.
      await insert('ntf-slow', receiver.url('/slow'), true);
      receiver.script('/slow', { status: 200, hang: true }, { status: 200, hang: true });
      const retryAt = new Date(Date.now() + 2000).toISOString();
      await assert.rejects(sendNotification(t.server.deps, 'ndl-ntf-slow', { attempt: 1, lastAttempt: false, retryAt, timeoutMs: 300 }, lookup), /no answer within 300 ms/);
      const slow = await store.findNotifyDelivery('ndl-ntf-slow');
      assert.equal(slow?.state, 'pending');
      assert.equal(slow?.attempts, 1);
      assert.equal(slow?.nextAttemptAt, retryAt);
      const gaveUp = await sendNotification(t.server.deps, 'ndl-ntf-slow', { attempt: 2, lastAttempt: true, retryAt, timeoutMs: 300 }, lookup);
      assert.equal(gaveUp?.state, 'failed');
      assert.equal(gaveUp?.attempts, 2);
      assert.equal(gaveUp?.nextAttemptAt, null);
      // An answer that never ends is not waited for: its start is kept.
      await insert('ntf-endless', receiver.url('/endless'), true);
      receiver.script('/endless', { status: 200, endless: true });
      const endless = await sendNotification(t.server.deps, 'ndl-ntf-endless', { attempt: 1, lastAttempt: false, retryAt: null, timeoutMs: 5000 }, lookup);
      assert.equal(endless?.state, 'delivered');
      assert.equal(endless?.responseExcerpt?.length, 512);

      // Sent once: a delivered delivery is not sent again.
      const seen = receiver.received.length;
      await sendNotification(t.server.deps, 'ndl-ntf-pinned', { attempt: 2, lastAttempt: false, retryAt: null }, lookup);
      assert.equal(receiver.received.length, seen);
    });

    test('a delivery is written in the transaction of the state change: one rolled back leaves no delivery and no job', async () => {
      const store = t.server.deps.store;
      const target = await t.client.addNotifyTarget('shop', { url: receiver.url('/tx'), allowPrivate: true, events: ['failed'] });
      const project = await store.findProjectByName('shop');
      const env = project && (await store.findEnvironment(project.id, 'production'));
      const release = env?.releaseId ? await store.findRelease(env.releaseId) : undefined;
      assert.ok(project && env && release);
      const jobsBefore = (await t.client.listJobs({ kind: 'notification.send', limit: 200 })).jobs.length;
      await assert.rejects(
        store.transaction(async (tx) => {
          await queueReleaseNotifications(tx, t.server.deps.clock, t.server.deps.urls, project, env, { ...release, state: 'failed' }, 'rolling_out');
          assert.equal((await tx.listNotifyDeliveries(project.id, { targetId: target.id, limit: 10 })).length, 1, 'written inside');
          throw new Error('the state change failed');
        }),
        /the state change failed/,
      );
      assert.deepEqual(await deliveries(target.id), []);
      assert.equal((await t.client.listJobs({ kind: 'notification.send', limit: 200 })).jobs.length, jobsBefore, 'no job either');
      assert.equal(receiver.received.filter((r) => r.path === '/tx').length, 0);
      await t.client.removeNotifyTarget('shop', target.id);
    });

    test('deliveries that ended are forgotten after a while; pending ones stay', async () => {
      const before = await deliveries();
      assert.ok(before.some((d) => d.state !== 'pending'));
      const deleted = await t.server.deps.store.deleteEndedNotifyDeliveries(new Date(Date.now() + 60_000).toISOString());
      const after = await deliveries();
      assert.equal(deleted, before.filter((d) => d.state !== 'pending').length);
      assert.deepEqual(after.map((d) => d.id), before.filter((d) => d.state === 'pending').map((d) => d.id));
    });
  });
}
