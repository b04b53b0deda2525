import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../src/core/clock.ts';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import { LEASE_HEADER, type Build, type ClaimedBuild } from '../src/protocol/builds.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { startRunner } from '../src/runner/runner.ts';
import { recordPush, ZERO_SHA, type RefUpdate } from '../src/server/services/pushes.ts';
import { rejectsWithCode } from './support/assert.ts';
import { eventually } from './support/eventually.ts';
import { backends } from './support/backends.ts';
import { deployFiles, edgeGet, hostOf, sha256, startTestServer, type TestServer } from './support/server.ts';
import { git } from './support/git-repo.ts';

/**
 * Runner identity: only runner tokens drive builds, and only with the lease of the claim. Each
 * forgery here worked before leases: a deployer posting log lines into someone else's running
 * build and completing it with a deployment of its own.
 */

const sha = (n: number) => n.toString(16).padStart(40, 'b');
const pusher = { name: 'pat', role: 'deployer' as const, trigger: 'user' as const };
const now = () => new Date().toISOString();

class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

for (const backend of backends) {
  describe(`runner leases on ${backend.name}`, () => {
    let t: TestServer;
    let runnerA: SlipwayClient;
    let runnerB: SlipwayClient;
    let deployer: SlipwayClient;
    const clock = new TestClock();

    before(async () => {
      t = await startTestServer(backend, { clock });
      await t.client.createProject('shop');
      await t.client.createProject('other');
      runnerA = t.clientWith((await t.client.createToken({ name: 'runner-a', role: 'runner' })).secret);
      runnerB = t.clientWith((await t.client.createToken({ name: 'runner-b', role: 'runner' })).secret);
      deployer = t.clientWith((await t.client.createToken({ name: 'mallory', role: 'deployer' })).secret);
    });
    after(() => t.dispose());

    const branch = (name: string, after: string): RefUpdate => ({ ref: `refs/heads/${name}`, before: ZERO_SHA, after });
    const push = async (project: string, ...updates: RefUpdate[]) =>
      (await recordPush(t.server.deps, pusher, project, { updates, trigger: 'git-push', sourceUrl: null })).builds;
    const holding = (client: SlipwayClient, lease: string) => client.withHeaders({ [LEASE_HEADER]: lease });

    async function claim(client: SlipwayClient, leaseSeconds = 60): Promise<ClaimedBuild & { as: SlipwayClient }> {
      const claimed = await client.claimBuild({ runner: 'r', leaseSeconds });
      assert.ok(claimed, 'a build was queued');
      return { ...claimed, as: holding(client, claimed.lease) };
    }
    const state = async (build: Build) => (await t.client.getBuild(build.project, build.id)).state;

    test('a claim hands out a lease of 32 random bytes; the store keeps only its sha256', async () => {
      await push('shop', branch('lease-shape', sha(1)));
      const claimed = await claim(runnerA);
      assert.equal(Buffer.from(claimed.lease, 'base64url').length, 32);
      const row = await t.server.deps.store.findBuildByLease(sha256(claimed.lease));
      assert.equal(row?.id, claimed.build.id);
      assert.equal(await t.server.deps.store.findBuildByLease(claimed.lease), undefined, 'the token itself is not stored');
      await claimed.as.completeBuild(claimed.build.id, { runner: 'r', state: 'failed', error: 'test', report: {} });
    });

    test('a deployer token forges nothing: claim, heartbeat, logs and completion are FORBIDDEN, even with the lease', async () => {
      await push('shop', branch('forged', sha(2)));
      const victim = await claim(runnerA);
      const id = victim.build.id;
      const mallory = holding(deployer, victim.lease);
      await rejectsWithCode(deployer.claimBuild({ runner: 'm', leaseSeconds: 60 }), 'FORBIDDEN', 403);
      await rejectsWithCode(mallory.heartbeat(id, { runner: 'r', leaseSeconds: 60 }), 'FORBIDDEN', 403);
      await rejectsWithCode(mallory.appendBuildLogs(id, { runner: 'r', lines: [{ at: now(), stream: 'stdout', text: 'forged line' }] }), 'FORBIDDEN', 403);
      const own = await deployFiles(deployer, 'shop', { 'index.html': 'mallory was here' });
      await rejectsWithCode(mallory.completeBuild(id, { runner: 'r', state: 'succeeded', deployment: own.id, report: {} }), 'FORBIDDEN', 403);
      // Admins do not drive builds either.
      await rejectsWithCode(holding(t.client, victim.lease).appendBuildLogs(id, { runner: 'r', lines: [] }), 'FORBIDDEN', 403);
      assert.equal(await state(victim.build), 'running');
      assert.deepEqual((await t.client.getBuildLogs('shop', id)).lines, []);
      await victim.as.completeBuild(id, { runner: 'r', state: 'failed', error: 'test', report: {} });
    });

    test('another runner, a missing lease and a made-up lease are LEASE_LOST', async () => {
      await push('shop', branch('one', sha(3)), branch('two', sha(4)));
      const a = await claim(runnerA);
      const b = await claim(runnerB);
      const id = a.build.id;
      const line = { runner: 'r', lines: [{ at: now(), stream: 'stdout' as const, text: 'not mine' }] };
      for (const [, client] of [
        ['runner B with its own lease', b.as],
        ['runner A without a lease', runnerA],
        ['runner A with a made-up lease', holding(runnerA, 'x'.repeat(43))],
        ['runner A with an absurd lease', holding(runnerA, 'x'.repeat(5000))],
      ] as const) {
        await rejectsWithCode(client.heartbeat(id, { runner: 'r', leaseSeconds: 60 }), 'LEASE_LOST', 409);
        await rejectsWithCode(client.appendBuildLogs(id, line), 'LEASE_LOST', 409);
        await rejectsWithCode(client.completeBuild(id, { runner: 'r', state: 'failed', error: 'not mine', report: {} }), 'LEASE_LOST', 409);
      }
      assert.equal(await state(a.build), 'running');
      assert.deepEqual((await t.client.getBuildLogs('shop', id)).lines, []);
      await a.as.completeBuild(id, { runner: 'r', state: 'failed', error: 'test', report: {} });
      await b.as.completeBuild(b.build.id, { runner: 'r', state: 'failed', error: 'test', report: {} });
      // A finished build's lease is dead.
      await rejectsWithCode(a.as.heartbeat(id, { runner: 'r', leaseSeconds: 60 }), 'LEASE_LOST', 409);
    });

    test('a re-claim after the lease ran out issues a new lease and the old one stops working', async () => {
      await push('shop', branch('slow', sha(5)));
      const first = await claim(runnerA, 5);
      clock.offsetMs += 10_000;
      await rejectsWithCode(first.as.heartbeat(first.build.id, { runner: 'r', leaseSeconds: 5 }), 'LEASE_LOST', 409);
      const second = await claim(runnerB);
      assert.equal(second.build.id, first.build.id);
      assert.equal(second.build.attempt, 2);
      assert.notEqual(second.lease, first.lease);
      const id = first.build.id;
      await rejectsWithCode(first.as.appendBuildLogs(id, { runner: 'r', lines: [{ at: now(), stream: 'stdout', text: 'late' }] }), 'LEASE_LOST', 409);
      await rejectsWithCode(first.as.completeBuild(id, { runner: 'r', state: 'failed', error: 'late', report: {} }), 'LEASE_LOST', 409);
      await rejectsWithCode(first.as.createUpload('shop', { files: [{ path: 'a', sha256: sha256('a'), size: 1, mode: 0o644 }] }), 'LEASE_LOST', 409);
      assert.deepEqual(await second.as.heartbeat(id, { runner: 'r', leaseSeconds: 60 }), { cancel: false });
      const done = await second.as.completeBuild(id, { runner: 'r', state: 'failed', error: 'test', report: {} });
      assert.equal(done.state, 'failed');
    });

    test('a build completes only with a deployment uploaded under its own lease (DEPLOYMENT_NOT_OF_BUILD)', async () => {
      await push('shop', branch('mine', sha(6)), branch('theirs', sha(7)));
      const a = await claim(runnerA);
      const b = await claim(runnerB);
      const byDeployer = await deployFiles(deployer, 'shop', { 'index.html': 'unrelated' });
      const byOtherBuild = await deployFiles(b.as, 'shop', { 'index.html': 'the other build' });
      assert.equal(byOtherBuild.meta.build, b.build.id, 'an upload under a lease is that build’s');
      for (const deployment of [byDeployer, byOtherBuild]) {
        await rejectsWithCode(a.as.completeBuild(a.build.id, { runner: 'r', state: 'succeeded', deployment: deployment.id, report: {} }), 'DEPLOYMENT_NOT_OF_BUILD', 409);
      }
      assert.equal(await state(a.build), 'running');
      const own = await deployFiles(a.as, 'shop', { 'index.html': 'built by a' });
      const done = await a.as.completeBuild(a.build.id, { runner: 'r', state: 'succeeded', deployment: own.id, report: {} });
      assert.equal(done.deployment, own.id);
      assert.equal((await edgeGet(t.server.port, hostOf(done.deploymentUrl ?? ''))).body, 'built by a');
      await b.as.completeBuild(b.build.id, { runner: 'r', state: 'succeeded', deployment: byOtherBuild.id, report: {} });
    });

    test('only a runner holding the lease names a build in an upload; a runner uploads only for its build', async () => {
      await push('shop', branch('uploads', sha(8)));
      const a = await claim(runnerA);
      const files = [{ path: 'index.html', sha256: sha256('x'), size: 1, mode: 0o644 }];
      await rejectsWithCode(deployer.createUpload('shop', { files, meta: { build: a.build.id } }), 'FORBIDDEN', 403);
      await rejectsWithCode(a.as.createUpload('other', { files }), 'FORBIDDEN', 403);
      await rejectsWithCode(a.as.createUpload('shop', { files, meta: { build: 'bld-someone-else' } }), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.putBlob(sha256('x'), Buffer.from('x')), 'LEASE_LOST', 409);
      const byDeployer = await deployer.createUpload('shop', { files });
      await deployer.putBlob(sha256('x'), Buffer.from('x'));
      await rejectsWithCode(a.as.finalizeUpload('shop', byDeployer.id), 'FORBIDDEN', 403);
      const mine = await a.as.createUpload('shop', { files });
      await a.as.putBlob(sha256('x'), Buffer.from('x'));
      assert.equal((await a.as.finalizeUpload('shop', mine.id)).meta.build, a.build.id);
      await a.as.completeBuild(a.build.id, { runner: 'r', state: 'failed', error: 'test', report: {} });
    });

    test('a runner token may do nothing else: no projects, logs, tokens, releases or pushes', async () => {
      await rejectsWithCode(runnerA.listProjects(), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.createProject('evil'), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.listBuilds('shop'), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.listTokens(), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.createToken({ name: 'x', role: 'admin' }), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.listEvents(), 'FORBIDDEN', 403);
      await rejectsWithCode(runnerA.addDomain('shop', { hostname: 'evil.example.com', environment: 'production' }), 'FORBIDDEN', 403);
      assert.equal((await runnerA.whoami()).actor.role, 'runner');
    });

    test('slipway tokens create --role runner makes a runner token', async () => {
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: 'slw_test_admin_token', XDG_CONFIG_HOME: t.dataDir });
      assert.equal(await run(['tokens', 'create', '--name', 'ci-runner', '--role', 'runner', '--json'], ctx), 0, ctx.stderr());
      const created = JSON.parse(ctx.stdout()) as { token: { role: string }; secret: string };
      assert.equal(created.token.role, 'runner');
      assert.equal((await t.clientWith(created.secret).whoami()).actor.role, 'runner');
    });
  });
}

const sqlite = backends.find((b) => b.name === 'sqlite');
if (!sqlite) throw new Error('no sqlite backend');
// A push answers at once instead of following its build (read when the server starts).
process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';

describe('the real runner with leases', () => {
  let t: TestServer;
  let base: string;
  let deployerToken: string;
  let runnerToken: string;
  const clock = new TestClock();

  before(async () => {
    t = await startTestServer(sqlite, { clock });
    base = await mkdtemp(join(tmpdir(), 'slipway-leases-'));
    deployerToken = (await t.client.createToken({ name: 'dev', role: 'deployer' })).secret;
    runnerToken = (await t.client.createToken({ name: 'builder', role: 'runner' })).secret;
  });
  after(async () => {
    await t.dispose();
    await rm(base, { recursive: true, force: true });
  });

  async function pushOwn(project: string, files: Record<string, string>): Promise<string> {
    await t.client.createProject(project);
    const dir = join(base, project);
    await mkdir(dir);
    await git(dir, ['init', '-q', '-b', 'main']);
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '-m', 'first']);
    await git(dir, ['push', '-q', `http://x:${deployerToken}@127.0.0.1:${t.server.port}/git/${project}.git`, 'main']);
    return git(dir, ['rev-parse', 'HEAD']);
  }

  const buildOf = (project: string, commit: string) =>
    eventually(`a build of ${commit}`, async () => (await t.client.listBuilds(project)).builds.find((b) => b.commit === commit));

  test('slipway runner fetches Slipway’s own git with its lease, uploads under it and completes the build', async () => {
    const commit = await pushOwn('happy', {
      'slipway.yaml': 'build:\n  command: mkdir -p out && cp page.html out/index.html\n  output: out\n',
      'page.html': '<h1>leased</h1>',
    });
    let shutdown: (signal: string) => void = () => undefined;
    const stopped = new Promise<string>((resolve) => (shutdown = resolve));
    const ctx = {
      ...createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: runnerToken, XDG_CONFIG_HOME: base }),
      waitForShutdown: () => stopped,
    };
    const running = run(['runner', '--name', 'cli-runner', '--work-dir', join(base, 'work')], ctx);
    try {
      const build = await eventually('the build to finish', async () => {
        const b = await buildOf('happy', commit);
        return b.state === 'succeeded' || b.state === 'failed' ? b : undefined;
      });
      assert.equal(build.state, 'succeeded', build.error ?? '');
      assert.equal(build.runner, 'cli-runner');
      const deployment = await t.client.getDeployment('happy', build.deployment ?? '');
      assert.equal(deployment.meta.build, build.id);
      assert.equal((await edgeGet(t.server.port, hostOf(build.deploymentUrl ?? ''))).body, '<h1>leased</h1>');
    } finally {
      shutdown('SIGTERM');
      assert.equal(await running, 0);
    }
  });

  test('a runner token fetches from Slipway’s git only the project of a build it holds, and only with its lease', async () => {
    const commit = await pushOwn('fetch-me', { 'index.html': 'source' });
    await pushOwn('not-yours', { 'index.html': 'secret source' });
    const runner = t.clientWith(runnerToken);
    const claimed = await runner.claimBuild({ runner: 'fetcher', leaseSeconds: 60 });
    assert.equal(claimed?.build.commit, commit);
    const lsRemote = (project: string, ...headers: string[]) =>
      git(base, [...headers.flatMap((h) => ['-c', `http.extraHeader=${h}`]), 'ls-remote', `http://127.0.0.1:${t.server.port}/git/${project}.git`]);
    const bearer = `Authorization: Bearer ${runnerToken}`;
    await assert.rejects(lsRemote('fetch-me', bearer), /LEASE_LOST/);
    await assert.rejects(lsRemote('fetch-me', bearer, 'Slipway-Lease: forged'), /LEASE_LOST/);
    assert.match(await lsRemote('fetch-me', bearer, `Slipway-Lease: ${claimed.lease}`), new RegExp(`^${commit}\\s+refs/heads/main`, 'm'));
    await assert.rejects(lsRemote('not-yours', bearer, `Slipway-Lease: ${claimed.lease}`), /FORBIDDEN/);
    await runner.withHeaders({ [LEASE_HEADER]: claimed.lease }).completeBuild(claimed.build.id, { runner: 'fetcher', state: 'failed', error: 'test', report: {} });
    await assert.rejects(lsRemote('fetch-me', bearer, `Slipway-Lease: ${claimed.lease}`), /LEASE_LOST/, 'a finished build’s lease fetches nothing');
  });

  test('a runner whose lease is taken over says LEASE_LOST, abandons the build and never completes it', async () => {
    const commit = await pushOwn('slow', {
      'slipway.yaml': 'build:\n  command: sleep 30 && mkdir -p out && echo late > out/index.html\n  output: out\n',
    });
    const log: string[] = [];
    const runner = startRunner({
      serverUrl: `http://127.0.0.1:${t.server.port}`,
      token: runnerToken,
      name: 'loser',
      leaseSeconds: 5,
      heartbeatMs: 200,
      killGraceMs: 200,
      workDir: join(base, 'loser'),
      log: (line) => log.push(line),
    });
    try {
      const build = await eventually('the build to run its command', async () => {
        const b = await buildOf('slow', commit);
        const lines = b.state === 'running' ? (await t.client.getBuildLogs('slow', b.id)).lines : [];
        return lines.some((l) => l.text.startsWith('Running: sleep 30')) ? b : undefined;
      });
      // The lease runs out (as if the runner had been cut off) and another runner claims the build.
      clock.offsetMs += 10_000;
      const thief = t.clientWith((await t.client.createToken({ name: 'thief', role: 'runner' })).secret);
      const claimed = await thief.claimBuild({ runner: 'thief', leaseSeconds: 60 });
      assert.equal(claimed?.build.id, build.id);
      assert.equal(claimed.build.attempt, 2);
      await eventually('the runner to see LEASE_LOST', async () => (log.some((l) => l.includes('LEASE_LOST')) ? true : undefined), 10_000);
      const started = Date.now();
      await runner.stop({ graceMs: 10_000 });
      assert.ok(Date.now() - started < 8_000, 'the abandoned build’s command was stopped, not waited for');
      assert.ok(log.some((l) => l.includes(`build ${build.id}: the server refused this runner's lease (LEASE_LOST)`)), log.join('\n'));
      assert.ok(log.some((l) => l.includes('abandoning the build')), log.join('\n'));
      const after = await t.client.getBuild('slow', build.id);
      assert.equal(after.state, 'running', 'the old runner did not complete the build');
      assert.equal(after.runner, 'thief');
      const done = await thief.withHeaders({ [LEASE_HEADER]: claimed.lease }).completeBuild(build.id, { runner: 'thief', state: 'failed', error: 'test', report: {} });
      assert.equal(done.state, 'failed');
    } finally {
      await runner.stop({ graceMs: 0 });
    }
  });
});
