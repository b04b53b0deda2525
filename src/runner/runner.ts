import { mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { ClaimedBuild } from '../protocol/builds.ts';
import { SlipwayClient } from '../protocol/client.ts';
import { startBuild } from './run-build.ts';
import type { BuildContext, RunningBuild } from './run-build.ts';
import { prepareSandbox, resolveBwrapPath } from './sandbox.ts';
import type { SandboxState } from './sandbox.ts';

export interface RunnerOptions {
  serverUrl: string;
  /** A token with the runner role. Never passed to builds. */
  token: string;
  /** How the server knows this runner (default: `<hostname>-<pid>`). */
  name?: string;
  /** Builds at once (default 1). */
  concurrency?: number;
  /** Each claim waits this long on the server for a build to be queued (long poll; default 20 s, 0 = plain polling). */
  waitSeconds?: number;
  /** Wait between claims when the server answered an empty queue at once (default 1000 ms). */
  pollMs?: number;
  /** How long a claim holds without a heartbeat (default 60 s; the server allows 5–3600). */
  leaseSeconds?: number;
  /** Where builds get their temp dirs (default: the OS temp dir). */
  workDir?: string;
  log?: (line: string) => void;
  /** Upper bound of the heartbeat interval (default 5000 ms): how soon a cancel takes effect. */
  heartbeatMs?: number;
  /** Between SIGTERM and SIGKILL of a build's process group (default 5000 ms). */
  killGraceMs?: number;
  /** How long `stop()` lets running builds finish before stopping them (default 10 s). */
  stopGraceMs?: number;
  /**
   * How builds run, when the caller probed already (`prepareSandbox`); by default the runner
   * probes bubblewrap (`SLIPWAY_BWRAP`, else /usr/bin/bwrap) before its first claim, and
   * without it every build fails at once, saying why.
   */
  sandbox?: SandboxState;
  /** Kept out of the sandbox even where they lie under a system directory (the server's data dir). */
  hiddenPaths?: string[];
  /** `--allow-local-repos`: fetch external repositories on local paths, `file://` or private hosts too. */
  allowLocalRepos?: boolean;
  /** For tests: a client other than the default one over HTTP. */
  client?: SlipwayClient;
}

export interface Runner {
  readonly name: string;
  /**
   * Stops claiming; running builds get `stopGraceMs` (or `graceMs`) to finish, then their
   * process groups are killed and they fail with "runner stopped". Resolves when idle. Calling
   * it again with `graceMs: 0` cuts a grace period that is already running short.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * A build runner: claims builds from the server over HTTP and runs up to `concurrency` at once.
 * The same code runs inside the server (pointed at its own loopback URL) and on a separate
 * build machine (`slipway runner`).
 *
 * The claim loop's states:
 *   probing   – once, before the first claim (unless the caller did it): can bubblewrap make
 *               a sandbox here? Without one every claimed build fails at once (sandbox.ts)
 *   idle      – every slot busy (or a server that does not long-poll found nothing): wait for
 *               `pollMs` or a slot to free
 *   claiming  – one claim request in flight, held by the server up to `waitSeconds` while the
 *               queue is empty (stopping aborts it); a failed request is logged and backed off
 *               (1 s, 2 s, 4 s … 30 s), never fatal
 *   running   – a claimed build is handed to a slot (run-build.ts: fetch, build, upload) and
 *               the loop goes straight back to claiming while slots are free
 *   reporting – the slot completes its build on the server, removes its temp dir, and frees
 *   stopping  – `stop()`: no more claims; running builds get a grace period, then their process
 *               groups are killed and they complete as failed "runner stopped"
 */
export function startRunner(options: RunnerOptions): Runner {
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const pollMs = options.pollMs ?? 1000;
  const waitSeconds = Math.min(60, Math.max(0, Math.round(options.waitSeconds ?? 20)));
  // Cuts a long-polling claim short when the runner stops.
  const claiming = new AbortController();
  // The server accepts whole seconds from 5 to 3600.
  const leaseSeconds = Math.min(3600, Math.max(5, Math.round(options.leaseSeconds ?? 60)));
  const log = options.log ?? ((line: string) => process.stderr.write(`runner ${name}: ${line}\n`));
  const ctx: BuildContext = {
    client: options.client ?? new SlipwayClient({ url: options.serverUrl, token: options.token }),
    serverUrl: options.serverUrl,
    token: options.token,
    runner: name,
    // Absolute: the sandbox binds the build's directories at the same paths.
    workDir: resolve(options.workDir ?? tmpdir()),
    leaseSeconds,
    heartbeatMs: options.heartbeatMs ?? 5000,
    killGraceMs: options.killGraceMs ?? 5000,
    sandbox: options.sandbox ?? { mode: 'unavailable', reason: 'not probed yet' },
    hiddenPaths: options.hiddenPaths ?? [],
    allowLocalRepos: options.allowLocalRepos ?? false,
    log,
  };
  const running = new Map<string, RunningBuild>();
  const wake = new Wakeup();
  let stopping = false;

  const loop = async (): Promise<void> => {
    await mkdir(ctx.workDir, { recursive: true });
    if (options.sandbox === undefined) {
      ctx.sandbox = await prepareSandbox({ bwrapPath: resolveBwrapPath(undefined, process.env), workDir: ctx.workDir });
      if (ctx.sandbox.mode === 'unavailable') log(`no build sandbox: ${ctx.sandbox.reason}; every build will fail`);
    }
    let failures = 0;
    while (!stopping) {
      if (running.size >= concurrency) {
        await wake.sleep(pollMs);
        continue;
      }
      let answer: unknown;
      const asked = Date.now();
      try {
        answer = await ctx.client.claimBuild({ runner: name, leaseSeconds, waitSeconds }, claiming.signal);
        failures = 0;
      } catch (err) {
        if (stopping) break;
        failures += 1;
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
        log(`claiming a build failed: ${err instanceof Error ? err.message : String(err)}; retrying in ${delay / 1000}s`);
        await wake.sleep(delay);
        continue;
      }
      if (answer === undefined || answer === null) {
        // The server held the claim for its wait already; one that answered at once is polled.
        if (Date.now() - asked < Math.min(waitSeconds * 1000, pollMs) || waitSeconds === 0) await wake.sleep(pollMs);
        continue;
      }
      const claimed = ClaimedBuild.safeParse(answer);
      if (!claimed.success) {
        // A server of another version: this build's lease runs out and it goes back to the queue.
        log(`the server's claim answer is not understood: ${claimed.error.message}`);
        await wake.sleep(Math.max(pollMs, 5000));
        continue;
      }
      const build = startBuild(ctx, claimed.data);
      running.set(build.id, build);
      void build.done.finally(() => {
        running.delete(build.id);
        wake.notify();
      });
    }
  };
  const looping = loop().catch((err: unknown) => {
    log(`runner loop ended: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  });

  let stopped: Promise<void> | undefined;
  const stop = async (graceMs: number): Promise<void> => {
    stopping = true;
    claiming.abort();
    wake.notify();
    await looping;
    const builds = [...running.values()];
    if (builds.length === 0) return;
    log(`stopping: waiting for ${builds.length} running build(s)`);
    const all = Promise.all(builds.map((b) => b.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([all.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (first === 'timeout') for (const build of running.values()) build.stop('stopped');
    await all;
  };
  return {
    name,
    stop: (stopOptions = {}) => {
      if (stopped !== undefined && stopOptions.graceMs === 0) for (const build of running.values()) build.stop('stopped');
      return (stopped ??= stop(stopOptions.graceMs ?? options.stopGraceMs ?? 10_000));
    },
  };
}

/** A sleep that `notify()` cuts short (stop, or a slot freed). */
class Wakeup {
  #waiters = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
