import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sha256, startStandIn, runOf, type StandIn } from './support/agent-stand-in.ts';
import { AGENT_APP, freePort, getApp, groupsUnder, killUnder, processesUnder, readState, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { eventually } from './support/eventually.ts';

/** Killed: gone, or a zombie that its parent (init, once its shell died) has not reaped yet. */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * Real agent processes (src/agent/main.ts) running a real HTTP service app
 * (test/fixtures/agent-app) against a stand-in of the agent wire: enrollment, switching,
 * rollback from disk, failing health, the release phase, offline, and kill -9 in every step.
 */

const APP = readFileSync(AGENT_APP, 'utf8');
const service = (extra: Record<string, unknown> = {}) => ({ start: `'${process.execPath}' server.mjs`, health: '/healthz', stop_timeout_ms: 1500, ...extra });

describe('the agent on a host', () => {
  let standIn: StandIn;
  let root: string;
  let dir: string;
  let port: number;
  let agents: AgentProcess[] = [];

  const start = (extra: string[] = []): AgentProcess => {
    const agent = startAgentProcess(['--dir', dir, '--server', standIn.url, '--token', 'enroll-me', '--port', String(port), '--address', '127.0.0.1', '--name', 'host-1', ...extra]);
    agents.push(agent);
    return agent;
  };
  const deploy = (n: number, files: Record<string, string> = {}, extra: Record<string, unknown> = {}): void => {
    standIn.addDeployment({ id: `dpl-${n}`, service: service(extra), files: { 'server.mjs': APP, 'VERSION': `v${n}\n`, ...files } });
  };
  const serving = (release: string) =>
    eventually(`the app to answer as ${release}`, async () => ((await getApp(port))?.body.release === release ? true : undefined), 60_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the agents said:\n${agents.map((a) => a.output()).join('\n---\n')}`);
    });
  const reported = (what: string, check: (r: NonNullable<ReturnType<StandIn['lastReport']>>) => boolean) =>
    eventually(`a report: ${what}`, async () => (standIn.reports.some(check) ? true : undefined), 60_000);

  beforeEach(async () => {
    standIn = await startStandIn();
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-host-'));
    dir = join(root, 'agent');
    port = await freePort();
    agents = [];
  });

  afterEach(async () => {
    for (const agent of agents) await agent.stop();
    killUnder(root);
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  });

  test('enrolls, runs its release with PORT and config vars, switches, and rolls back from disk without a download', async () => {
    deploy(1);
    deploy(2);
    standIn.vars.set('rel-1', { GREETING: 'hello from one' });
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    const agent = start();
    await serving('rel-1');
    assert.equal((await getApp(port))?.body.greeting, 'hello from one');
    assert.equal((await stat(join(dir, 'agent.json'))).mode & 0o777, 0o600);
    assert.equal(await readlink(join(dir, 'current')), 'releases/dpl-1');
    await reported('healthy on rel-1', (r) => r.healthy && r.current?.releaseId === 'rel-1' && r.state === 'idle' && r.port === port && r.address === '127.0.0.1');
    const first = (await getApp(port))!.body.pid;

    standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
    await serving('rel-2');
    assert.notEqual((await getApp(port))!.body.pid, first);
    await reported('healthy on rel-2', (r) => r.healthy && r.current?.releaseId === 'rel-2');
    assert.deepEqual(groupsUnder(root).length, 1, 'one service (its process group)');

    const gets = [...standIn.blobGets.values()].reduce((a, b) => a + b, 0);
    const rollbackAt = Date.now();
    standIn.assign({ run: runOf('rel-3', 3, 'dpl-1') });
    await serving('rel-3');
    const tookMs = Date.now() - rollbackAt;
    assert.equal([...standIn.blobGets.values()].reduce((a, b) => a + b, 0), gets, 'a rollback is a switch, not a download');
    assert.ok(tookMs < 20_000, `rollback took ${tookMs} ms`);
    assert.deepEqual(groupsUnder(root).length, 1);
    assert.match(agent.output(), /enrolled as agent agt-standin/);

    assert.equal(await agent.stop(), 0);
    assert.deepEqual(processesUnder(root), [], 'stopping the agent stops its service');
  });

  test('a release that fails its health check is reported unhealthy with why; the previous release comes back when the server sends it', async () => {
    deploy(1);
    deploy(2, { FAIL_HEALTH: '' });
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    start();
    await serving('rel-1');
    standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
    await reported('unhealthy rel-2', (r) => r.state === 'failed' && !r.healthy && r.current?.releaseId === 'rel-2' && /not healthy/.test(r.error ?? ''));
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    await serving('rel-1');
    await reported('healthy again on rel-1', (r) => r.healthy && r.current?.releaseId === 'rel-1' && r.state === 'idle');
  });

  test('a service that exits at once is reported with its output; a service ignoring SIGTERM is killed after stop_timeout', async () => {
    deploy(1, { IGNORE_SIGTERM: '' });
    deploy(2, { EXIT_AT_ONCE: '' });
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    start();
    await serving('rel-1');
    const old = (await getApp(port))!.body.pid;
    standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
    await reported('rel-2 exited', (r) => r.state === 'failed' && /exit code 3/.test(r.error ?? '') && /exiting at once/.test(r.error ?? ''));
    assert.ok(ended(old), 'the old process that ignored SIGTERM was killed');
  });

  test('the release phase runs once with the config vars, its log and exit code reported; a failing one is reported failed', async () => {
    deploy(1);
    deploy(2);
    standIn.vars.set('rel-2', { DATABASE_URL: 'postgres://db/shop' });
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    start();
    await serving('rel-1');
    standIn.assign({ prepare: { deploymentId: 'dpl-2' } });
    await reported('dpl-2 prepared', (r) => r.prepared.includes('dpl-2'));
    standIn.assign({ releasePhase: { releaseId: 'rel-2', deploymentId: 'dpl-2', command: 'echo "migrating $DATABASE_URL in $(cat VERSION)"; exit 0' } });
    await reported('release phase ok', (r) => r.releasePhase?.releaseId === 'rel-2' && r.releasePhase.ok && r.releasePhase.exitCode === 0 && /migrating postgres:\/\/db\/shop in v2/.test(r.releasePhase.log));
    const runs = standIn.reports.filter((r) => r.releasePhase?.releaseId === 'rel-2').length;
    assert.equal((await getApp(port))?.body.release, 'rel-1', 'nothing switched');

    standIn.assign({ releasePhase: { releaseId: 'rel-3', deploymentId: 'dpl-2', command: 'echo "no such table" >&2; exit 4' } });
    await reported('release phase failed', (r) => r.releasePhase?.releaseId === 'rel-3' && !r.releasePhase.ok && r.releasePhase.exitCode === 4 && /no such table/.test(r.releasePhase.log));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(standIn.reports.filter((r) => r.releasePhase?.releaseId === 'rel-2').length, runs, 'the acknowledged result is not sent again, the phase not run again');
  });

  test('keeps serving while the server is unreachable, and reports again when it is back', async () => {
    deploy(1);
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
    const agent = start();
    await serving('rel-1');
    standIn.down = true;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await getApp(port))?.body.release, 'rel-1');
    assert.match(agent.output(), /cannot get the assignment .* the current release keeps running/);
    const count = standIn.reports.length;
    standIn.down = false;
    await eventually('a report after the outage', async () => (standIn.reports.length > count ? true : undefined), 40_000);
    assert.equal(standIn.lastReport()?.current?.releaseId, 'rel-1');
  });

  test('keeps the last N releases and never the current one', async () => {
    for (let n = 1; n <= 4; n++) deploy(n);
    start(['--keep', '2']);
    for (let n = 1; n <= 4; n++) {
      standIn.assign({ run: runOf(`rel-${n}`, n, `dpl-${n}`) });
      await serving(`rel-${n}`);
    }
    await eventually('old releases pruned', async () => {
      const names = (await readdir(join(dir, 'releases'))).sort();
      return names.join(',') === 'dpl-3,dpl-3.complete,dpl-4,dpl-4.complete' ? true : undefined;
    });
  });

  test('a wrong enrollment token exits 6 and writes no agent.json', async () => {
    const agent = startAgentProcess(['--dir', dir, '--server', standIn.url, '--token', 'wrong']);
    agents.push(agent);
    assert.equal(await agent.exited, 6);
    assert.match(agent.output(), /ENROLLMENT_INVALID/);
    await assert.rejects(stat(join(dir, 'agent.json')), { code: 'ENOENT' });
  });

  for (const step of ['downloading', 'verifying', 'release-phase', 'draining', 'switching', 'health-checking', 'reporting', 'idle'] as const) {
    test(`kill -9 while ${step}, then a restart: current is whole, the right release serves, no process is left over`, async () => {
      // Each step made long enough to be caught in it.
      deploy(1);
      const big = 'x'.repeat(200_000);
      // verifying: a 48 MB file takes a while to hash again after a restart.
      const huge = step === 'verifying' ? 'y'.repeat(48 * 1024 * 1024) : '';
      deploy(2, { IGNORE_SIGTERM: '', SLOW_START: '', 'big-1.bin': big, 'big-2.bin': `${big}2`, 'big-3.bin': `${big}3`, ...(huge ? { 'huge.bin': huge, 'slow.txt': 'slow' } : {}) }, { hooks: { before_switch: 'sleep 2', after_switch: 'true' } });
      standIn.blobDelayMs = step === 'downloading' ? 300 : 0;
      if (huge) standIn.slowBlobs.set(sha256('slow'), 4000);
      standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
      let agent = start();
      await serving('rel-1');
      if (step === 'verifying') {
        // A half-done directory: kill once the huge file is down (a small one is still on its way), restart, kill again while it re-verifies.
        standIn.assign({ prepare: { deploymentId: 'dpl-2' } });
        await eventually('the huge file down', async () => ((await stat(join(dir, 'releases/dpl-2/huge.bin')).catch(() => undefined))?.size === huge.length ? true : undefined));
        agent.child.kill('SIGKILL');
        await agent.exited;
        agent = start();
        for (let i = 0; i < 5000; i++) {
          const text = (() => {
            try {
              return readFileSync(join(dir, 'state.json'), 'utf8');
            } catch {
              return '';
            }
          })();
          if (/"step": "verifying"/.test(text)) break;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
      // reporting: the server takes its time to answer the report that ends the switch.
      if (step === 'reporting') standIn.reportDelayMs = 1500;
      if (step === 'release-phase') standIn.assign({ releasePhase: { releaseId: 'rel-2', deploymentId: 'dpl-2', command: 'sleep 30' } });
      else if (step !== 'verifying') standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
      await eventually(`the agent in ${step}`, async () => {
        const s = await readState(dir);
        if (step === 'idle') return s?.step === 'idle' && s.current?.releaseId === 'rel-2' && s.healthy ? true : undefined;
        if (step === 'draining') return s?.step === 'draining' && s.process !== null ? true : undefined;
        if (step === 'switching') return s?.step === 'switching' && s.command !== null ? true : undefined;
        return s?.step === step ? true : undefined;
      }, 60_000);
      const servedBy = (await getApp(port))?.body.pid;
      agent.child.kill('SIGKILL');
      await agent.exited;
      const leftovers = (await readdir(dir)).filter((n) => n.includes('.tmp-'));
      const reportsBefore = standIn.reports.length;
      standIn.reportDelayMs = 0;
      const link = await readlink(join(dir, 'current'));
      assert.match(link, /^releases\/dpl-[12]$/, 'current is a whole link');
      assert.ok((await stat(join(dir, link))).isDirectory());

      if (step === 'release-phase') standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
      if (step === 'verifying') standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
      const restarted = start();
      await serving('rel-2');
      await eventually('a healthy report on rel-2 from the restarted agent', async () => (standIn.reports.slice(reportsBefore).some((r) => r.healthy && r.current?.releaseId === 'rel-2') ? true : undefined), 60_000);
      await eventually('one service (its process group)', async () => (groupsUnder(root).length === 1 ? true : undefined), 30_000);
      if (step === 'release-phase') {
        await reported('the cut-short release phase reported failed', (r) => r.releasePhase?.releaseId === 'rel-2' && !r.releasePhase.ok && /restarted while the release phase ran/.test(r.releasePhase.log));
      }
      if (step === 'idle') {
        assert.match(restarted.output(), /adopted the service process/);
        assert.equal((await getApp(port))?.body.pid, servedBy, 'the running service was adopted, not restarted');
      }
      const now = await readdir(dir);
      assert.deepEqual(leftovers.filter((n) => now.includes(n)), [], 'temp files a crash left are removed');
    });
  }
});
