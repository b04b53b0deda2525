import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentView } from '../../src/protocol/agents.ts';
import type { Release } from '../../src/protocol/api.ts';
import type { ServerOptions } from '../../src/server/server.ts';
import { appVersion, startFleet, type Fleet } from './agent-fleet.ts';
import { freePort } from './agent-process.ts';
import type { TestBackend } from './backends.ts';
import { slipway } from './cli.ts';
import { eventually } from './eventually.ts';
import { commitFiles, gitOk, remoteLines } from './git-client.ts';
import { ADMIN_TOKEN, edgeGet, startTestServer, type TestServer } from './server.ts';

/**
 * The stand of the agents' end-to-end suites (test/agents-e2e*.test.ts): a real server on a
 * fixed loopback port (so agents reach it across a restart), project `shop`, three real agents
 * enrolled into production, and the steps a user takes through the CLI.
 */

export const PROJECT = 'shop';
export const ENV = 'production';

export interface Stand {
  t: TestServer;
  fleet: Fleet;
  work: string;
  migrations: string;
  edgeHost: string;
}

export async function cli(t: TestServer, args: string[]): Promise<string> {
  const run = await slipway(t, args);
  assert.equal(run.code, 0, `slipway ${args.join(' ')} exited ${run.code}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** `slipway deploy <dir>` of a version of the app; answers the deployment id. */
export async function deployApp(s: Stand, version: string, markers: string[] = [], extra: Record<string, string> = {}): Promise<string> {
  const dir = await appVersion(s.work, version, markers);
  for (const [path, body] of Object.entries(extra)) await writeFile(join(dir, path), body);
  const out = await cli(s.t, ['deploy', dir, '--project', PROJECT, '--message', `app ${version}`, '--no-cache', '--json']);
  return (JSON.parse(out) as { id: string }).id;
}

export async function promote(s: Stand, deployment: string, extra: string[] = []): Promise<Release> {
  const out = await cli(s.t, ['promote', deployment, '--project', PROJECT, '--env', ENV, '--json', ...extra]);
  const body = JSON.parse(out) as Release | { release: Release };
  return 'release' in body ? body.release : body;
}

export async function releaseState(s: Stand, id: string): Promise<Release> {
  const { releases } = await s.t.client.listReleases(PROJECT, ENV, { limit: 50 });
  const found = releases.find((r) => r.id === id);
  assert.ok(found, `release ${id} is listed`);
  return found;
}

/** What the rollout and the agents look like now: said when a wait times out. */
export async function explain(s: Stand, releaseId: string): Promise<string> {
  const rollout = await slipway(s.t, ['rollout', releaseId, '--project', PROJECT]).catch((err: Error) => ({ stdout: '', stderr: err.message }));
  const agents = await s.fleet.view(s.t).catch(() => new Map());
  const lines = [...agents.values()].map((a: AgentView) => `${a.name}: ${a.state} current=${a.current?.deploymentId ?? '-'} healthy=${a.healthy} rotation=${a.rotation} lost=${a.lost} error=${a.error ?? '-'}`);
  return `\n${rollout.stdout}${rollout.stderr}\n${lines.join('\n')}`;
}

export async function waitForRelease(s: Stand, id: string, states: Release['state'][], ms = 60_000): Promise<Release> {
  try {
    return await eventually(`release ${id} to be ${states.join(' or ')}`, async () => {
      const r = await releaseState(s, id);
      return states.includes(r.state) ? r : undefined;
    }, ms);
  } catch (err) {
    const r = await releaseState(s, id);
    throw new Error(`${(err as Error).message} (it is ${r.state}: ${r.stateReason ?? ''})${await explain(s, id)}`);
  }
}

/** Who answers through the edge: `<VERSION>@<port>` of each of `n` requests. */
export async function edgeAnswers(s: Stand, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await edgeGet(s.t.server.port, s.edgeHost, `/hello/${i}`);
    assert.equal(res.status, 200, `edge answered ${res.status}: ${res.body.slice(0, 300)}`);
    seen.push(String(res.headers['x-served-by']));
  }
  return seen;
}

/** What an instance answers on its own port (the app's JSON line). */
export async function instanceSays(port: number): Promise<{ version: string; release: string; deployment: string; greeting: string | null; pid: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/whoami`);
  assert.equal(res.status, 200);
  const [, json] = (await res.text()).split('\n');
  return JSON.parse(json ?? '{}') as never;
}

/** Samples the agents' view while `until` is pending: the most instances out of rotation at once. */
export async function maxOutOfRotation(s: Stand, until: Promise<unknown>): Promise<number> {
  let done = false;
  until.then(() => (done = true), () => (done = true));
  let max = 0;
  while (!done) {
    const view = await s.fleet.view(s.t).catch(() => undefined);
    if (view) max = Math.max(max, [...view.values()].filter((a) => a.rotation !== 'in' || !a.healthy).length);
    await sleep(40);
  }
  return max;
}


/**
 * Starts the stand. With `push`, version 1 of the app reaches the server as a user's repository
 * would: pushed to the default branch and built by the in-process runner, which also sets
 * production's policy from its slipway.yaml (max_unavailable 1, drain 1s, health_timeout 6s);
 * `first` is that build's deployment. Without, production keeps the default rollout policy and
 * version 1 is deployed with `slipway deploy`.
 */
export async function startStand(backend: TestBackend, options: { push: boolean; server?: Partial<ServerOptions> }): Promise<Stand & { first: string }> {
  const work = await mkdtemp(join(tmpdir(), 'slipway-agents-e2e-'));
  const migrations = join(work, 'migrations.log');
  const port = await freePort();
  const t = await startTestServer(backend, { port, runners: options.push ? 1 : 0, agentHeartbeatMs: 5_000, ...options.server });
  try {
    await cli(t, ['projects', 'create', PROJECT]);
    let first: string;
    if (options.push) {
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '120';
      const app = await appVersion(work, '1');
      await gitOk(work, app, ['init', '--quiet', '-b', 'main']);
      const sha = await commitFiles(work, app, {}, 'app 1');
      const pushed = await gitOk(work, app, ['push', `http://x:${ADMIN_TOKEN}@127.0.0.1:${port}/git/${PROJECT}.git`, 'main']);
      assert.ok(remoteLines(pushed.stderr).some((l) => l.startsWith('-----> Deployed: ')), pushed.stderr);
      const build = (await t.client.listBuilds(PROJECT)).builds.find((b) => b.commit === sha);
      assert.equal(build?.state, 'succeeded');
      first = build.deployment ?? '';
    } else {
      const out = await cli(t, ['deploy', await appVersion(work, '1'), '--project', PROJECT, '--no-cache', '--json']);
      first = (JSON.parse(out) as { id: string }).id;
    }
    const fleet = await startFleet(t, { project: PROJECT, environment: ENV, count: 3, serverUrl: () => `http://127.0.0.1:${port}`, env: { E2E_MIGRATIONS: migrations } });
    const stand = { t, fleet, work, migrations, edgeHost: `${ENV}--${PROJECT}.localhost:${port}`, first };
    // Enrolled into an environment with nothing live: each agent is known and runs nothing yet.
    await eventually('3 agents enrolled', async () => ((await fleet.view(t)).size === 3 ? true : undefined));
    return stand;
  } catch (err) {
    await t.dispose();
    throw err;
  }
}

/** Stops the agents (and whatever still runs in their directories), the server, and removes the files; with `failed`, prints the agents' output first. */
export async function disposeStand(stand: Stand | undefined, failed: boolean): Promise<void> {
  if (!stand) return;
  if (failed) for (const a of stand.fleet.agents) process.stderr.write(`\n=== ${a.name} (${a.dir})\n${a.output().slice(-6000)}`);
  await stand.fleet.dispose();
  await stand.t.dispose();
  await rm(stand.work, { recursive: true, force: true });
}

/** Prints a timing line in the test output: where a scenario's time goes. */
export function mark(label: string, since: number): void {
  process.stdout.write(`# ${label}: ${Math.round(performance.now() - since)} ms\n`);
}
