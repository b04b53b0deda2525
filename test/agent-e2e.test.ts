import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY } from '../src/core/gates/index.ts';
import { openStore } from '../src/store/open-store.ts';
import { backends } from './support/backends.ts';
import { AGENT_APP, freePort, getApp, groupsUnder, killUnder, readState, startAgentProcess, type AgentProcess } from './support/agent-process.ts';
import { eventually } from './support/eventually.ts';
import { deployFiles, edgeGet, startTestServer, type TestServer } from './support/server.ts';

/**
 * Real agents against a real Slipway server: `slipway agent` and the built bundle, each with
 * its own directory and port, enroll with one-time tokens, install the live service deployment,
 * serve it through the edge, survive kill -9, and stop when they are removed.
 */

const BUILD_AGENT = fileURLToPath(new URL('../scripts/build-agent.mjs', import.meta.url));

const { buildAgent } = (await import(BUILD_AGENT)) as { buildAgent: (dir: string) => Promise<{ path: string; version: string }> };

describe('agents against a real server', () => {
  let t: TestServer;
  let root: string;
  let bundle: string;
  let releaseId: string;
  const agents: AgentProcess[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-e2e-'));
    const built = await buildAgent(join(root, 'build'));
    // A host: the one file, outside any package.json.
    bundle = join(root, 'host', 'slipway-agent.js');
    await mkdir(join(root, 'host'));
    await copyFile(built.path, bundle);
    // No agent bundle on the server: nobody is asked to upgrade here (agent-upgrade.test.ts does that).
    t = await startTestServer(backends[0]!, { agentHeartbeatMs: 1_000, agentDir: join(root, 'no-agent-bundle') });
    await t.client.createProject('shop');
    const app = await readFile(AGENT_APP, 'utf8');
    const deployment = await deployFiles(t.client, 'shop', { 'server.mjs': app, 'README.txt': 'the shop\n' }, { service: { start: `'${process.execPath}' server.mjs`, health: '/healthz', stop_timeout_ms: 2_000 } });
    // No agents yet: it goes live at once, and agents that enroll later are given it.
    const release = await t.client.promote('shop', 'production', { deployment: deployment.id });
    releaseId = release.id;
  });

  after(async () => {
    for (const agent of agents) await agent.stop();
    killUnder(root);
    await t?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  async function enrollAndStart(name: string, how: { cli?: boolean; bundle?: string }): Promise<{ agent: AgentProcess; dir: string; port: number }> {
    const { token } = await t.client.createEnrollment('shop', 'production');
    const dir = join(root, name);
    const port = await freePort();
    const agent = startAgentProcess(['--dir', dir, '--server', `http://127.0.0.1:${t.server.port}`, '--token', token, '--port', String(port), '--address', '127.0.0.1', '--name', name], how);
    agents.push(agent);
    return { agent, dir, port };
  }

  test('two agents (slipway agent and the bundle) enroll, install the live release, serve it, and the edge balances over them', async () => {
    const one = await enrollAndStart('host-1', { cli: true });
    const two = await enrollAndStart('host-2', { bundle });
    for (const { port, agent } of [one, two]) {
      await eventually(`host on ${port} serving`, async () => ((await getApp(port))?.body.release === releaseId ? true : undefined), 60_000).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${agent.output()}`);
      });
    }
    const listed = await eventually('both agents healthy and in rotation', async () => {
      const { agents: list } = await t.client.listAgents('shop');
      return list.length === 2 && list.every((a) => a.healthy && a.rotation === 'in' && a.current?.releaseId === releaseId && a.state === 'idle') ? list : undefined;
    });
    assert.deepEqual(listed.map((a) => a.name).sort(), ['host-1', 'host-2']);
    assert.deepEqual(listed.map((a) => a.port).sort(), [one.port, two.port].sort());
    const { instances } = await t.client.listInstances('shop', { environment: 'production' });
    assert.equal(instances.length, 2);

    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const response = await edgeGet(t.server.port, 'production--shop.localhost', '/');
      assert.equal(response.status, 200, response.body);
      const body = JSON.parse(response.body) as { release: string; pid: number };
      assert.equal(body.release, releaseId);
      pids.add(body.pid);
    }
    assert.equal(pids.size, 2, 'the edge reaches both instances');
  });

  test('kill -9 of an agent: its instance keeps serving, the restarted agent adopts it and reports', async () => {
    const { agents: list } = await t.client.listAgents('shop');
    const host1 = list.find((a) => a.name === 'host-1')!;
    const first = agents[0]!;
    const dir = join(root, 'host-1');
    const servedBy = (await getApp(host1.port))!.body.pid;
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal((await getApp(host1.port))?.body.pid, servedBy, 'the service outlives its agent');
    const restarted = startAgentProcess(['--dir', dir, '--port', String(host1.port), '--address', '127.0.0.1'], { cli: true });
    agents.push(restarted);
    await eventually('adopted', async () => (/adopted the service process/.test(restarted.output()) ? true : undefined), 30_000);
    assert.equal((await getApp(host1.port))?.body.pid, servedBy);
    assert.equal(groupsUnder(dir).length, 1);
    const state = await readState(dir);
    assert.equal(state?.current?.releaseId, releaseId);
  });

  test('a removed agent is refused: it stops its service and exits 6', async () => {
    const { agents: list } = await t.client.listAgents('shop');
    const host2 = list.find((a) => a.name === 'host-2')!;
    const second = agents[1]!;
    await t.client.removeAgent('shop', host2.id);
    assert.equal(await second.exited, 6, second.output());
    assert.match(second.output(), /refuses this agent's credential/);
    await eventually('its service stopped', async () => ((await getApp(host2.port)) === undefined ? true : undefined));
  });
});

describe('a rollout onto real agents', () => {
  let t: TestServer;
  let root: string;
  let bundle: string;
  const agents: AgentProcess[] = [];
  const ports: number[] = [];
  let app: string;
  const service = (extra: Record<string, unknown> = {}) => ({ start: `'${process.execPath}' server.mjs`, health: '/healthz', stop_timeout_ms: 2_000, ...extra });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-agent-rollout-'));
    const built = await buildAgent(join(root, 'build'));
    bundle = join(root, 'host', 'slipway-agent.js');
    await mkdir(join(root, 'host'));
    await copyFile(built.path, bundle);
    t = await startTestServer(backends[0]!, { agentHeartbeatMs: 1_000, agentDir: join(root, 'no-agent-bundle') });
    await t.client.createProject('mall');
    app = await readFile(AGENT_APP, 'utf8');
    const v1 = await deployFiles(t.client, 'mall', { 'server.mjs': app }, { service: service() });
    await t.client.promote('mall', 'production', { deployment: v1.id });
    // The environment exists once something went live in it: now its rollout policy (slipway.yaml's rollout:).
    const store = await openStore(t.databaseUrl);
    try {
      const project = (await store.findProjectByName('mall'))!;
      const env = (await store.findEnvironment(project.id, 'production'))!;
      const { follows: _follows, ...rest } = DEFAULT_POLICY;
      await store.setEnvironmentPolicy(env.id, { ...rest, ...(env.policy ?? {}), rollout: { ...DEFAULT_POLICY.rollout, drainMs: 200, healthTimeoutMs: 20_000 } }, 'user admin', new Date().toISOString(), []);
    } finally {
      await store.close();
    }
    for (const name of ['mall-1', 'mall-2']) {
      const { token } = await t.client.createEnrollment('mall', 'production');
      const port = await freePort();
      ports.push(port);
      agents.push(startAgentProcess(['--dir', join(root, name), '--server', `http://127.0.0.1:${t.server.port}`, '--token', token, '--port', String(port), '--address', '127.0.0.1', '--name', name], { bundle }));
    }
  });

  after(async () => {
    for (const agent of agents) await agent.stop();
    killUnder(root);
    await t?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  const allServe = (what: string, check: (body: NonNullable<Awaited<ReturnType<typeof getApp>>>['body']) => boolean) =>
    eventually(
      what,
      async () => {
        for (const port of ports) {
          const answer = await getApp(port);
          if (answer === undefined || !check(answer.body)) return undefined;
        }
        return true;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the agents said:\n${agents.map((a) => a.output().slice(-3000)).join('\n---\n')}`);
    });

  test('config vars, a release phase run once, a rolling switch, and a failing health check rolled back', async () => {
    await allServe('both agents serving v1', (b) => b.release !== null);

    await t.client.changeConfig('mall', 'production', { set: { GREETING: 'hello mall' } });
    await allServe('the config release rolled out', (b) => b.greeting === 'hello mall');

    const migrations = join(root, 'migrations.log');
    const v2 = await deployFiles(t.client, 'mall', { 'server.mjs': app, 'v2.txt': 'two' }, { service: service({ release: `echo "migrated by $SLIPWAY_RELEASE with $GREETING" >> '${migrations}'` }) });
    const promoted = await t.client.promote('mall', 'production', { deployment: v2.id });
    await allServe('v2 rolled out', (b) => b.release === promoted.id && b.greeting === 'hello mall');
    const lines = (await readFile(migrations, 'utf8')).trim().split('\n');
    assert.deepEqual(lines, [`migrated by ${promoted.id} with hello mall`], 'the release phase ran once, on one agent, with the config vars');
    const done = await eventually('the rollout done', async () => {
      const r = await t.client.getRollout('mall', promoted.id);
      return r.state === 'done' ? r : undefined;
    });
    assert.equal(done.releasePhase?.exitCode, 0);

    const v3 = await deployFiles(t.client, 'mall', { 'server.mjs': app, FAIL_HEALTH: '' }, { service: service() });
    const bad = await t.client.promote('mall', 'production', { deployment: v3.id });
    const failed = await eventually(
      'the rollout rolled back',
      async () => {
        const r = await t.client.getRollout('mall', bad.id);
        return r.state === 'rolled_back' || r.state === 'failed' ? r : undefined;
      },
      90_000,
    );
    assert.equal(failed.state, 'rolled_back', failed.reason ?? '');
    await allServe('every instance back on v2', (b) => b.release === promoted.id);
    const { agents: list } = await t.client.listAgents('mall');
    assert.ok(list.every((a) => a.current?.releaseId === promoted.id && a.healthy && a.rotation === 'in'), JSON.stringify(list));
  });
});
