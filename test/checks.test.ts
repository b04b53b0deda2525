import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiError, type SlipwayClient } from '../src/protocol/client.ts';
import type { CheckState } from '../src/core/glossary.ts';
import type { CommitChecks } from '../src/protocol/checks.ts';
import { backends } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * Checks over real HTTP on each backend: reporting and reading them, a commit given whole or
 * abbreviated, who may report, what hostile input gets, and many reporters at once. The CLI
 * runs as the real `bin/slipway` in a child process.
 */

const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));
const sha = () => randomBytes(20).toString('hex');

async function refused(promise: Promise<unknown>, code: string): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

for (const backend of backends) {
  describe(`checks on ${backend.name}`, () => {
    let t: TestServer;
    let deployer: SlipwayClient;
    let viewer: SlipwayClient;
    let runner: SlipwayClient;
    let deployerToken: string;
    let home: string;

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('other');
      deployerToken = (await t.client.createToken({ name: 'ci', role: 'deployer' })).secret;
      deployer = t.clientWith(deployerToken);
      viewer = t.clientWith((await t.client.createToken({ name: 'vera', role: 'viewer' })).secret);
      runner = t.clientWith((await t.client.createToken({ name: 'rex', role: 'runner' })).secret);
      home = await mkdtemp(join(tmpdir(), 'slipway-checks-'));
    });
    after(async () => {
      await t.dispose();
      await rm(home, { recursive: true, force: true });
    });

    function slipway(...args: string[]): Promise<Run> {
      const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: deployerToken };
      return new Promise((resolve, reject) => {
        execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') reject(new Error(`cannot run slipway: ${err.message}`));
          else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
        });
      });
    }

    test('the latest report of a name is its state; every report is kept, newest first', async () => {
      const commit = sha();
      const first = await deployer.reportCheck('shop', { commit, name: 'ci/test', state: 'pending', url: 'https://ci.example.com/runs/1' });
      assert.equal(first.check.state, 'pending');
      assert.equal(first.check.reportedBy, 'ci');
      assert.equal(first.check.source, 'api');
      await deployer.reportCheck('shop', { commit, name: 'ci/test', state: 'failure', description: 'two tests failed' });
      await deployer.reportCheck('shop', { commit, name: 'ci/lint', state: 'success' });
      const last = await deployer.reportCheck('shop', { commit, name: 'ci/test', state: 'success', url: 'https://ci.example.com/runs/2' });
      assert.equal(last.report?.state, 'success');

      const { checks } = await viewer.listChecks('shop', commit);
      assert.deepEqual(
        checks.map((c) => [c.name, c.state, c.url, c.description]),
        [
          ['ci/lint', 'success', null, null],
          ['ci/test', 'success', 'https://ci.example.com/runs/2', null],
        ],
      );
      const history = await viewer.checkHistory('shop', commit, { name: 'ci/test' });
      assert.deepEqual(
        history.reports.map((r) => r.state),
        ['success', 'failure', 'pending'],
      );
      assert.ok(history.reports.every((r, i, all) => i === 0 || (all[i - 1]?.seq ?? 0) > r.seq));
      // The other project knows nothing of this commit's checks.
      assert.deepEqual((await viewer.listChecks('other', commit)).checks, []);
      // A release's batch reads the checks of all its commits at once.
      const shop = await t.server.deps.store.findProjectByName('shop');
      const batch = await t.server.deps.store.listChecksOfCommits(shop?.id ?? '', [commit, sha(), commit]);
      assert.deepEqual(
        batch.map((c) => [c.commitSha, c.name, c.state]),
        [
          [commit, 'ci/lint', 'success'],
          [commit, 'ci/test', 'success'],
        ],
      );
    });

    test('a full id is taken before Slipway knows the commit; an abbreviation must name exactly one known commit', async () => {
      const commit = sha();
      // Unknown abbreviation: nothing to resolve against yet.
      await refused(deployer.reportCheck('shop', { commit: commit.slice(0, 10), name: 'ci/test', state: 'pending' }), 'COMMIT_NOT_FOUND');
      await deployer.reportCheck('shop', { commit: commit.toUpperCase(), name: 'ci/test', state: 'pending' });
      const short = await deployer.reportCheck('shop', { commit: commit.slice(0, 7), name: 'ci/test', state: 'success' });
      assert.equal(short.check.commit, commit);
      assert.equal((await viewer.listChecks('shop', commit.slice(0, 9))).commit, commit);

      // Two commits sharing a prefix: the abbreviation is ambiguous and names both.
      const prefix = `${randomBytes(4).toString('hex')}`;
      const a = `${prefix}${'0'.repeat(32)}`;
      const b = `${prefix}${'1'.repeat(32)}`;
      await deployer.reportCheck('shop', { commit: a, name: 'ci/test', state: 'success' });
      await deployer.reportCheck('shop', { commit: b, name: 'ci/test', state: 'success' });
      const ambiguous = await refused(viewer.listChecks('shop', prefix), 'COMMIT_NOT_FOUND');
      assert.deepEqual(ambiguous.details?.candidates, [a, b]);
      assert.equal((await viewer.listChecks('shop', `${prefix}0`)).commit, a);

      // A commit of another project is not this one's to abbreviate.
      const theirs = sha();
      await deployer.reportCheck('other', { commit: theirs, name: 'ci/test', state: 'failure' });
      await refused(deployer.reportCheck('shop', { commit: theirs.slice(0, 12), name: 'ci/test', state: 'success' }), 'COMMIT_NOT_FOUND');
      assert.equal((await viewer.listChecks('other', theirs)).checks[0]?.state, 'failure');
      await refused(viewer.getCommit('shop', commit), 'COMMIT_NOT_FOUND');
    });

    test('hostile input is refused with a code and records nothing', async () => {
      const commit = sha();
      const report = (fields: Record<string, unknown>) =>
        deployer.request('POST', '/api/v1/projects/shop/checks', { body: { commit, name: 'ci/test', state: 'success', ...fields } });
      for (const state of ['passed', 'SUCCESS', 'error', '', 42, null]) await refused(report({ state }), 'CHECK_STATE_INVALID');
      await refused(report({ state: undefined }), 'CHECK_STATE_INVALID');
      for (const url of ['javascript:alert(document.cookie)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'ftp://ci.example.com/x', 'https://', `https://ci.example.com/${'x'.repeat(3000)}`]) {
        await refused(report({ url }), 'INVALID_REQUEST');
      }
      for (const name of ['x'.repeat(10 * 1024), 'x'.repeat(101), '', ' ci/test', 'ci/test\n', 'ci\u001b[31m/test', 'ci/\u202etest', 'ci\u0000test']) {
        await refused(report({ name }), 'INVALID_REQUEST');
      }
      await refused(report({ description: 'd'.repeat(1001) }), 'INVALID_REQUEST');
      for (const bad of ['abc123', 'g'.repeat(40), '../../etc/passwd', `${commit}00`.padEnd(70, '0'), "1234567' OR '1'='1"]) await refused(report({ commit: bad }), 'INVALID_REQUEST');
      // Slipway's own names are Slipway's: a deployer cannot paint slipway/test green.
      await refused(report({ name: 'slipway/test' }), 'FORBIDDEN');
      await refused(report({ name: 'Slipway/Test' }), 'FORBIDDEN');
      assert.deepEqual((await viewer.checkHistory('shop', commit)).reports, []);

      // A description is kept on one line, without escape sequences or bidi overrides.
      const kept = await report({ description: 'red \u001b[31mALERT\u001b[0m\r\nSet-Cookie: x=1 \u202egnp.exe' });
      assert.equal((kept as { check: { description: string } }).check.description, 'red [31mALERT[0m  Set-Cookie: x=1 gnp.exe');
      // Printable names from real CI systems pass.
      await report({ name: 'build (ubuntu-latest, node 20) / test ✓' });
    });

    test('reporting needs a deployer; reading a viewer; a runner reports only its build’s test step, under its lease', async () => {
      const commit = sha();
      await refused(viewer.reportCheck('shop', { commit, name: 'ci/test', state: 'success' }), 'FORBIDDEN');
      await refused(runner.reportCheck('shop', { commit, name: 'ci/test', state: 'success' }), 'FORBIDDEN');
      await refused(t.clientWith('not-a-token').listChecks('shop', commit), 'UNAUTHENTICATED');
      await refused(runner.reportBuildCheck('bld-nope', { runner: 'rex', name: 'slipway/test', state: 'success' }), 'LEASE_LOST');
      await refused(runner.withHeaders({ 'slipway-lease': 'forged' }).reportBuildCheck('bld-nope', { runner: 'rex', name: 'slipway/test', state: 'success' }), 'LEASE_LOST');
      await refused(deployer.reportBuildCheck('bld-nope', { runner: 'rex', name: 'slipway/test', state: 'success' }), 'FORBIDDEN');
      await refused(runner.request('POST', '/api/v1/runner/builds/bld-nope/checks', { body: { runner: 'rex', name: 'ci/test', state: 'success' } }), 'INVALID_REQUEST');
      assert.deepEqual((await viewer.checkHistory('shop', commit)).reports, []);
      await refused(viewer.listChecks('nope', commit), 'PROJECT_NOT_FOUND');
    });

    test('20 reporters at once leave the check at the last report in check_reports order', async () => {
      const states: CheckState[] = ['pending', 'success', 'failure'];
      for (let round = 0; round < 3; round++) {
        const commit = sha();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            deployer.reportCheck('shop', { commit, name: 'ci/race', state: states[(i + round) % 3] ?? 'pending', description: `reporter ${i}` }),
          ),
        );
        const history = await viewer.checkHistory('shop', commit, { name: 'ci/race' });
        assert.equal(history.reports.length, 20);
        const last = history.reports[0];
        const [current] = (await viewer.listChecks('shop', commit)).checks;
        assert.ok(last && current);
        assert.deepEqual([current.state, current.description], [last.state, last.description], `round ${round}`);
      }
    });

    test('slipway checks report and list, and their exit codes', async () => {
      const commit = sha();
      const reported = await slipway('checks', 'report', '--project', 'shop', '--commit', commit, '--name', 'ci/e2e', '--state', 'failure', '--url', 'https://ci.example.com/e2e/9');
      assert.equal(reported.code, 0, reported.stderr);
      assert.match(reported.stdout, new RegExp(`ci/e2e is failure on ${commit.slice(0, 12)}`));
      const short = await slipway('checks', 'report', '--project', 'shop', '--commit', commit.slice(0, 8), '--name', 'ci/e2e', '--state', 'success');
      assert.equal(short.code, 0, short.stderr);

      const listed = await slipway('checks', 'list', '--project', 'shop', '--commit', commit.slice(0, 8), '--json');
      assert.equal(listed.code, 0, listed.stderr);
      const body = JSON.parse(listed.stdout) as CommitChecks;
      assert.deepEqual(
        body.checks.map((c) => [c.name, c.state]),
        [['ci/e2e', 'success']],
      );
      const table = await slipway('checks', 'list', '--project', 'shop', '--commit', commit, '--history');
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /REPORTED\s+NAME\s+STATE/);
      assert.equal(table.stdout.trim().split('\n').length, 3);

      const badState = await slipway('checks', 'report', '--project', 'shop', '--commit', commit, '--name', 'ci/e2e', '--state', 'green');
      assert.equal(badState.code, 2);
      assert.match(badState.stderr, /CHECK_STATE_INVALID/);
      const unknown = await slipway('checks', 'list', '--project', 'shop', '--commit', 'abcdef0123');
      assert.equal(unknown.code, 3);
      assert.match(unknown.stderr, /COMMIT_NOT_FOUND/);
      const missing = await slipway('checks', 'report', '--project', 'shop', '--commit', commit, '--state', 'success');
      assert.equal(missing.code, 2);
    });
  });
}
