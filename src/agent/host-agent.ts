import { mkdir, readFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HEALTH_PATH, DEFAULT_SERVICE_PORT, DEFAULT_STOP_TIMEOUT_MS } from '../core/service-spec.ts';
import { completeReleases, ensureLayout, isComplete, markerOf, readCurrent, readJson, readMarker, releaseDir, releaseDirs, removeTempFiles, switchCurrent, writeFileAtomic, type Layout } from './disk.ts';
import { InstallError, layOutRelease, markComplete } from './install.ts';
import { backoffMs, initialState, nextWork, parseState, pruneIds, recoverState, remember, restartDelayMs, type AgentState, type Placed, type RunningProcess, type Work } from './machine.ts';
import { isRunning, orphanedGroup, probe, runCommand, startService, stopGroup, waitHealthy, type ProcessRef } from './process.ts';
import type { AgentClient, Assignment, Report, RunTarget, ServiceSpec } from './wire.ts';

/**
 * The agent's loops, over one directory (disk.ts) and one server:
 *
 * - poller: long-polls the assignment (`after` = the last rev seen, so the server answers as soon
 *   as anything changes); unreachable or failing → waits with jittered backoff (0.5 s … 30 s)
 *   and tries again, while the worker keeps the current release running.
 * - worker: whenever woken (new assignment, service exited, retry due), does nextWork until
 *   there is none: release phase, switch, restart of the current release, health, prepare;
 *   then prunes old releases and checks for a self-upgrade.
 * - reporter: sends the state whenever it changed and at least every heartbeatMs; one report at
 *   a time, the newest state each time.
 *
 * States of the whole: starting (recovery) → running → stopping ('stopped': SIGTERM, the service
 * stopped too; 'upgrade': a new agent bundle takes over, the service keeps running and is
 * adopted; 'unauthorized': the credential is refused).
 */

export interface HostAgentOptions {
  layout: Layout;
  client: AgentClient;
  version: string;
  /** --port: the port of the instance, whatever the service's default says. */
  port: number | undefined;
  address: string;
  /** --keep: releases kept on disk (else the server's number). */
  keep: number | undefined;
  project: string;
  environment: string;
  /** Environment the service and the commands inherit (SLIPWAY_* removed). */
  env: Readonly<Record<string, string | undefined>>;
  log(line: string): void;
  healthTimeoutMs?: number;
  /** Called after the first report the server accepted (a self-upgrade's confirmation). */
  onReported?: () => Promise<void> | void;
  /** Decides whether a self-upgrade to this version should be tried now (the launcher's say). */
  wantsUpgrade?: (version: { version: string; sha256: string; url: string }) => Promise<boolean>;
}

export type AgentEnd = 'stopped' | 'upgrade' | 'unauthorized';

const HOOK_TIMEOUT_MS = 30 * 60_000;
const RELEASE_PHASE_TIMEOUT_MS = 60 * 60_000;
const LOG_LIMIT = 64 * 1024;

export class AgentFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AgentFailure';
    this.code = code;
  }
}

function oneLine(text: string, max = 2000): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export class HostAgent {
  readonly #o: HostAgentOptions;
  state: AgentState = initialState();
  assignment: Assignment | null = null;
  rev = -1;
  #stopping = false;
  #retired = false;
  #end: AgentEnd = 'stopped';
  #wakeWorker: () => void = () => undefined;
  #workerWoken = false;
  #pollAbort = new AbortController();
  #healthAbort: AbortController | null = null;
  #reportDirty = false;
  #reporting: Promise<void> | null = null;
  #lastReportAt = 0;
  #reportedOnce = false;
  #lastRefusal = '';
  #exitedWhy: string | undefined;
  #crashes = 0;
  #restartAt = 0;
  #retryAt = 0;
  #failuresInRow = 0;
  #unreachableSince: number | null = null;
  #stateWrites: Promise<void> = Promise.resolve();

  constructor(options: HostAgentOptions) {
    this.#o = options;
  }

  get #layout(): Layout {
    return this.#o.layout;
  }

  /** Recovery after any stop, clean or not (see machine.ts), then the current release running again. */
  async start(): Promise<void> {
    await ensureLayout(this.#layout);
    await removeTempFiles(this.#layout);
    const saved = parseState(await readJson(this.#layout.stateJson, (line) => this.#o.log(line))) ?? initialState();
    const link = await readCurrent(this.#layout);
    const recovery = recoverState(saved, {
      link,
      processRunning: saved.process !== null && isRunning(saved.process),
      commandRunning: saved.command !== null && isRunning(saved.command),
    });
    // What is left of a service or command whose leader died: stopped too, never adopted.
    for (const ref of [saved.process, saved.command]) {
      if (ref !== null && !recovery.stop.some((r) => r.pid === ref.pid) && orphanedGroup(ref)) recovery.stop.push(ref);
    }
    for (const ref of recovery.stop) {
      const how = await stopGroup(ref, saved.process?.pid === ref.pid ? saved.process.stopTimeoutMs : 5_000);
      this.#o.log(`stopped process ${ref.pid} left from before the restart (${how})`);
    }
    if (recovery.adopt !== null) this.#o.log(`adopted the service process ${recovery.adopt.pid} of release ${recovery.adopt.releaseId}`);
    this.state = recovery.state;
    await this.#save();
  }

  /** Runs until stopped (`stop()`), told to upgrade, or refused by the server. */
  async run(signal: AbortSignal): Promise<AgentEnd> {
    const onAbort = (): void => this.stop();
    signal.addEventListener('abort', onAbort);
    const watch = setInterval(() => this.#watchProcess(), 500);
    try {
      await Promise.all([this.#poller(), this.#worker(), this.#heartbeat()]);
    } finally {
      clearInterval(watch);
      signal.removeEventListener('abort', onAbort);
    }
    if (this.#end === 'stopped') await this.#stopService('the agent stops');
    if (this.#retired) await this.#stopService('the agent was removed');
    await this.#reporting;
    await this.#save();
    return this.#end;
  }

  stop(end: AgentEnd = 'stopped'): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#end = end;
    this.#pollAbort.abort();
    this.#healthAbort?.abort();
    // A hook or release phase running now ends with the agent (its result says so).
    if (this.state.command !== null) void stopGroup(this.state.command, 2_000);
    this.#wake();
  }

  #wake(): void {
    this.#workerWoken = true;
    this.#wakeWorker();
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopping || ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: this.#pollAbort.signal });
    } catch {
      // Stopping: the sleep ends early on purpose.
      return;
    }
  }

  // --- poller ---

  async #poller(): Promise<void> {
    while (!this.#stopping) {
      const heartbeat = this.assignment?.heartbeatMs ?? 15_000;
      const wait = this.rev < 0 ? 0 : Math.max(1, Math.min(30, Math.floor(heartbeat / 1000)));
      const answer = await this.#o.client.assignment(Math.max(this.rev, 0), this.rev < 0 ? 0 : wait, this.#pollAbort.signal);
      if (this.#stopping) return;
      if (!answer.ok) {
        if (answer.status === 401 || answer.code === 'AGENT_RETIRED') {
          this.#o.log(`the server refuses this agent's credential: ${answer.message} (${answer.code})`);
          // Removed from its environment: its instance goes too. Any other refusal leaves it serving.
          this.#retired = answer.code === 'AGENT_RETIRED';
          this.stop('unauthorized');
          return;
        }
        this.#failuresInRow += 1;
        this.#unreachableSince ??= Date.now();
        const delay = backoffMs(this.#failuresInRow, Math.random());
        if (this.#failuresInRow === 1 || this.#failuresInRow % 10 === 0) this.#o.log(`cannot get the assignment (${answer.code}: ${answer.message}); the current release keeps running; next try in ${delay} ms`);
        await this.#sleep(delay);
        continue;
      }
      if (this.#unreachableSince !== null) {
        this.#o.log(`the server answers again after ${Math.round((Date.now() - this.#unreachableSince) / 1000)} s`);
        this.#unreachableSince = null;
        this.#requestReport();
      }
      this.#failuresInRow = 0;
      const before = this.assignment;
      this.assignment = answer.value;
      this.rev = answer.value.rev;
      if (before?.run?.releaseId !== answer.value.run?.releaseId) this.#healthAbort?.abort();
      if (before === null || JSON.stringify(before) !== JSON.stringify(answer.value)) this.#wake();
    }
  }

  // --- heartbeat ---

  async #heartbeat(): Promise<void> {
    while (!this.#stopping) {
      const every = this.assignment?.heartbeatMs ?? 15_000;
      await this.#sleep(Math.max(100, this.#lastReportAt + every - Date.now()));
      if (this.#stopping) return;
      if (Date.now() - this.#lastReportAt < every) continue;
      // The health the report states is measured, not remembered.
      const p = this.state.process;
      if (p !== null && this.state.current !== null && this.state.step === 'idle' && this.state.failedRelease !== this.state.current.releaseId) {
        const healthy = isRunning(p) && (await probe(p.port, this.state.current.service.health ?? DEFAULT_HEALTH_PATH));
        if (healthy !== this.state.healthy) {
          this.state.healthy = healthy;
          await this.#save();
        }
      } else if (p !== null && this.state.current !== null && this.state.failedRelease === this.state.current.releaseId && isRunning(p)) {
        // A release that failed its health check may come up later; say so when it does.
        if (await probe(p.port, this.state.current.service.health ?? DEFAULT_HEALTH_PATH)) {
          this.state.healthy = true;
          await this.#save();
        }
      }
      this.#requestReport();
      // An answered report moves lastReportAt; a failed one must not make this loop spin.
      this.#lastReportAt = Math.max(this.#lastReportAt, Date.now() - every + 1_000);
    }
  }

  // --- reporter ---

  #requestReport(): void {
    this.#reportDirty = true;
    this.#reporting ??= this.#flushReports().finally(() => {
      this.#reporting = null;
    });
  }

  async #flushReports(): Promise<void> {
    while (this.#reportDirty) {
      this.#reportDirty = false;
      const report = this.#report();
      const answer = await this.#o.client.report(report);
      if (!answer.ok) {
        if (answer.status === 0 || answer.status >= 500) return;
        const said = `the server refused a report: ${answer.message} (${answer.code})`;
        // Said once, not at every heartbeat.
        if (said !== this.#lastRefusal) this.#o.log(said);
        this.#lastRefusal = said;
        return;
      }
      this.#lastReportAt = Date.now();
      if (report.releasePhase !== undefined && this.state.releasePhase?.releaseId === report.releasePhase.releaseId) {
        this.state.releasePhase = null;
        await this.#save();
      }
      if (!this.#reportedOnce) {
        this.#reportedOnce = true;
        await this.#o.onReported?.();
      }
    }
  }

  #report(): Report {
    const s = this.state;
    const port = s.current?.port ?? this.#o.port;
    return {
      state: s.step,
      current: s.current === null ? null : { releaseId: s.current.releaseId, deploymentId: s.current.deploymentId },
      prepared: this.#prepared.slice(0, 50),
      healthy: s.healthy && s.process !== null,
      pid: s.process?.pid ?? null,
      version: this.#o.version,
      address: this.#o.address,
      ...(port !== undefined ? { port } : {}),
      ...(s.error !== null ? { error: oneLine(s.error) } : {}),
      ...(s.releasePhase !== null ? { releasePhase: { ...s.releasePhase, log: s.releasePhase.log.slice(-LOG_LIMIT) } } : {}),
    };
  }

  #prepared: string[] = [];

  async #refreshPrepared(): Promise<Set<string>> {
    const complete = await completeReleases(this.#layout);
    this.#prepared = complete.map((r) => r.id);
    return new Set(this.#prepared);
  }

  // --- worker ---

  async #worker(): Promise<void> {
    while (!this.#stopping) {
      this.#workerWoken = false;
      await this.#converge();
      if (this.#stopping) return;
      if (!this.#workerWoken) {
        const waits = [this.#retryAt, this.#restartAt].filter((t) => t > Date.now());
        const timeout = waits.length ? Math.min(...waits) - Date.now() : 60_000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeout);
          this.#wakeWorker = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wakeWorker = () => undefined;
      }
    }
  }

  async #converge(): Promise<void> {
    for (let steps = 0; steps < 20 && !this.#stopping; steps++) {
      const complete = await this.#refreshPrepared();
      const running = this.state.process !== null && isRunning(this.state.process);
      const work = nextWork(this.assignment, this.state, complete, running);
      if (work.kind === 'none') break;
      if (work.kind === 'start' && Date.now() < this.#restartAt) break;
      if (Date.now() < this.#retryAt && work.kind !== 'start') break;
      try {
        await this.#do(work);
        this.#retryAt = 0;
      } catch (err) {
        const message = err instanceof AgentFailure || err instanceof InstallError ? `${err.message} (${err.code})` : err instanceof Error ? err.message : String(err);
        this.#o.log(`${work.kind} failed: ${message}`);
        this.state.error = message;
        this.state.step = 'failed';
        this.state.switching = null;
        await this.#save();
        this.#requestReport();
        this.#retryAt = Date.now() + restartDelayMs(Math.min(6, ++this.#crashes));
        break;
      }
    }
    if (this.#stopping) return;
    await this.#prune();
    await this.#maybeUpgrade();
  }

  async #do(work: Work): Promise<void> {
    switch (work.kind) {
      case 'prepare':
        await this.#install(work.deploymentId);
        return this.#setStep(this.#restingStep());
      case 'release-phase':
        return this.#releasePhase(work);
      case 'switch':
        return this.#switchTo(work.to);
      case 'start':
        return this.#restart();
      case 'health':
        return this.#health(this.state.current as Placed);
      case 'none':
        return;
    }
  }

  async #setStep(step: AgentState['step']): Promise<void> {
    this.state.step = step;
    await this.#save();
    this.#requestReport();
  }

  /** The release directory complete on disk (downloaded and verified now when it is not), and its service spec. */
  async #install(deploymentId: string): Promise<ServiceSpec | null> {
    const marker = await readMarker(this.#layout, deploymentId);
    if (marker !== undefined) return marker.service;
    await this.#setStep('downloading');
    const answer = await this.#o.client.deployment(deploymentId);
    if (!answer.ok) throw new AgentFailure(answer.code, `cannot read deployment ${deploymentId}: ${answer.message}`);
    const deployment = answer.value;
    if (deployment.id !== deploymentId) throw new AgentFailure('BAD_ANSWER', `asked for deployment ${deploymentId}, got ${deployment.id}`);
    const dir = releaseDir(this.#layout, deploymentId);
    await mkdir(dir, { recursive: true });
    const env = this.#env(null, {}, deploymentId, this.#portFor(deployment.service));
    await this.#hook(deployment.service?.hooks?.before_install, 'before_install', dir, env, deploymentId);
    const done = await layOutRelease(this.#layout, deployment, this.#o.client, (step) => this.#setStep(step));
    await this.#hook(deployment.service?.hooks?.after_install, 'after_install', dir, env, deploymentId);
    await markComplete(this.#layout, deployment);
    this.#o.log(`deployment ${deploymentId} is on disk: ${done.downloaded} files downloaded, ${done.copied} copied from other releases, ${done.kept} kept${done.refetched ? `, ${done.refetched} fetched again after a bad download` : ''}`);
    return deployment.service;
  }

  #portFor(service: ServiceSpec | null): number {
    return this.#o.port ?? service?.port ?? DEFAULT_SERVICE_PORT;
  }

  /** The environment of the service and its commands: the agent's own minus SLIPWAY_*, config vars, PORT and the SLIPWAY_ names. */
  #env(release: RunTarget | null, vars: Record<string, string>, deploymentId: string, port: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.#o.env)) if (value !== undefined && !key.startsWith('SLIPWAY_')) env[key] = value;
    Object.assign(env, vars);
    env.PORT = String(port);
    env.SLIPWAY_DEPLOYMENT = deploymentId;
    env.SLIPWAY_PROJECT = this.assignment?.project ?? this.#o.project;
    env.SLIPWAY_ENVIRONMENT = this.assignment?.environment ?? this.#o.environment;
    if (release !== null) env.SLIPWAY_RELEASE = release.releaseId;
    return env;
  }

  /** Config vars of a release: from the server, kept in config/<release>.json (0600) to start it again offline. */
  async #vars(releaseId: string): Promise<Record<string, string>> {
    const path = join(this.#layout.config, `${releaseId}.json`);
    const answer = await this.#o.client.config(releaseId);
    if (answer.ok) {
      await writeFileAtomic(path, JSON.stringify(answer.value.vars), 0o600);
      return answer.value.vars;
    }
    const kept = (await readJson(path)) as Record<string, string> | undefined;
    if (kept !== undefined) return kept;
    // A server without config vars answers a plain 404: no vars.
    if (answer.status === 404 && answer.code !== 'RELEASE_NOT_FOUND') return {};
    throw new AgentFailure(answer.code, `cannot read the config vars of release ${releaseId}: ${answer.message}`);
  }

  async #keptVars(releaseId: string): Promise<Record<string, string>> {
    const kept = (await readJson(join(this.#layout.config, `${releaseId}.json`))) as Record<string, string> | undefined;
    return kept ?? (await this.#vars(releaseId));
  }

  async #hook(command: string | undefined, name: string, cwd: string, env: Record<string, string>, label: string): Promise<void> {
    if (command === undefined || command.length === 0) return;
    const result = await runCommand(command, cwd, env, {
      timeoutMs: HOOK_TIMEOUT_MS,
      logLimit: 4096,
      logPath: join(this.#layout.logs, `hooks-${label}.log`),
      onStart: async (ref) => {
        this.state.command = { ...ref, kind: 'hook', releaseId: null, what: name };
        await this.#save();
      },
    });
    this.state.command = null;
    await this.#save();
    if (result.exitCode !== 0) {
      const how = result.timedOut ? 'timed out' : result.exitCode === null ? `was killed (${result.signal})` : `exited with ${result.exitCode}`;
      throw new AgentFailure('HOOK_FAILED', `${name} hook ${how}: ${oneLine(result.log.slice(-500), 500)}`);
    }
  }

  async #releasePhase(work: Extract<Work, { kind: 'release-phase' }>): Promise<void> {
    await this.#install(work.deploymentId);
    const vars = await this.#vars(work.releaseId);
    // Recorded before the command starts (pid 0: not known yet), so a crash at any moment after
    // this is reported as a cut-short release phase and it is never run a second time here.
    this.state.command = { pid: 0, startTime: null, kind: 'release-phase', releaseId: work.releaseId, what: work.command };
    await this.#setStep('release-phase');
    const marker = await readMarker(this.#layout, work.deploymentId);
    const env = this.#env({ releaseId: work.releaseId, releaseNumber: 0, deploymentId: work.deploymentId }, vars, work.deploymentId, this.#portFor(marker?.service ?? null));
    this.#o.log(`release phase of ${work.releaseId}: ${work.command}`);
    const result = await runCommand(work.command, releaseDir(this.#layout, work.deploymentId), env, {
      timeoutMs: RELEASE_PHASE_TIMEOUT_MS,
      logLimit: LOG_LIMIT,
      logPath: join(this.#layout.logs, `release-phase-${work.releaseId}.log`),
      onStart: async (ref) => {
        this.state.command = { ...ref, kind: 'release-phase', releaseId: work.releaseId, what: work.command };
        await this.#save();
      },
    });
    const ok = result.exitCode === 0;
    this.#o.log(`release phase of ${work.releaseId} ${ok ? 'succeeded' : `failed (${result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`})`}`);
    this.state.command = null;
    this.state.releasePhase = { releaseId: work.releaseId, ok, exitCode: result.exitCode, log: result.log };
    this.state.releasePhasesRun = remember(this.state.releasePhasesRun, work.releaseId);
    this.state.step = 'reporting';
    await this.#save();
    this.#requestReport();
    await this.#reporting;
    await this.#setStep(this.#restingStep());
  }

  /** Where the machine rests between works: failed while the release in `current` is one that failed here. */
  #restingStep(): AgentState['step'] {
    return this.state.current !== null && this.state.failedRelease === this.state.current.releaseId ? 'failed' : 'idle';
  }

  /**
   * The switch: install (if needed) → draining (stop the old process) → before_switch →
   * switching (`current` renamed over) → start → health-checking → after_switch → reporting.
   */
  async #switchTo(run: RunTarget): Promise<void> {
    const service = (await this.#install(run.deploymentId)) ?? (this.assignment?.run?.releaseId === run.releaseId ? this.assignment.service : null);
    if (service === null) {
      this.state.failedRelease = run.releaseId;
      throw new AgentFailure('NOT_A_SERVICE', `deployment ${run.deploymentId} has no service: block in its slipway.yaml, so there is nothing to run`);
    }
    const vars = await this.#vars(run.releaseId);
    const to: Placed = { ...run, service, port: this.#portFor(service) };
    const from = this.state.current;
    this.#o.log(`switching to release ${run.releaseId} (v${run.releaseNumber}, deployment ${run.deploymentId})${from ? ` from ${from.releaseId}` : ''}`);
    this.state.switching = { from, to };
    this.state.error = null;
    await this.#setStep('draining');
    await this.#stopService(`switching to ${run.releaseId}`);

    const dir = releaseDir(this.#layout, run.deploymentId);
    const env = this.#env(run, vars, run.deploymentId, to.port);
    await this.#setStep('switching');
    try {
      await this.#hook(service.hooks?.before_switch, 'before_switch', dir, env, run.deploymentId);
    } catch (err) {
      // Nothing switched: the old release comes back up (the worker restarts it) and the server hears why.
      this.state.failedRelease = run.releaseId;
      this.state.switching = null;
      throw err;
    }
    await switchCurrent(this.#layout, run.deploymentId);
    const now = new Date();
    await utimes(markerOf(this.#layout, run.deploymentId), now, now);
    this.state.current = to;
    this.state.healthy = false;
    this.state.failedRelease = null;
    await this.#save();
    await this.#startProcess(to, env);
    this.state.switching = null;
    await this.#health(to);
  }

  async #startProcess(placed: Placed, env: Record<string, string>): Promise<void> {
    const logPath = join(this.#layout.logs, `${placed.releaseId}.log`);
    const started = await startService(placed.service.start, releaseDir(this.#layout, placed.deploymentId), env, logPath);
    this.#exitedWhy = undefined;
    const proc: RunningProcess = { pid: started.pid, startTime: started.startTime, releaseId: placed.releaseId, deploymentId: placed.deploymentId, port: placed.port, stopTimeoutMs: placed.service.stop_timeout_ms ?? DEFAULT_STOP_TIMEOUT_MS };
    this.state.process = proc;
    await this.#save();
    started.go();
    this.#o.log(`started release ${placed.releaseId} as process ${started.pid} on port ${placed.port}`);
    void started.exited.then(({ code, signal }) => {
      if (this.state.process?.pid !== proc.pid) return;
      this.#exitedWhy = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
      this.#watchProcess();
    });
  }

  async #health(placed: Placed): Promise<void> {
    await this.#setStep('health-checking');
    const proc = this.state.process as RunningProcess;
    this.#healthAbort = new AbortController();
    const result = await waitHealthy(
      placed.port,
      placed.service.health ?? DEFAULT_HEALTH_PATH,
      this.#o.healthTimeoutMs ?? 60_000,
      () => (this.#exitedWhy !== undefined ? this.#exitedWhy : isRunning(proc) ? undefined : 'it ended'),
      this.#healthAbort.signal,
    );
    this.#healthAbort = null;
    if (result === 'aborted') {
      // A new assignment (or stopping) came first: the worker decides again.
      await this.#setStep('idle');
      return;
    }
    if (result !== 'healthy') {
      const tail = await this.#logTail(placed.releaseId);
      this.state.healthy = false;
      this.state.failedRelease = placed.releaseId;
      this.state.error = `release ${placed.releaseId} is not healthy: ${result === 'timeout' ? `GET ${placed.service.health ?? DEFAULT_HEALTH_PATH} on port ${placed.port} did not answer 2xx or 3xx within ${Math.round((this.#o.healthTimeoutMs ?? 60_000) / 1000)} s` : `the process ${result.slice('exited: '.length)}`}${tail ? `; last output: ${tail}` : ''}`;
      this.#o.log(this.state.error);
      await this.#setStep('failed');
      return;
    }
    this.state.healthy = true;
    this.#crashes = 0;
    const env = this.#env(placed, await this.#keptVars(placed.releaseId), placed.deploymentId, placed.port);
    try {
      await this.#hook(placed.service.hooks?.after_switch, 'after_switch', releaseDir(this.#layout, placed.deploymentId), env, placed.deploymentId);
      this.state.error = null;
    } catch (err) {
      // The release runs and is healthy; the hook's failure is said, not undone.
      this.state.error = (err as Error).message;
    }
    this.#o.log(`release ${placed.releaseId} is healthy on port ${placed.port}`);
    await this.#setStep('reporting');
    await this.#reporting;
    await this.#setStep('idle');
  }

  async #logTail(releaseId: string): Promise<string> {
    try {
      const text = await readFile(join(this.#layout.logs, `${releaseId}.log`), 'utf8');
      return oneLine(text.slice(-400), 400);
    } catch {
      return '';
    }
  }

  /** The current release's process ended on its own (or never started here): start it again, with a growing delay. */
  async #restart(): Promise<void> {
    const placed = this.state.current as Placed;
    if (!(await isComplete(this.#layout, placed.deploymentId))) {
      this.state.current = null;
      await this.#save();
      throw new AgentFailure('RELEASE_MISSING', `release directory of ${placed.deploymentId} is gone; waiting for the server's assignment`);
    }
    if (this.state.process !== null) {
      this.#o.log(`the service process ${this.state.process.pid} of ${placed.releaseId} ended (${this.#exitedWhy ?? 'not running'}); starting it again`);
      this.#crashes += 1;
    }
    this.state.process = null;
    this.state.healthy = false;
    const env = this.#env(placed, await this.#keptVars(placed.releaseId), placed.deploymentId, placed.port);
    this.#restartAt = Date.now() + restartDelayMs(this.#crashes + 1);
    await this.#startProcess(placed, env);
    await this.#health(placed);
  }

  #watchProcess(): void {
    const p = this.state.process;
    if (p === null || this.#stopping) return;
    if (this.#exitedWhy !== undefined || !isRunning(p)) {
      if (this.state.healthy) {
        this.state.healthy = false;
        void this.#save();
        this.#requestReport();
      }
      this.#wake();
    }
  }

  async #stopService(why: string): Promise<void> {
    const p = this.state.process;
    if (p === null) return;
    const how = await stopGroup(p, p.stopTimeoutMs);
    this.#o.log(`stopped the service process ${p.pid} of ${p.releaseId} (${why}; ${how})`);
    this.state.process = null;
    this.state.healthy = false;
    await this.#save();
  }

  async #prune(): Promise<void> {
    const keep = this.#o.keep ?? this.assignment?.keep ?? 5;
    const protect = new Set<string>();
    for (const id of [this.state.current?.deploymentId, this.assignment?.run?.deploymentId, this.assignment?.prepare?.deploymentId, this.assignment?.releasePhase?.deploymentId]) {
      if (id !== undefined) protect.add(id);
    }
    const complete = await completeReleases(this.#layout);
    const remove = pruneIds(complete, keep, protect);
    const completeIds = new Set(complete.map((r) => r.id));
    // Half-laid-out directories nobody asks for any more go too.
    const stale = (await releaseDirs(this.#layout)).filter((id) => !completeIds.has(id) && !protect.has(id));
    for (const id of remove) {
      await rm(markerOf(this.#layout, id), { force: true });
      await rm(releaseDir(this.#layout, id), { recursive: true, force: true });
    }
    for (const id of stale) await rm(releaseDir(this.#layout, id), { recursive: true, force: true });
    if (remove.length) this.#o.log(`removed ${remove.length} old release${remove.length === 1 ? '' : 's'} (keeping ${keep}): ${remove.join(', ')}`);
  }

  async #maybeUpgrade(): Promise<void> {
    const wanted = this.assignment?.agentVersion ?? null;
    if (wanted === null || wanted.version === this.#o.version || this.#o.wantsUpgrade === undefined) return;
    if (this.state.step !== 'idle' && this.state.step !== 'failed') return;
    if (await this.#o.wantsUpgrade(wanted)) this.stop('upgrade');
  }

  async #save(): Promise<void> {
    // One write at a time, in order: the file always holds the newest state.
    const write = this.#stateWrites.then(() => writeFileAtomic(this.#layout.stateJson, `${JSON.stringify(this.state, null, 1)}\n`, 0o600));
    this.#stateWrites = write.catch(() => undefined);
    await write;
  }

  /** For tests and the launcher: the process the agent runs now. */
  get process(): ProcessRef | null {
    return this.state.process;
  }
}
