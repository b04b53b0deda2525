import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Processes the agent starts: the service (`sh -c <start>`) and commands (hooks, the release
 * phase), each in its own process group so that stopping it stops what it started too. The
 * service's output goes straight to its log file, not through a pipe to the agent: it keeps
 * running, and writing, when the agent dies, and a restarted agent adopts it by pid and start time.
 */

export interface ProcessRef {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot): a reused pid has another. null off Linux. */
  startTime: string | null;
}

export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Field 3 is the state (Z: a zombie, as good as gone); field 22 of stat(5) is the start time.
    if (fields[0] === 'Z') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform !== 'linux' || hasLiveMember(pgid);
}

/**
 * Whether a process of the group is still running, zombies aside. A service whose shell died
 * first (`sh -c` on SIGTERM) leaves its process to init, which may reap it long after it exited
 * (a container's init: a second and more); exited, it holds no port and no file, and waiting for
 * the reaping only delays the start of the next release.
 */
function hasLiveMember(pgid: number): boolean {
  if (procStartTime(pgid) !== null) return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return true;
  }
  const group = String(pgid);
  for (const pid of pids) {
    const first = pid.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the command's closing parenthesis: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (fields[2] === group && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** The process is still the one we started (same pid, same start time). */
export function isRunning(ref: ProcessRef): boolean {
  if (!Number.isSafeInteger(ref.pid) || ref.pid <= 1) return false;
  if (process.platform === 'linux') {
    const now = procStartTime(ref.pid);
    return now !== null && (ref.startTime === null || now === ref.startTime);
  }
  try {
    process.kill(ref.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process group: SIGTERM, then SIGKILL when anything of the group is still there after
 * `timeoutMs`. Answers how it ended. A pid that is no longer ours (ended, or reused) is left alone.
 */
export async function stopGroup(ref: ProcessRef, timeoutMs: number): Promise<'gone' | 'terminated' | 'killed'> {
  // Never 0 or 1: kill(-0) is this agent's own group, kill(-1) everything it may signal.
  if (!Number.isSafeInteger(ref.pid) || ref.pid <= 1) return 'gone';
  if (!isRunning(ref) && !groupAlive(ref.pid)) return 'gone';
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-ref.pid, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!groupAlive(ref.pid)) return 'terminated';
    await sleep(25);
  }
  signal('SIGKILL');
  for (let i = 0; i < 200 && groupAlive(ref.pid); i++) await sleep(10);
  return 'killed';
}

/**
 * Commands start behind a gate: the shell waits for "go" on its standard input before it runs
 * (exec) the command, and the agent writes it only once the pid is in state.json. An agent
 * killed in between closes the pipe, and the shell exits without running anything, so no
 * process the agent does not know of is ever left behind.
 */
const GATE = 'read -r go || exit 97; [ "$go" = go ] || exit 97; exec /bin/sh -c "$1" </dev/null';

export interface Started extends ProcessRef {
  /** Resolves with the exit of the process (only for processes this agent started, not adopted ones). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lets the command run: call it once its pid is recorded. */
  go(): void;
}

/** Starts `sh -c command` in `cwd` as the leader of a new process group, output appended to `logPath`; it runs after go(). */
export function startService(command: string, cwd: string, env: Record<string, string>, logPath: string): Promise<Started> {
  const fd = openSync(logPath, 'a', 0o640);
  try {
    const child = spawn('/bin/sh', ['-c', GATE, 'slipway-agent', command], { cwd, env, detached: true, stdio: ['pipe', fd, fd] });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        const pid = child.pid as number;
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
        // The agent may exit while the service runs on: it must not hold the event loop open.
        child.unref();
        child.stdin?.on('error', () => undefined);
        resolve({ pid, startTime: procStartTime(pid), exited, go: () => child.stdin?.end('go\n') });
      });
    });
  } finally {
    closeSync(fd);
  }
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last `logLimit` bytes of its output. */
  log: string;
  timedOut: boolean;
}

/**
 * Runs `sh -c command` to its end (a hook, the release phase) in its own process group, its
 * output kept (the tail, up to `logLimit` bytes) and appended to `logPath`. `onStart` learns the
 * pid first, so a crash of the agent while it runs can be found and stopped at the next start.
 */
export async function runCommand(
  command: string,
  cwd: string,
  env: Record<string, string>,
  options: { timeoutMs: number; logLimit: number; logPath: string; onStart?: (ref: ProcessRef) => Promise<void> | void },
): Promise<CommandResult> {
  const fd = openSync(options.logPath, 'a', 0o640);
  const child = spawn('/bin/sh', ['-c', GATE, 'slipway-agent', command], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = Buffer.alloc(0);
  const keep = (chunk: Buffer): void => {
    try {
      // Written synchronously so the log holds the output in order, whatever happens next.
      for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk.subarray(offset));
    } catch {
      // A full disk must not stop the command: its tail still reaches the server.
      tail = Buffer.concat([tail, Buffer.from('\n[slipway-agent: cannot write the log file]\n')]);
    }
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > options.logLimit * 2) tail = tail.subarray(tail.length - options.logLimit);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A command that ended before its go has closed the pipe: its exit code says the rest.
  child.stdin.on('error', () => undefined);
  // Listened for at once: a quick command can end while onStart still writes the state.
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (c, s) => resolve({ code: c, signal: s })));
  try {
    const started = await new Promise<ProcessRef>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve({ pid: child.pid as number, startTime: procStartTime(child.pid as number) }));
    });
    await options.onStart?.(started);
    child.stdin.end('go\n');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopGroup(started, 5_000);
    }, options.timeoutMs);
    const { code, signal } = await closed;
    clearTimeout(timer);
    // Whatever it left running in its group ends with it.
    if (groupAlive(started.pid)) await stopGroup({ pid: started.pid, startTime: null }, 2_000);
    let log = tail.length > options.logLimit ? tail.subarray(tail.length - options.logLimit) : tail;
    if (timedOut) log = Buffer.concat([log, Buffer.from(`\n[slipway-agent: stopped after ${Math.round(options.timeoutMs / 1000)} s]\n`)]);
    return { exitCode: code, signal, log: log.toString('utf8'), timedOut };
  } finally {
    closeSync(fd);
  }
}

/** One health probe: GET http://127.0.0.1:<port><path>; 2xx and 3xx are healthy. */
export function probe(port: number, path: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { 'user-agent': 'slipway-agent health' } }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The first wait between health probes, and the longest: a quick start is seen quickly, a slow one is not probed in a tight loop. */
const FIRST_PROBE_WAIT_MS = 20;
const PROBE_WAIT_MS = 250;

/**
 * Probes until healthy, the deadline, the process's end (`ended()` answers why), or `signal`
 * (a new assignment): 'healthy', 'timeout', 'exited: …' or 'aborted'. The waits between probes
 * grow from 20 ms to 250 ms (by half each time): most of an instance's time to healthy is its
 * own start, which this adds to by a third at most.
 */
export async function waitHealthy(port: number, path: string, deadlineMs: number, ended: () => string | undefined, signal?: AbortSignal): Promise<string> {
  const until = Date.now() + deadlineMs;
  let wait = FIRST_PROBE_WAIT_MS;
  for (;;) {
    if (signal?.aborted) return 'aborted';
    const why = ended();
    if (why !== undefined) return `exited: ${why}`;
    if (await probe(port, path, Math.max(100, Math.min(2_000, until - Date.now())))) return 'healthy';
    if (Date.now() >= until) return 'timeout';
    try {
      await sleep(wait, undefined, signal ? { signal } : undefined);
    } catch {
      return 'aborted';
    }
    wait = Math.min(PROBE_WAIT_MS, Math.round(wait * 1.5));
  }
}
