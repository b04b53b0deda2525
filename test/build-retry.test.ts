import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import { ApiError } from '../src/protocol/client.ts';
import { newId } from '../src/server/services/ids.ts';
import type { BuildRow, BuildState } from '../src/store/store.ts';
import { backends } from './support/backends.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * `slipway builds retry <build>` / `POST /api/v1/builds/:id/retry`: a failed or canceled
 * build's commit is built again as a new build — once per build, audited — the one exception
 * to "one build per commit".
 */

async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return true;
  });
}

for (const backend of backends) {
  describe(`builds retry on ${backend.name}`, () => {
    let t: TestServer;
    let projectId: string;
    let commits = 0;

    /** A build of a new commit, driven by the store into `state`. */
    async function buildIn(state: BuildState): Promise<BuildRow> {
      const { store } = t.server.deps;
      const commit = (++commits).toString(16).padStart(40, '0');
      const now = new Date().toISOString();
      const { build } = await store.insertBuildOnce({
        id: newId('bld'),
        projectId,
        commitSha: commit,
        ref: 'refs/heads/main',
        branch: 'main',
        state: 'queued',
        sourceUrl: null,
        trigger: 'git-push',
        createdAt: now,
        createdBy: 'test',
        startedAt: null,
        finishedAt: null,
        attempt: 0,
        runner: null,
        leaseExpiresAt: null,
        cancelRequestedAt: null,
        deploymentId: null,
        error: null,
        author: 'Ada',
        message: 'first try',
      });
      if (state === 'queued') return build;
      if (state === 'canceled') {
        await store.requestBuildCancel(build.id, now);
        return (await store.findBuild(build.id)) as BuildRow;
      }
      await finishAs(build.id, state);
      return (await store.findBuild(build.id)) as BuildRow;
    }

    /** Claims the oldest queued build (which must be `id`) and ends it in `state` (running = leave it so). */
    async function finishAs(id: string, state: BuildState): Promise<void> {
      const { store } = t.server.deps;
      const now = new Date().toISOString();
      const claimed = await store.claimBuild('test-runner', now, new Date(Date.now() + 60_000).toISOString(), 'test-lease');
      assert.equal(claimed?.id, id, 'the build claimed is the one expected');
      if (state === 'running') return;
      assert.ok(await store.finishBuild(id, 'test-lease', { state, finishedAt: now, error: state === 'failed' ? 'exit 1' : null, deploymentId: null }));
    }

    before(async () => {
      t = await startTestServer(backend);
      projectId = (await t.client.createProject('shop')).id;
    });

    after(async () => {
      await t.dispose();
    });

    test('a failed build is built again as a new queued build of the same commit, audited', async () => {
      const failed = await buildIn('failed');
      const retry = await t.client.retryBuild(failed.id);
      assert.notEqual(retry.id, failed.id);
      assert.equal(retry.state, 'queued');
      assert.equal(retry.commit, failed.commitSha);
      assert.equal(retry.ref, failed.ref);
      assert.equal(retry.branch, 'main');
      assert.equal(retry.project, 'shop');
      assert.equal(retry.trigger, 'retry');
      assert.equal(retry.createdBy, 'admin');
      assert.equal(retry.retryNumber, 1);
      assert.equal(retry.retryOf, failed.id);
      // The original is untouched.
      assert.equal((await t.client.getBuild('shop', failed.id)).state, 'failed');
      const event = (await t.client.listEvents({ project: 'shop', limit: 5 })).events.find((e) => e.action === 'build.retry');
      assert.ok(event, 'build.retry is audited');
      assert.equal(event.target, retry.id);
      assert.deepEqual((event.before as { build: string }).build, failed.id);
      // A runner gets it like any queued build.
      await finishAs(retry.id, 'failed');
      // The newest build of the commit is the retry: a push of the same commit reuses it.
      const again = await t.server.deps.store.insertBuildOnce({ ...failed, id: newId('bld'), state: 'queued', retryNumber: 0, retryOf: null });
      assert.equal(again.created, false);
      assert.equal(again.build.id, retry.id);
      // A retry of the retry is the next number.
      const third = await t.client.retryBuild(retry.id);
      assert.equal(third.retryNumber, 2);
      assert.equal(third.retryOf, retry.id);
      await finishAs(third.id, 'canceled');
    });

    test('a canceled build can be retried too', async () => {
      const canceled = await buildIn('canceled');
      assert.equal(canceled.state, 'canceled');
      const retry = await t.client.retryBuild(canceled.id);
      assert.equal(retry.retryOf, canceled.id);
      await finishAs(retry.id, 'failed');
    });

    test('queued, running and succeeded builds are not retryable (409), and nothing is queued', async () => {
      const queued = await buildIn('queued');
      await rejectsWith(t.client.retryBuild(queued.id), 'BUILD_NOT_RETRYABLE', 409);
      await finishAs(queued.id, 'running');
      await rejectsWith(t.client.retryBuild(queued.id), 'BUILD_NOT_RETRYABLE', 409);
      assert.ok(await t.server.deps.store.finishBuild(queued.id, 'test-lease', { state: 'succeeded', finishedAt: new Date().toISOString(), error: null, deploymentId: null }));
      await rejectsWith(t.client.retryBuild(queued.id), 'BUILD_NOT_RETRYABLE', 409);
      assert.equal(await t.server.deps.store.findBuildRetry(queued.id), undefined);
      assert.equal(await t.server.deps.store.claimBuild('test-runner', new Date().toISOString(), new Date().toISOString(), 'test-lease'), undefined, 'nothing was queued');
    });

    test('a build is retried once: a second retry, or many at the same time, get BUILD_ALREADY_RETRIED', async () => {
      const failed = await buildIn('failed');
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => t.client.retryBuild(failed.id)));
      const made = results.filter((r) => r.status === 'fulfilled');
      assert.equal(made.length, 1, 'exactly one retry is made');
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.ok(r.reason instanceof ApiError);
          assert.equal(r.reason.code, 'BUILD_ALREADY_RETRIED');
          assert.equal(r.reason.status, 409);
        }
      }
      await rejectsWith(t.client.retryBuild(failed.id), 'BUILD_ALREADY_RETRIED', 409);
      const retries = (await t.client.listBuilds('shop', { limit: 100 })).builds.filter((b) => b.retryOf === failed.id);
      assert.equal(retries.length, 1);
      const retryId = made[0]?.status === 'fulfilled' ? made[0].value.id : '';
      await finishAs(retryId, 'failed');
    });

    test('a viewer may not retry; unknown or hostile ids are 404', async () => {
      const failed = await buildIn('failed');
      const viewer = t.clientWith((await t.client.createToken({ name: 'watcher', role: 'viewer' })).secret);
      await rejectsWith(viewer.retryBuild(failed.id), 'FORBIDDEN', 403);
      await rejectsWith(t.client.retryBuild('bld-none'), 'BUILD_NOT_FOUND', 404);
      await rejectsWith(t.client.retryBuild("bld-x' OR '1'='1"), 'BUILD_NOT_FOUND', 404);
      await rejectsWith(t.client.retryBuild('../../projects'), 'BUILD_NOT_FOUND', 404);
      assert.equal(await t.server.deps.store.findBuildRetry(failed.id), undefined);
    });

    test("under the project's route, the role on the project decides, and another project's build is not found", async () => {
      const failed = await buildIn('failed');
      await t.client.createProject('other');
      // A global viewer made deployer on shop by a membership; a token scoped to other.
      await t.client.createUser({ name: 'mel', emails: ['mel@example.com'], role: 'viewer' });
      await t.client.setMember('shop', 'mel', { role: 'deployer' });
      const mel = t.clientWith((await t.client.createToken({ name: 'mel-token', user: 'mel' })).secret);
      const scopedOther = t.clientWith((await t.client.createToken({ name: 'other-only', role: 'admin', project: 'other' })).secret);
      await rejectsWith(mel.retryBuild(failed.id), 'FORBIDDEN', 403);
      await rejectsWith(t.client.retryBuild(failed.id, 'other'), 'BUILD_NOT_FOUND', 404);
      await rejectsWith(scopedOther.retryBuild(failed.id, 'other'), 'BUILD_NOT_FOUND', 404);
      await rejectsWith(scopedOther.retryBuild(failed.id, 'shop'), 'PROJECT_NOT_FOUND', 404);
      assert.equal(await t.server.deps.store.findBuildRetry(failed.id), undefined, 'nothing was queued by the refusals');
      const retry = await mel.retryBuild(failed.id, 'shop');
      assert.equal(retry.retryOf, failed.id);
      assert.equal(retry.project, 'shop');
      await finishAs(retry.id, 'failed');
    });

    test('slipway builds retry prints the new build; retrying it again exits 4 with BUILD_ALREADY_RETRIED', async () => {
      const failed = await buildIn('failed');
      const env = { SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN, HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' };
      const ctx = createMemoryContext(env);
      assert.equal(await run(['builds', 'retry', failed.id], ctx), 0, ctx.stderr());
      const newId_ = ctx.stdout().trim().split('\n').at(-1) ?? '';
      assert.match(newId_, /^bld-/);
      assert.equal((await t.client.getBuild('shop', newId_)).retryOf, failed.id);
      const again = createMemoryContext(env);
      assert.equal(await run(['builds', 'retry', failed.id], again), 4);
      assert.match(again.stderr(), /\(BUILD_ALREADY_RETRIED\)/);
      const json = createMemoryContext(env);
      assert.equal(await run(['builds', 'retry', newId_, '--json'], json), 4, 'a queued build is not retryable');
      assert.match(json.stderr(), /BUILD_NOT_RETRYABLE/);
      await finishAs(newId_, 'failed');
    });

    test("a deleted project's builds cannot be retried", async () => {
      const failed = await buildIn('failed');
      await t.client.createProject('gone');
      await t.server.deps.store.markProjectDeleted(projectId, new Date().toISOString());
      await rejectsWith(t.client.retryBuild(failed.id), 'BUILD_NOT_FOUND', 404);
    });
  });
}
