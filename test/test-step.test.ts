import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPageUrl } from '../src/core/urls.ts';
import type { Build } from '../src/protocol/builds.ts';
import { startRunner, type Runner } from '../src/runner/runner.ts';
import { recordPush, ZERO_SHA } from '../src/server/services/pushes.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { git } from './support/git-repo.ts';
import { edgeGet, hostOf, startTestServer, type TestServer } from './support/server.ts';

/**
 * `test:` of slipway.yaml run by the real runner after a real build, in the same checkout and
 * sandbox, reporting `slipway/test` through the lease-checked runner route; and the history
 * the runner reports with the build becoming the project's commit graph.
 */

const sqlite = backends.find((b) => b.name === 'sqlite');
if (!sqlite) throw new Error('no sqlite backend');

const SITE = 'build:\n  command: mkdir -p dist && echo hi > dist/index.html\n  output: dist\n';

describe('the test step and the reported history', () => {
  let t: TestServer;
  let base: string;
  let work: string;
  let remote: string;
  let runner: Runner;
  let head = ZERO_SHA;

  before(async () => {
    t = await startTestServer(sqlite, { runners: 0 });
    base = await mkdtemp(join(tmpdir(), 'slipway-test-step-'));
    work = join(base, 'work');
    remote = join(base, 'remote.git');
    await mkdir(work);
    await git(base, ['init', '-q', '--bare', remote]);
    await git(work, ['init', '-q', '-b', 'main']);
    await t.client.createProject('app', { repo: remote });
    const token = (await t.client.createToken({ name: 'ci-runner', role: 'runner' })).secret;
    runner = startRunner({
      serverUrl: `http://127.0.0.1:${t.server.port}`,
      allowLocalRepos: true,
      token,
      name: 'test-step-runner',
      concurrency: 1,
      pollMs: 100,
      leaseSeconds: 10,
      heartbeatMs: 200,
      killGraceMs: 500,
      workDir: join(base, 'builds'),
      log: () => undefined,
    });
  });
  after(async () => {
    await runner.stop();
    await t.dispose();
    await rm(base, { recursive: true, force: true });
  });

  /** Commits on main (each on the last), pushes to the external repository and records the push as its webhook would. */
  async function buildCommit(files: Record<string, string>, message: string): Promise<{ build: Build; text: string }> {
    for (const [path, body] of Object.entries(files)) await writeFile(join(work, path), body);
    await git(work, ['add', '-A']);
    await git(work, ['commit', '-q', '--allow-empty', '-m', message]);
    const sha = await git(work, ['rev-parse', 'HEAD']);
    await git(work, ['push', '-q', remote, 'main']);
    await recordPush(t.server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'app', {
      updates: [{ ref: 'refs/heads/main', before: head, after: sha }],
      trigger: 'generic',
      sourceUrl: remote,
    });
    head = sha;
    const build = await eventually(`the build of ${sha.slice(0, 7)} to finish`, async () => {
      const found = (await t.client.listBuilds('app')).builds.find((b) => b.commit === sha);
      return found && found.state !== 'queued' && found.state !== 'running' ? found : undefined;
    });
    const { lines } = await t.client.getBuildLogs('app', build.id);
    return { build, text: lines.map((l) => `${l.stream}: ${l.text}`).join('\n') };
  }

  test('a passing test step reports slipway/test pending, then success, with its output in the build log', async () => {
    await buildCommit({ 'slipway.yaml': SITE }, 'first');
    const { build, text } = await buildCommit(
      { 'slipway.yaml': `${SITE}test: test "$(cat dist/index.html)" = hi && test ! -e .git && echo tests-passed\n` },
      'with a test',
    );
    assert.equal(build.state, 'succeeded', build.error ?? text);
    assert.match(text, /system: Running test: test "\$\(cat dist\/index.html\)" = hi/);
    assert.match(text, /stdout: tests-passed/);
    const { checks } = await t.client.listChecks('app', build.commit);
    assert.equal(checks.length, 1);
    const [check] = checks;
    assert.ok(check);
    assert.equal(check.name, 'slipway/test');
    assert.equal(check.state, 'success');
    assert.equal(check.source, 'runner');
    assert.equal(check.reportedBy, 'ci-runner');
    assert.equal(check.url, buildPageUrl(t.server.deps.urls, 'app', build.id));
    const history = await t.client.checkHistory('app', build.commit);
    assert.deepEqual(
      history.reports.map((r) => r.state),
      ['success', 'pending'],
    );
    // The build finished after its test: nothing saw it succeed with the check still pending.
    assert.ok((history.reports[0]?.reportedAt ?? '') <= (build.finishedAt ?? ''));

    // The runner reported the history it fetched: this commit and its parent, linked.
    const commit = await t.client.getCommit('app', build.commit);
    assert.equal(commit.message, 'with a test');
    const parent = await t.client.getCommit('app', commit.parents[0] ?? '');
    assert.deepEqual([parent.message, parent.parents], ['first', []]);
  });

  test('a failing test fails slipway/test, not the build: the deployment exists, as uploaded before the test ran', async () => {
    const { build, text } = await buildCommit(
      { 'slipway.yaml': `${SITE}test: echo tampered > dist/index.html; echo "2 tests failed" >&2; exit 4\n` },
      'broken tests',
    );
    assert.equal(build.state, 'succeeded', build.error ?? text);
    assert.ok(build.deploymentUrl);
    assert.match(text, /stderr: 2 tests failed/);
    assert.match(text, /system: Test failed: test command exited with code 4/);
    const [check] = (await t.client.listChecks('app', build.commit)).checks;
    assert.deepEqual([check?.name, check?.state, check?.description], ['slipway/test', 'failure', 'test command exited with code 4']);
    const page = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/');
    assert.equal(page.body, 'hi\n');
  });

  test('a build without test: reports no slipway/test', async () => {
    const { build } = await buildCommit({ 'slipway.yaml': SITE }, 'no test');
    assert.equal(build.state, 'succeeded');
    assert.deepEqual((await t.client.listChecks('app', build.commit)).checks, []);
    assert.equal((await t.client.getCommit('app', build.commit)).message, 'no test');
  });
});
