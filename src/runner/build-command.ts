import { spawn } from 'node:child_process';
import { LineSplitter } from './line-splitter.ts';

export type OutputStream = 'stdout' | 'stderr';

export interface BuildEnvInput {
  /** The runner's PATH, so the build finds the tools installed on the machine. */
  path: string | undefined;
  home: string;
  tmpDir: string;
  lang: string | undefined;
  /** `build.env` of slipway.yaml. */
  env: Readonly<Record<string, string>>;
  commit: string;
  branch: string | null;
  ref: string;
  project: string;
  buildId: string;
}

/**
 * The whole environment of a build command, built from nothing: never the runner's own
 * `process.env` (it holds the runner's token, and in-process the server's secrets). Slipway's
 * variables are set last, so `build.env` cannot fake them.
 */
export function createBuildEnv(input: BuildEnvInput): Record<string, string> {
  return {
    PATH: input.path ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: input.home,
    TMPDIR: input.tmpDir,
    LANG: input.lang ?? 'C.UTF-8',
    ...input.env,
    CI: 'true',
    SLIPWAY_COMMIT: input.commit,
    SLIPWAY_BRANCH: input.branch ?? '',
    SLIPWAY_REF: input.ref,
    SLIPWAY_PROJECT: input.project,
    SLIPWAY_BUILD_ID: input.buildId,
  };
}

export interface RunCommandOptions {
  command: string;
  /**
   * Run this program instead of `sh -c <command>` (the sandbox: bwrap, whose arguments end
   * with the command); `env` and `cwd` are then bwrap's own.
   */
  spawn?: { file: string; args: readonly string[] } | undefined;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL of the process group. */
  killGraceMs?: number;
  /** Aborting kills the process group the same way a timeout does. */
  signal?: AbortSignal;
  onLine(stream: OutputStream, text: string, at: Date): void;
}

export interface CommandResult {
  exitCode: number | null;
  /** The signal that ended the shell, if one did. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The abort signal fired (cancel, runner stopping). */
  aborted: boolean;
  durationMs: number;
  /** A spawn failure (no `sh`, cwd gone). */
  error?: Error;
}

/**
 * Runs `sh -c <command>` as the leader of its own process group, so everything it starts
 * (`npm run build &`, a dev server a script forgot) can be killed together: on timeout or
 * abort the group gets SIGTERM, then SIGKILL after a grace period. When the shell exits on
 * its own, whatever it left running in the group is killed too, so a build never leaves
 * processes behind and its pipes close. Output is delivered line by line, timestamped. In
 * the sandbox (`spawn`: bwrap) the group is bwrap's, and its PID namespace takes everything
 * with it, `setsid` daemons included.
 */
export function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const killGraceMs = options.killGraceMs ?? 5000;
  const started = Date.now();
  return new Promise((resolve) => {
    const [file, args] = options.spawn ? [options.spawn.file, options.spawn.args] : ['sh', ['-c', options.command]];
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let openStreams = 2;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch (err) {
        // ESRCH: the whole group is already gone, which is what we wanted.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    };
    const terminate = (): void => {
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), killGraceMs));
    };
    const finish = (): void => {
      if (settled || openStreams > 0 || (exit === undefined && spawnError === undefined)) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        aborted,
        durationMs: Date.now() - started,
        ...(spawnError ? { error: spawnError } : {}),
      });
    };
    const onAbort = (): void => {
      if (exit !== undefined || timedOut || aborted) return;
      aborted = true;
      terminate();
    };

    for (const name of ['stdout', 'stderr'] as const) {
      const stream = child[name];
      const splitter = new LineSplitter();
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const at = new Date();
        for (const line of splitter.push(chunk)) options.onLine(name, line, at);
      });
      stream.on('close', () => {
        const at = new Date();
        for (const line of splitter.end()) options.onLine(name, line, at);
        openStreams -= 1;
        finish();
      });
    }

    child.on('error', (err) => {
      spawnError = err;
      finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The shell is gone; anything still in its group is an orphan of this build. SIGKILL at
      // once would cut a well-behaved background job's last words, so TERM first.
      if (!timedOut && !aborted) terminate();
      // A process that left the group (setsid) and kept our pipes open must not hold the
      // build forever: stop reading after the grace period.
      timers.push(
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, killGraceMs + 1000),
      );
      finish();
    });

    timers.push(
      setTimeout(() => {
        if (exit !== undefined || aborted) return;
        timedOut = true;
        terminate();
      }, options.timeoutMs),
    );
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
