import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import type { Clock } from '../src/core/clock.ts';
import type { Delivery } from '../src/protocol/api.ts';
import { LEASE_HEADER } from '../src/protocol/builds.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { alignWithRepository } from '../src/server/git/reconcile.ts';
import { recordPush, ZERO_SHA } from '../src/server/services/pushes.ts';
import { signHex, signStandardWebhook } from '../src/server/webhooks/signatures.ts';
import { migrate } from '../src/store/migrate.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * Replayed and overtaken pushes, tried as an attacker would over real HTTP: a branch moves
 * only from the head Slipway recorded (compare-and-set on `before`), so a captured signed body
 * sent again with a new delivery id is recorded `stale` and moves nothing. Also: Standard
 * Webhooks timestamps, generic pushes of commits Slipway's repository lacks, and locks owned
 * by an actor's id rather than a token's name. This test plays the runner's part.
 */

const run = promisify(execFile);
const commit = () => randomBytes(20).toString('hex');

interface HookResponse {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<HookResponse> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-length': String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as HookResponse['body']) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

/** Every delivery of a project once none is pending, newest first. */
async function processed(client: SlipwayClient, project: string): Promise<Delivery[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { deliveries } = await client.listDeliveries(project, { limit: 500 });
    if (deliveries.every((d) => d.state !== 'pending')) return deliveries;
    if (Date.now() > deadline) throw new Error(`deliveries of ${project} still pending`);
    await sleep(20);
  }
}

function githubPush(name: string, before: string, after: string) {
  const deleted = after === ZERO_SHA;
  const head = deleted ? null : { id: after, message: `commit ${after.slice(0, 7)}`, author: { name: 'Mona Lisa', username: 'mona' } };
  return {
    ref: 'refs/heads/main',
    before,
    after,
    created: before === ZERO_SHA,
    deleted,
    forced: false,
    repository: { full_name: `acme/${name}`, clone_url: `https://github.com/acme/${name}.git`, html_url: `https://github.com/acme/${name}` },
    pusher: { name: 'mona', email: 'mona@example.com' },
    head_commit: head,
    commits: head ? [head] : [],
  };
}

function gitlabPush(name: string, before: string, after: string) {
  return {
    object_kind: 'push',
    ref: 'refs/heads/main',
    before,
    after,
    checkout_sha: after === ZERO_SHA ? null : after,
    user_name: 'John Smith',
    project: { path_with_namespace: `acme/${name}`, git_http_url: `https://gitlab.example.com/acme/${name}.git`, web_url: `https://gitlab.example.com/acme/${name}` },
    commits: after === ZERO_SHA ? [] : [{ id: after, message: 'Update', author: { name: 'Jordi' } }],
  };
}

/** A new bare repository at `path`, and git run in it (commits made with `commit-tree`, no work tree). */
async function bareRepo(path: string): Promise<(...args: string[]) => Promise<string>> {
  await run('git', ['init', '--quiet', '--bare', path]);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'a@example.com' };
  return async (...args: string[]) => (await run('git', ['--git-dir', path, ...args], { env })).stdout.trim();
}

function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

for (const backend of backends) {
  describe(`replayed and stale pushes on ${backend.name}`, () => {
    let t: TestServer;
    const clock = movableClock();

    before(async () => {
      t = await startTestServer(backend, { clock, runners: 0 });
    });
    after(() => t.dispose());

    /** The API as a runner token. */
    let runner: SlipwayClient;
    before(async () => {
      runner = t.clientWith((await t.client.createToken({ name: 'runner', role: 'runner' })).secret);
    });

    /** Plays the runner: claims the one queued build, which must be of `sha`, and succeeds it with a deployment of `body`. */
    async function buildSucceeds(project: string, sha: string, body: string): Promise<string> {
      const claimed = await runner.claimBuild({ runner: 'r1', leaseSeconds: 60 });
      assert.ok(claimed, `a build of ${sha} was queued`);
      assert.equal(claimed.build.commit, sha);
      const as = runner.withHeaders({ [LEASE_HEADER]: claimed.lease });
      const deployment = await deployFiles(as, project, { 'index.html': body });
      await as.completeBuild(claimed.build.id, { runner: 'r1', state: 'succeeded', deployment: deployment.id, report: {} });
      return deployment.id;
    }

    const nothingQueued = async () => assert.equal(await runner.claimBuild({ runner: 'r1', leaseSeconds: 60 }), undefined, 'no build was queued');

    test('a captured GitHub body resent with a new delivery id is stale and moves nothing', async () => {
      const secret = `whsec-${randomBytes(12).toString('hex')}`;
      await t.client.createProject('gh', { repo: 'https://github.com/acme/gh.git', webhookSecret: secret });
      const send = (body: string, delivery = randomUUID()) =>
        post(t.server.port, '/hooks/github', body, {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': signHex(secret, body),
        });
      const [v1, v2, v3] = [commit(), commit(), commit()];
      const bodies = [JSON.stringify(githubPush('gh', ZERO_SHA, v1)), JSON.stringify(githubPush('gh', v1, v2)), JSON.stringify(githubPush('gh', v2, v3))];
      const deployments: string[] = [];
      for (const [i, sha] of [v1, v2, v3].entries()) {
        assert.equal((await send(bodies[i] ?? '')).status, 202);
        await processed(t.client, 'gh');
        deployments.push(await buildSucceeds('gh', sha, `v${i + 1}`));
      }
      const live = await t.client.getEnvironment('gh', 'preview-main');
      assert.equal(live.deployment, deployments[2]);

      // The attack: the body that moved preview-main v1 → v2, signed by GitHub, sent again as new.
      const replay = await send(bodies[1] ?? '');
      assert.equal(replay.status, 202, JSON.stringify(replay.body));
      const [latest] = await processed(t.client, 'gh');
      assert.equal(latest?.state, 'stale');
      assert.deepEqual(latest?.builds, []);
      assert.match(latest?.error ?? '', new RegExp(`refs/heads/main is at ${v3.slice(0, 7)}, not at ${v1.slice(0, 7)}`));
      const after = await t.client.getEnvironment('gh', 'preview-main');
      assert.equal(after.deployment, deployments[2], 'preview-main stayed at v3');
      assert.equal(after.release?.number, live.release?.number, 'no release was made');
      await nothingQueued();

      // The branch's creation, replayed, is stale too; so is a delete carrying a head that is gone.
      assert.equal((await send(bodies[0] ?? '')).status, 202);
      assert.equal((await send(JSON.stringify(githubPush('gh', v2, ZERO_SHA)))).status, 202);
      const states = (await processed(t.client, 'gh')).slice(0, 2).map((d) => d.state);
      assert.deepEqual(states, ['stale', 'stale']);
      assert.equal((await t.client.getEnvironment('gh', 'preview-main')).retiredAt, null);
      const push = (await t.client.listEvents({ project: 'gh', limit: 5 })).events.find((e) => e.action === 'git.push');
      assert.match(push?.reason ?? '', /^stale: /);

      // Deleted for real, the branch keeps its last head as a tombstone: its old pushes stay stale.
      assert.equal((await send(JSON.stringify(githubPush('gh', v3, ZERO_SHA)))).status, 202);
      assert.equal((await processed(t.client, 'gh'))[0]?.state, 'done');
      assert.ok((await t.client.getEnvironment('gh', 'preview-main')).retiredAt);
      assert.equal((await send(bodies[2] ?? '')).status, 202);
      assert.equal((await processed(t.client, 'gh'))[0]?.state, 'stale');
      assert.ok((await t.client.getEnvironment('gh', 'preview-main')).retiredAt, 'a replayed push does not revive the preview');
      await nothingQueued();
    });

    test('GitLab: a signed delivery is known by its signed webhook-id, and its timestamp holds for five minutes', async () => {
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      await t.client.createProject('gl', { repo: 'https://gitlab.example.com/acme/gl.git', webhookSecret: secret });
      const signing = (body: string, id = `msg_${randomUUID()}`, at = clock.now()) => {
        const timestamp = String(Math.floor(at.getTime() / 1000));
        return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signStandardWebhook(secret, id, timestamp, body) };
      };
      const send = (body: string, headers: Record<string, string>) =>
        post(t.server.port, '/hooks/gitlab', body, {
          'content-type': 'application/json',
          'x-gitlab-event': 'Push Hook',
          'idempotency-key': randomUUID(),
          ...headers,
        });
      const [v1, v2, v3] = [commit(), commit(), commit()];
      const first = JSON.stringify(gitlabPush('gl', ZERO_SHA, v1));
      assert.equal((await send(first, signing(first))).status, 202);
      await processed(t.client, 'gl');
      await buildSucceeds('gl', v1, 'v1');
      const second = JSON.stringify(gitlabPush('gl', v1, v2));
      const captured = signing(second);
      assert.equal((await send(second, captured)).status, 202);
      await processed(t.client, 'gl');
      await buildSucceeds('gl', v2, 'v2');
      const third = JSON.stringify(gitlabPush('gl', v2, v3));
      assert.equal((await send(third, signing(third))).status, 202);
      await processed(t.client, 'gl');
      const v3Deployment = await buildSucceeds('gl', v3, 'v3');

      // Within the window, an edited Idempotency-Key does not make the captured delivery new.
      const resent = await send(second, captured);
      assert.equal(resent.status, 200, JSON.stringify(resent.body));
      assert.equal(resent.body.duplicate, true);
      // A new webhook-id breaks the signature.
      const renamed = await send(second, { ...captured, 'webhook-id': `msg_${randomUUID()}` });
      assert.equal(renamed.status, 401);
      assert.equal(renamed.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
      // Six minutes later the captured headers are refused outright, and so is a timestamp from the future.
      clock.advance(6 * 60 * 1000);
      const late = await send(second, captured);
      assert.equal(late.status, 401);
      assert.equal(late.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
      const early = await send(second, signing(second, undefined, new Date(clock.now().getTime() + 6 * 60 * 1000)));
      assert.equal(early.status, 401);
      assert.equal(early.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
      // A token-only delivery has no timestamp: resent as new, the branch's compare-and-set stops it.
      const tokenOnly = await send(second, { 'x-gitlab-token': secret });
      assert.equal(tokenOnly.status, 202);
      assert.equal((await processed(t.client, 'gl'))[0]?.state, 'stale');
      assert.equal((await t.client.getEnvironment('gl', 'preview-main')).deployment, v3Deployment);
      await nothingQueued();
    });

    test('generic: `before` is required, a commit Slipway’s repository lacks is COMMIT_NOT_FOUND, and a stale push moves nothing', async () => {
      const secret = `whsec-${randomBytes(12).toString('hex')}`;
      await t.client.createProject('own', { webhookSecret: secret });
      const send = (payload: object) => {
        const body = JSON.stringify({ delivery: randomUUID(), ...payload });
        return post(t.server.port, '/hooks/generic?project=own', body, { 'content-type': 'application/json', 'x-slipway-signature': signHex(secret, body) });
      };
      // No repository yet, then a repository without that commit: nothing is recorded either time.
      const ghost = await send({ ref: 'ghost', before: ZERO_SHA, after: commit() });
      assert.equal(ghost.status, 404, JSON.stringify(ghost.body));
      assert.equal(ghost.body.error?.code, 'COMMIT_NOT_FOUND');
      const git = await bareRepo(join(t.dataDir, 'repos', 'own.git'));
      const tree = await git('hash-object', '-w', '-t', 'tree', '/dev/null');
      const real = await git('commit-tree', tree, '-m', 'first');
      // An unknown id, and one the repository has but as a tree: neither is a commit to build.
      for (const missing of [commit(), tree]) {
        const res = await send({ ref: 'ghost', before: ZERO_SHA, after: missing });
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.equal(res.body.error?.code, 'COMMIT_NOT_FOUND');
      }
      assert.deepEqual((await t.client.listEnvironments('own')).environments, []);
      assert.deepEqual(await processed(t.client, 'own'), []);

      assert.equal((await send({ ref: 'main', before: ZERO_SHA, after: real })).status, 202);
      assert.equal((await processed(t.client, 'own'))[0]?.state, 'done');
      assert.deepEqual(
        (await t.client.listEnvironments('own')).environments.map((e) => e.name),
        ['preview-main'],
      );
      // A `before` that is not the recorded head: stale, and no second build.
      assert.equal((await send({ ref: 'main', before: commit(), after: real })).status, 202);
      const [stale] = await processed(t.client, 'own');
      assert.equal(stale?.state, 'stale');
      assert.equal((await t.client.listBuilds('own')).builds.length, 1);
    });

    test('own git: a hook a missed one left behind moves forward; a hook arriving after a later push is stale', async () => {
      await t.client.createProject('late');
      const { deps } = t.server;
      const project = await deps.store.findProjectByName('late');
      assert.ok(project);
      const repo = join(t.dataDir, 'repos', 'late.git');
      const git = await bareRepo(repo);
      const tree = await git('hash-object', '-w', '-t', 'tree', '/dev/null');
      const c1 = await git('commit-tree', tree, '-m', 'one');
      const c2 = await git('commit-tree', tree, '-p', c1, '-m', 'two');
      const c3 = await git('commit-tree', tree, '-p', c2, '-m', 'three');
      await git('update-ref', 'refs/heads/main', c3);
      await deps.store.moveBranch(project.id, 'main', ZERO_SHA, c1, new Date().toISOString());
      const pusher = { id: 'tok-pat', name: 'pat', role: 'deployer' as const, trigger: 'user' as const };
      const hook = async (before: string, after: string) => {
        const updates = await alignWithRepository(deps, project.id, repo, [{ ref: 'refs/heads/main', before, after }]);
        return { updates, result: await recordPush(deps, pusher, 'late', { updates, trigger: 'git-push', sourceUrl: null }) };
      };
      // The hook of c1 → c2 never arrived; that of c2 → c3 does, and the repository is at c3.
      const forward = await hook(c2, c3);
      assert.equal(forward.updates[0]?.before, c1, 'it moves from the recorded head');
      assert.deepEqual(forward.result.stale, []);
      assert.equal((await deps.store.findBranch(project.id, 'main'))?.head, c3);
      // The lost hook turns up late: the repository moved past c2, so it moves nothing back.
      const late = await hook(c1, c2);
      assert.equal(late.result.stale.length, 1);
      assert.deepEqual(late.result.builds, []);
      assert.equal((await deps.store.findBranch(project.id, 'main'))?.head, c3);
    });

    test('a lock belongs to the token that took it, not to its name', async () => {
      await t.client.createProject('locks');
      const impostor = t.clientWith((await t.client.createToken({ name: 'admin', role: 'deployer' })).secret);
      await t.client.lock('locks', 'production', { reason: 'release freeze' });
      await rejectsWithCode(impostor.unlock('locks', 'production', {}), 'ENVIRONMENT_LOCKED');
      await rejectsWithCode(impostor.unlock('locks', 'production', { force: true, reason: 'it is mine' }), 'FORBIDDEN');
      const held = (await t.client.getEnvironment('locks', 'production')).lock;
      assert.equal(held?.by, 'admin');
      assert.equal(held?.byId, (await t.client.whoami()).actor.id, 'the lock names the token that holds it');
      await t.client.unlock('locks', 'production', {});

      // Two deployers with the same name: only the one that locked unlocks without break-glass.
      const dan = t.clientWith((await t.client.createToken({ name: 'dan', role: 'deployer' })).secret);
      const otherDan = t.clientWith((await t.client.createToken({ name: 'dan', role: 'deployer' })).secret);
      await dan.lock('locks', 'staging', { reason: 'demo' });
      await rejectsWithCode(otherDan.unlock('locks', 'staging', {}), 'ENVIRONMENT_LOCKED');
      await dan.unlock('locks', 'staging', {});
      // An admin may still break the glass, with a reason, and it is recorded.
      await dan.lock('locks', 'staging', { reason: 'demo' });
      await t.client.unlock('locks', 'staging', { force: true, reason: 'dan went home' });
      const events = (await t.client.listEvents({ project: 'locks', environment: 'staging', limit: 5 })).events;
      assert.ok(events.some((e) => e.action === 'lock.break_glass'));
    });

    test('the store moves a branch only from the head it names; a deleted branch keeps a tombstone', async () => {
      const { store } = t.server.deps;
      await t.client.createProject('cas');
      const project = await store.findProjectByName('cas');
      assert.ok(project);
      const [a, b, c] = [commit(), commit(), commit()];
      const at = new Date().toISOString();
      const move = (before: string, after: string) => store.moveBranch(project.id, 'main', before, after, at);
      assert.equal(await move(ZERO_SHA, a), true, 'created');
      assert.equal(await move(ZERO_SHA, b), false, 'a second creation is stale');
      assert.equal(await move(a, b), true);
      assert.equal(await move(a, c), false, 'a replay of a → c after a → b');
      assert.equal((await store.findBranch(project.id, 'main'))?.head, b);
      assert.equal(await move(b, ZERO_SHA), true, 'deleted');
      assert.equal(await store.findBranch(project.id, 'main'), undefined);
      assert.deepEqual(await store.listBranches(project.id), []);
      assert.equal(await store.findBranchHead(project.id, 'main'), ZERO_SHA);
      assert.equal(await move(a, b), false, 'an old push of a deleted branch');
      assert.equal(await move(ZERO_SHA, c), true, 'created again');
      // A branch never seen takes the first push of it, whatever its before (a webhook added late).
      assert.equal(await store.moveBranch(project.id, 'old', a, b, at), true);
      assert.equal(await store.moveBranch(project.id, 'old', a, c, at), false);
    });
  });
}

for (const backend of backends) {
  describe(`migration 005 on ${backend.name}`, () => {
    test('deliveries keep their rows, seq and indexes and may be stale; old locks get the id of the one token of that name', async () => {
      const db = await backend.create();
      const dir = await mkdtemp(join(tmpdir(), 'slipway-m005-'));
      const conn = db.url.startsWith('postgres') ? (await import('../src/store/postgres/connect.ts')).connect(db.url) : (await import('../src/store/sqlite/connect.ts')).connect(db.url);
      try {
        // The schema as it was before 005, with rows in it.
        const before005 = join(dir, 'migrations');
        await mkdir(before005);
        for (const file of await readdir(conn.migrationsDir)) {
          if (/^\d{3}_/.test(file) && Number(file.slice(0, 3)) < 5) await copyFile(join(conn.migrationsDir, file), join(before005, file));
        }
        await migrate({ ...conn, migrationsDir: before005 });
        const at = new Date().toISOString();
        for (const statement of [
          `INSERT INTO projects (id, name, created_at, created_by) VALUES ('prj-1', 'p', '${at}', 'admin')`,
          `INSERT INTO tokens (id, name, role, hash, created_at, created_by) VALUES ('tok-a', 'alice', 'deployer', 'h1', '${at}', 'admin')`,
          `INSERT INTO tokens (id, name, role, hash, created_at, created_by) VALUES ('tok-b1', 'bob', 'deployer', 'h2', '${at}', 'admin')`,
          `INSERT INTO tokens (id, name, role, hash, created_at, created_by) VALUES ('tok-b2', 'bob', 'deployer', 'h3', '${at}', 'admin')`,
          `INSERT INTO environments (id, project_id, name, locked_by, locked_at, locked_reason, created_at) VALUES ('env-a', 'prj-1', 'a', 'alice', '${at}', 'x', '${at}')`,
          `INSERT INTO environments (id, project_id, name, locked_by, locked_at, locked_reason, created_at) VALUES ('env-b', 'prj-1', 'b', 'bob', '${at}', 'x', '${at}')`,
          `INSERT INTO webhook_deliveries (provider, project_id, delivery_id, push, state, received_at, builds) VALUES ('github', 'prj-1', 'd1', NULL, 'done', '${at}', '["bld-1"]')`,
          `INSERT INTO webhook_deliveries (provider, project_id, delivery_id, push, state, received_at) VALUES ('github', 'prj-1', 'd2', '{}', 'pending', '${at}')`,
        ]) {
          await sql.raw(statement).execute(conn.db);
        }
        await migrate(conn);
        const rows = await sql<{ seq: number; delivery_id: string; state: string; builds: string }>`SELECT seq, delivery_id, state, builds FROM webhook_deliveries ORDER BY seq`.execute(conn.db);
        assert.deepEqual(
          rows.rows.map((r) => [Number(r.seq), r.delivery_id, r.state, r.builds]),
          [
            [1, 'd1', 'done', '["bld-1"]'],
            [2, 'd2', 'pending', '[]'],
          ],
        );
        await sql`UPDATE webhook_deliveries SET state = 'stale' WHERE delivery_id = 'd1'`.execute(conn.db);
        await assert.rejects(sql`UPDATE webhook_deliveries SET state = 'bogus' WHERE delivery_id = 'd1'`.execute(conn.db));
        await sql.raw(`INSERT INTO webhook_deliveries (provider, project_id, delivery_id, push, state, received_at) VALUES ('github', 'prj-1', 'd3', '{}', 'pending', '${at}')`).execute(conn.db);
        const seq = await sql<{ seq: number }>`SELECT seq FROM webhook_deliveries WHERE delivery_id = 'd3'`.execute(conn.db);
        assert.equal(Number(seq.rows[0]?.seq), 3);
        await assert.rejects(
          sql.raw(`INSERT INTO webhook_deliveries (provider, project_id, delivery_id, push, state, received_at) VALUES ('github', 'prj-1', 'd3', '{}', 'pending', '${at}')`).execute(conn.db),
          'the idempotency key is still unique',
        );
        if (backend.name === 'sqlite') {
          const indexes = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries' AND sql IS NOT NULL ORDER BY name`.execute(conn.db);
          // 008 adds the per-project index of pending deliveries the delivery jobs read.
          assert.deepEqual(indexes.rows.map((r) => r.name), ['webhook_deliveries_pending', 'webhook_deliveries_pending_project', 'webhook_deliveries_project']);
        }
        const locks = await sql<{ id: string; locked_by_id: string | null }>`SELECT id, locked_by_id FROM environments ORDER BY id`.execute(conn.db);
        assert.deepEqual(locks.rows.map((r) => [r.id, r.locked_by_id]), [
          ['env-a', 'tok-a'],
          ['env-b', null],
        ]);
      } finally {
        await conn.close();
        await db.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
