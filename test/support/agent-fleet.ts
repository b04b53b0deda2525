import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentView } from '../../src/protocol/agents.ts';
import { freePort, killUnder, readState } from './agent-process.ts';
import { slipway } from './cli.ts';
import { eventually } from './eventually.ts';
import type { TestServer } from './server.ts';

/**
 * Real agents on one machine, as a user runs them: `bin/slipway agent` processes, each with its
 * own directory and port, enrolled with one-time tokens from `slipway agents enroll`, serving
 * the end-to-end fixture app (test/fixtures/e2e-service). Each can be killed with SIGKILL and
 * started again on the same directory, which is what the crash scenarios do.
 */

const BIN = fileURLToPath(new URL('../../bin/slipway', import.meta.url));
export const E2E_SERVICE = fileURLToPath(new URL('../fixtures/e2e-service', import.meta.url));

export interface FleetAgent {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  /** The agent process's pid (the latest start's). */
  readonly pid: number;
  /** Everything the agent printed, across its starts. */
  output(): string;
  running(): boolean;
  /** Starts it (again) on its directory; `token` only for the first, enrolling start. */
  start(token?: string): void;
  /** SIGKILL, as a crash would: its service keeps running, nothing is cleaned up. */
  kill9(): Promise<void>;
  /** SIGTERM: the agent stops its service and exits. */
  stop(): Promise<void>;
}

export interface FleetOptions {
  project: string;
  environment: string;
  count: number;
  /** The server's URL as the agents reach it (a function: a restarted server may move). */
  serverUrl: () => string;
  /** Extra environment of the agents (their services and commands inherit it, minus SLIPWAY_*). */
  env?: Record<string, string>;
}

export interface Fleet {
  agents: FleetAgent[];
  base: string;
  /** The agents as the server lists them, by name. */
  view(t: TestServer): Promise<Map<string, AgentView>>;
  /** Stops every agent and kills whatever still runs under their directories. */
  dispose(): Promise<void>;
}

/** A one-time enrollment token for the environment, printed by `slipway agents enroll`. */
export async function enrollmentToken(t: TestServer, project: string, environment: string): Promise<string> {
  const run = await slipway(t, ['agents', 'enroll', '--project', project, '--env', environment, '--json']);
  assert.equal(run.code, 0, `slipway agents enroll: ${run.stderr}`);
  const { token } = JSON.parse(run.stdout) as { token: string };
  assert.match(token, /\S{16,}/);
  return token;
}

function startAgent(name: string, dir: string, port: number, options: FleetOptions): FleetAgent {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let text = '';
  const agent: FleetAgent = {
    name,
    dir,
    port,
    get pid() {
      return child?.pid ?? 0;
    },
    output: () => text,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    start(token) {
      assert.ok(!agent.running(), `${name} is already running`);
      const args = [BIN, 'agent', '--server', options.serverUrl(), '--dir', dir, '--port', String(port), '--address', '127.0.0.1', '--name', name];
      if (token !== undefined) args.push('--token', token);
      child = spawn(process.execPath, args, {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      text += `--- ${name} started (pid ${child.pid ?? '?'})\n`;
      child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
      const current = child;
      exited = new Promise((resolve) => current.once('exit', (code, signal) => {
        text += `--- ${name} exited (${signal ?? code})\n`;
        resolve();
      }));
    },
    async kill9() {
      if (!agent.running()) return;
      child?.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!agent.running()) return;
      child?.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return agent;
}

/** Enrolls and starts `count` agents into the environment, each in a fresh directory on a free port. */
export async function startFleet(t: TestServer, options: FleetOptions): Promise<Fleet> {
  const base = await mkdtemp(join(tmpdir(), 'slipway-fleet-'));
  const agents: FleetAgent[] = [];
  for (let i = 1; i <= options.count; i++) {
    const dir = join(base, `host-${i}`);
    await mkdir(dir);
    const token = await enrollmentToken(t, options.project, options.environment);
    const agent = startAgent(`host-${i}`, dir, await freePort(), options);
    agent.start(token);
    agents.push(agent);
  }
  return {
    agents,
    base,
    async view(server) {
      const { agents: listed } = await server.client.request<{ agents: AgentView[] }>('GET', `/api/v1/projects/${encodeURIComponent(options.project)}/agents`);
      return new Map(listed.map((a) => [a.name, a]));
    },
    async dispose() {
      await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
      for (const a of agents) killUnder(a.dir);
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** Waits until every agent of the fleet runs `deploymentId`, healthy and in rotation. */
export async function waitForFleet(t: TestServer, fleet: Fleet, deploymentId: string, ms = 60_000): Promise<Map<string, AgentView>> {
  return eventually(
    `every agent healthy on ${deploymentId}`,
    async () => {
      const view = await fleet.view(t);
      if (view.size < fleet.agents.length) return undefined;
      for (const a of view.values()) if (a.current?.deploymentId !== deploymentId || !a.healthy || a.rotation !== 'in' || a.lost) return undefined;
      return view;
    },
    ms,
  );
}

export { readState };

/**
 * A copy of the fixture app as version `version` of the service, ready for `slipway deploy`:
 * VERSION says which one it is; `markers` are files that change its behaviour (FAIL_MIGRATION,
 * FAIL_HEALTH, EXIT_AT_ONCE — see the fixture's comments).
 */
export async function appVersion(base: string, version: string, markers: string[] = []): Promise<string> {
  const dir = join(base, `app-${version}`);
  await rm(dir, { recursive: true, force: true });
  await cp(E2E_SERVICE, dir, { recursive: true });
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  for (const marker of markers) await writeFile(join(dir, marker), `${marker}\n`);
  return dir;
}

/** The lines the fixture's release phase appended to the shared migrations file. */
export async function migrationsRun(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
}
