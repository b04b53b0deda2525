import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AgentState } from '../../src/agent/machine.ts';

/** A real agent process (src/agent/main.ts under tsx, or a built bundle) and what tests ask of it. */

const MAIN = fileURLToPath(new URL('../../src/agent/main.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/slipway', import.meta.url));
export const AGENT_APP = fileURLToPath(new URL('../fixtures/agent-app/server.mjs', import.meta.url));

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM (the agent stops its service) and wait. */
  stop(): Promise<number | null>;
}

/** `bundle`: a built slipway-agent.js; `cli`: `bin/slipway agent`; else src/agent/main.ts under tsx. */
export function startAgentProcess(args: readonly string[], options: { bundle?: string; cli?: boolean; env?: Record<string, string> } = {}): AgentProcess {
  const argv = options.bundle ? [options.bundle, ...args] : options.cli ? [BIN, 'agent', ...args] : ['--import', 'tsx', MAIN, ...args];
  const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', SLIPWAY_AGENT_HEALTH_TIMEOUT_MS: '20000', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    pid: child.pid as number,
    output: () => text,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Pids of processes whose working directory lies under `dir` (the services and commands an agent started there). */
export function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(Number(entry));
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return found;
}

/** Process groups of the processes under `dir`: one per service or command the agent started. */
export function groupsUnder(dir: string): number[] {
  const groups = new Set<number>();
  for (const pid of processesUnder(dir)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      groups.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]));
    } catch {
      // Ended while we looked.
    }
  }
  return [...groups];
}

/** Kills (SIGKILL) what runs under `dir`: a test's leftovers, never anything else. */
export function killUnder(dir: string): void {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export async function readState(dir: string): Promise<AgentState | undefined> {
  try {
    return JSON.parse(await readFile(`${dir}/state.json`, 'utf8')) as AgentState;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GET http://127.0.0.1:<port><path> → status and JSON body, or undefined when nothing answers. */
export function getApp(port: number, path = '/'): Promise<{ status: number; body: { release: string | null; deployment: string | null; pid: number; greeting: string | null } } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: {} as never });
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
