import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import type { Job } from '../src/protocol/api.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import type { JobRow } from '../src/store/store.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

// Dead jobs as an admin sees them: listed with their error over the API and the CLI, and queued
// again by `retry`. A job dies here the way a corrupt row makes one die: a payload its kind
// cannot run fails its first attempt for good.

for (const backend of backends) {
  describe(`dead jobs over the API and the CLI on ${backend.name}`, () => {
    let t: TestServer;
    let deployer: SlipwayClient;
    let dead: JobRow;
    let done: JobRow;

    /** Queues a job as the store holds it, bypassing enqueue's types, and waits for the server's worker to end it. */
    async function ended(kind: string, payload: unknown, state: 'dead' | 'done'): Promise<JobRow> {
      const now = new Date().toISOString();
      const queued = await t.server.deps.store.enqueueJob({ kind, key: null, payload, runAt: now, maxAttempts: 3, createdAt: now });
      return eventually(`job ${queued.id} to be ${state}`, async () => {
        const row = await t.server.deps.store.findJob(queued.id);
        return row?.state === state ? row : undefined;
      }, 10_000);
    }

    const cli = async (...args: string[]) => {
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN, HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' });
      const code = await run(args, ctx);
      return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
    };

    before(async () => {
      t = await startTestServer(backend);
      deployer = t.clientWith((await t.client.createToken({ name: 'dev', role: 'deployer' })).secret);
      dead = await ended('project.purge', { projectId: 42 }, 'dead');
      // A purge of a project that does not exist has nothing to do: it ends done.
      done = await ended('project.purge', { projectId: 'prj-none' }, 'done');
    });
    after(() => t.dispose());

    test('GET /api/v1/jobs?state=dead lists dead jobs with the error of their last attempt (admin only)', async () => {
      const { jobs } = await t.client.listJobs({ state: 'dead' });
      const [listed, ...others] = jobs;
      assert.deepEqual(others, [], 'only the dead one');
      assert.equal(listed?.id, dead.id);
      assert.equal(listed.kind, 'project.purge');
      assert.equal(listed.state, 'dead');
      assert.equal(listed.attempts, 1);
      assert.match(listed.lastError ?? '', /^INVALID_REQUEST: the payload of this project\.purge job is not one it can run/);
      assert.deepEqual(listed.payload, { projectId: 42 });

      const all = (await t.client.listJobs({ limit: 500 })).jobs;
      assert.ok(all.some((j: Job) => j.id === done.id && j.state === 'done'));
      assert.ok(all.some((j) => j.kind === 'builds.reap'), 'the recurring jobs are there too');
      assert.deepEqual((await t.client.listJobs({ kind: 'builds.reap' })).jobs.map((j) => j.key), ['builds.reap']);

      await rejectsWithCode(deployer.listJobs({ state: 'dead' }), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.listJobs({ state: 'buried' as 'dead' }), 'INVALID_REQUEST', 400);
    });

    test('POST /api/v1/jobs/:id/retry queues a dead job again (audited); anything else is refused with a code', async () => {
      await rejectsWithCode(deployer.retryJob(dead.id), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.retryJob(987_654), 'JOB_NOT_FOUND', 404);
      await rejectsWithCode(t.client.retryJob('1 OR 1=1'), 'JOB_NOT_FOUND', 404);
      await rejectsWithCode(t.client.retryJob('-1'), 'JOB_NOT_FOUND', 404);
      await rejectsWithCode(t.client.retryJob(done.id), 'JOB_NOT_DEAD', 409);

      const retried = await t.client.retryJob(dead.id);
      assert.equal(retried.id, dead.id);
      assert.equal(retried.state, 'queued');
      assert.equal(retried.attempts, 0);
      const events = (await t.client.listEvents({ limit: 20 })).events;
      const event = events.find((e) => e.action === 'job.retry');
      assert.ok(event, 'job.retry is audited');
      assert.equal(event.actor, 'admin');
      assert.equal(event.target, `project.purge #${dead.id}`);

      // Its payload is as bad as before: it runs once more and dies again.
      const again = await eventually('the retried job to die again', async () => {
        const row = await t.server.deps.store.findJob(dead.id);
        return row?.state === 'dead' ? row : undefined;
      }, 10_000);
      assert.equal(again.attempts, 1);
    });

    test('slipway jobs --state dead shows them; slipway jobs retry queues one; unknown and live ones exit with their codes', async () => {
      const listed = await cli('jobs', '--state', 'dead');
      assert.equal(listed.code, 0, listed.stderr);
      const row = listed.stdout.split('\n').find((line) => line.startsWith(`${dead.id} `));
      assert.ok(row, listed.stdout);
      assert.match(row, /project\.purge\s+-\s+dead\s+1\/3\s+.*INVALID_REQUEST: the payload/);
      assert.match(listed.stdout, /slipway jobs retry <id>/);

      const json = await cli('jobs', '--state', 'dead', '--json');
      assert.equal(json.code, 0);
      assert.deepEqual((JSON.parse(json.stdout) as { jobs: Job[] }).jobs.map((j) => j.id), [dead.id]);

      const none = await cli('jobs', '--state', 'running', '--kind', 'webhook.deliver');
      assert.equal(none.code, 0);
      assert.match(none.stdout, /No running jobs\./);

      const bogus = await cli('jobs', '--state', 'buried');
      assert.equal(bogus.code, 2);
      assert.match(bogus.stderr, /buried/);

      const retried = await cli('jobs', 'retry', String(dead.id));
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, new RegExp(`Job ${dead.id} \\(project\\.purge\\) is queued again: 3 attempts`));

      const missing = await cli('jobs', 'retry', '987654');
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /\(JOB_NOT_FOUND\)/);
      const live = await cli('jobs', 'retry', String(done.id));
      assert.equal(live.code, 4);
      assert.match(live.stderr, /is done: only a dead job can be retried \(JOB_NOT_DEAD\)/);
    });
  });
}
