import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sha256, startStandIn, runOf, type StandIn } from './support/agent-stand-in.ts';
import { AGENT_APP, freePort, getApp, killUnder, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { eventually } from './support/eventually.ts';

/**
 * Self-upgrade with real bundles: the agent downloads the version the server advertises,
 * checks its digest, restarts into it without restarting the service, and falls back to
 * itself when the new one does not report within its trial.
 */

// @ts-expect-error -- a plain .mjs build script without types
const { buildAgent } = (await import('../scripts/build-agent.mjs')) as { buildAgent: (dir: string, options?: { version?: string }) => Promise<{ path: string; sha256: string }> };

const APP = readFileSync(AGENT_APP, 'utf8');

describe('agent self-upgrade', () => {
  let standIn: StandIn;
  let root: string;
  let dir: string;
  let port: number;
  let agents: AgentProcess[] = [];

  beforeEach(async () => {
    standIn = await startStandIn();
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-upgrade-'));
    dir = join(root, 'agent');
    port = await freePort();
    agents = [];
    standIn.addDeployment({ id: 'dpl-1', service: { start: `'${process.execPath}' server.mjs`, health: '/healthz', stop_timeout_ms: 1000 }, files: { 'server.mjs': APP } });
    standIn.assign({ run: runOf('rel-1', 1, 'dpl-1') });
  });

  afterEach(async () => {
    for (const agent of agents) await agent.stop();
    killUnder(root);
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}): AgentProcess => {
    const agent = startAgentProcess(['--dir', dir, '--server', standIn.url, '--token', 'enroll-me', '--port', String(port), '--address', '127.0.0.1'], { env });
    agents.push(agent);
    return agent;
  };

  test('downloads the advertised version, verifies it, restarts into it and keeps the service running', async () => {
    const built = await buildAgent(join(root, 'build'), { version: '9.9.9' });
    standIn.files.set('/agent/slipway-agent.js', await readFile(built.path));
    const agent = start({ SLIPWAY_AGENT_UPGRADE_TRIAL_MS: '60000' });
    await eventually('serving', async () => ((await getApp(port))?.body.release === 'rel-1' ? true : undefined), 60_000);
    const pid = (await getApp(port))!.body.pid;

    standIn.assign({ agentVersion: { version: '9.9.9', sha256: built.sha256, url: '/agent/slipway-agent.js' } });
    await eventually('a report from 9.9.9', async () => (standIn.reports.some((r) => r.version === '9.9.9' && r.healthy && r.current?.releaseId === 'rel-1') ? true : undefined), 60_000);
    assert.equal((await getApp(port))?.body.pid, pid, 'the service was adopted, not restarted');
    // The child confirms once the server has answered its first report.
    await eventually('the upgrade confirmed', async () => {
      const record = JSON.parse(await readFile(join(dir, 'agent', 'upgrade.json'), 'utf8')) as { state: string; version: string };
      return record.state === 'confirmed' && record.version === '9.9.9' && /upgrade confirmed/.test(agent.output()) ? true : undefined;
    });

    // The new version runs the service as its own: a switch still works.
    standIn.addDeployment({ id: 'dpl-2', service: { start: `'${process.execPath}' server.mjs`, health: '/healthz' }, files: { 'server.mjs': APP, 'v2': '2' } });
    standIn.assign({ run: runOf('rel-2', 2, 'dpl-2') });
    await eventually('serving rel-2', async () => ((await getApp(port))?.body.release === 'rel-2' ? true : undefined));
    assert.equal(await agent.stop(), 0);
    await eventually('the service stopped with the agent', async () => ((await getApp(port)) === undefined ? true : undefined));
  });

  test('a download that does not match its digest is refused; a version that never reports is killed and the old one takes over for good', async () => {
    const bogus = Buffer.from('// a "new agent" that never reports\nsetInterval(() => {}, 1000);\n');
    standIn.files.set('/agent/bad.js', Buffer.from('tampered'));
    standIn.files.set('/agent/slipway-agent.js', bogus);
    const agent = start({ SLIPWAY_AGENT_UPGRADE_TRIAL_MS: '2000' });
    await eventually('serving', async () => ((await getApp(port))?.body.release === 'rel-1' ? true : undefined), 60_000);
    const pid = (await getApp(port))!.body.pid;

    standIn.assign({ agentVersion: { version: '9.9.8', sha256: sha256('the real bytes'), url: '/agent/bad.js' } });
    await eventually('the mismatch refused', async () => (/refusing agent 9\.9\.8: its sha256 is/.test(agent.output()) ? true : undefined));

    standIn.assign({ agentVersion: { version: '9.9.9', sha256: sha256(bogus), url: '/agent/slipway-agent.js' } });
    await eventually('the fallback', async () => (/agent 9\.9\.9 failed its trial: it did not report within 2 s/.test(agent.output()) ? true : undefined), 60_000);
    const reportsAfter = standIn.reports.length;
    await eventually('the old agent reports again', async () => (standIn.reports.slice(reportsAfter).some((r) => r.version === '0.0.0-source' && r.healthy) ? true : undefined), 60_000);
    assert.equal((await getApp(port))?.body.pid, pid, 'the service kept running through the failed upgrade');
    const record = JSON.parse(await readFile(join(dir, 'agent', 'upgrade.json'), 'utf8')) as { state: string; version: string };
    assert.deepEqual([record.state, record.version], ['failed', '9.9.9']);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(agent.output().match(/starting agent 9\.9\.9/g)?.length, 1, 'a version that failed its trial is not tried again');
  });
});
