import { setTimeout as sleep } from 'node:timers/promises';
import type { Assignment, EnrollResponse } from '../../src/protocol/agents.ts';
import { ADMIN_TOKEN } from './server.ts';

/**
 * A lightweight simulated agent: it speaks the real agent protocol over HTTP (enroll, long-poll
 * its assignment, report) but runs nothing. Preparing is instant, a release phase and an
 * instance's health are whatever the test says. Every move is timestamped, so a test can check
 * the order the server made things happen in.
 */
export interface SimBehaviour {
  /** What the release phase does: its exit code (0: ok) and log, or `hang` (it never ends). Default: ok. */
  releasePhase?: (command: string) => { exitCode: number; log: string } | 'hang';
  /** Whether it lays out a deployment it is asked to prepare (false: it never does). Default: yes. */
  prepares?: (deploymentId: string) => boolean;
  /** How an instance of a deployment comes up: healthy, failed (reports an error), or hanging (never healthy, no error). */
  health?: (deploymentId: string) => 'healthy' | 'failed' | 'hang';
  /** How long a switch takes before the agent reports (ms). */
  switchMs?: number;
}

export interface SimEvent {
  at: number;
  what: 'prepared' | 'release-phase' | 'run' | 'healthy' | 'failed';
  releaseId?: string | undefined;
  deploymentId?: string | undefined;
}

export class SimAgent {
  readonly events: SimEvent[] = [];
  current: { releaseId: string; deploymentId: string } | null = null;
  healthy = false;
  state: 'idle' | 'health-checking' | 'failed' = 'idle';
  error: string | undefined;
  rev = 0;
  assignment: Assignment | undefined;
  private readonly prepared = new Set<string>();
  private readonly phasesRun = new Set<string>();
  private pendingPhase: { releaseId: string; ok: boolean; exitCode: number; log: string } | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private abort = new AbortController();

  private constructor(
    private readonly baseUrl: () => string,
    readonly id: string,
    readonly name: string,
    private readonly credential: string,
    readonly behaviour: SimBehaviour,
  ) {}

  /** Enrolls a new agent into `project`/`environment` (an admin asks for the token) and starts it. */
  static async enroll(baseUrl: () => string, project: string, environment: string, name: string, behaviour: SimBehaviour = {}): Promise<SimAgent> {
    const enrollment = await call<{ token: string }>(baseUrl(), 'POST', `/api/v1/projects/${project}/environments/${environment}/agents/enrollments`, ADMIN_TOKEN, {});
    const enrolled = await call<EnrollResponse>(baseUrl(), 'POST', '/api/v1/agent/enroll', null, { token: enrollment.token, name, version: 'sim-1', address: '127.0.0.1', port: 9 });
    const agent = new SimAgent(baseUrl, enrolled.agent.id, name, enrolled.credential, behaviour);
    agent.start();
    return agent;
  }

  /** Polls and reports until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.work();
  }

  /** Stops polling and reporting: to the server, it goes silent (and is lost after two heartbeats). */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  /** Times of its events of one kind, for one release. */
  timesOf(what: SimEvent['what'], releaseId?: string): number[] {
    return this.events.filter((e) => e.what === what && (releaseId === undefined || e.releaseId === releaseId)).map((e) => e.at);
  }

  private async work(): Promise<void> {
    let lastReport = 0;
    while (this.running) {
      try {
        const a = await call<Assignment>(this.baseUrl(), 'GET', `/api/v1/agent/assignment?after=${this.rev}&wait=1`, this.credential, undefined, this.abort.signal);
        this.assignment = a;
        this.rev = a.rev;
        const changed = await this.act(a);
        if (changed || Date.now() - lastReport > 500) {
          await this.report();
          lastReport = Date.now();
        }
      } catch (err) {
        if (!this.running) return;
        // The server is restarting, or refused: try again shortly, as a real agent does.
        void err;
        await sleep(100);
      }
    }
  }

  private async act(a: Assignment): Promise<boolean> {
    let changed = false;
    if (a.prepare && !this.prepared.has(a.prepare.deploymentId) && (this.behaviour.prepares?.(a.prepare.deploymentId) ?? true)) {
      this.prepared.add(a.prepare.deploymentId);
      this.events.push({ at: Date.now(), what: 'prepared', deploymentId: a.prepare.deploymentId });
      changed = true;
    }
    if (a.releasePhase && !this.phasesRun.has(a.releasePhase.releaseId)) {
      this.phasesRun.add(a.releasePhase.releaseId);
      this.events.push({ at: Date.now(), what: 'release-phase', releaseId: a.releasePhase.releaseId, deploymentId: a.releasePhase.deploymentId });
      const outcome = this.behaviour.releasePhase?.(a.releasePhase.command) ?? { exitCode: 0, log: 'migrated\n' };
      if (outcome !== 'hang') this.pendingPhase = { releaseId: a.releasePhase.releaseId, ok: outcome.exitCode === 0, exitCode: outcome.exitCode, log: outcome.log };
      changed = true;
    }
    if (a.run && a.run.releaseId !== this.current?.releaseId) {
      this.events.push({ at: Date.now(), what: 'run', releaseId: a.run.releaseId, deploymentId: a.run.deploymentId });
      this.prepared.add(a.run.deploymentId);
      this.current = { releaseId: a.run.releaseId, deploymentId: a.run.deploymentId };
      this.healthy = false;
      this.state = 'health-checking';
      this.error = undefined;
      // Unreachable now (the server restarts): the switch goes on, and a later report says how it went.
      await this.report().catch(() => undefined);
      if (this.behaviour.switchMs) await sleep(this.behaviour.switchMs);
      const health = this.behaviour.health?.(a.run.deploymentId) ?? 'healthy';
      if (health === 'healthy') {
        this.healthy = true;
        this.state = 'idle';
        this.events.push({ at: Date.now(), what: 'healthy', releaseId: a.run.releaseId, deploymentId: a.run.deploymentId });
      } else if (health === 'failed') {
        this.state = 'failed';
        this.error = `health check of ${a.run.deploymentId} failed: connection refused`;
        this.events.push({ at: Date.now(), what: 'failed', releaseId: a.run.releaseId, deploymentId: a.run.deploymentId });
      }
      changed = true;
    }
    return changed;
  }

  private async report(): Promise<void> {
    const body: Record<string, unknown> = {
      state: this.state,
      current: this.current,
      prepared: [...this.prepared].slice(-50),
      healthy: this.healthy,
      pid: this.current ? 4242 : null,
      version: 'sim-1',
    };
    if (this.error !== undefined) body.error = this.error;
    if (this.pendingPhase) body.releasePhase = this.pendingPhase;
    await call(this.baseUrl(), 'POST', '/api/v1/agent/report', this.credential, body, this.abort.signal);
    this.pendingPhase = undefined;
  }
}

async function call<T>(base: string, method: string, path: string, token: string | null, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), ...(signal ? { signal } : {}) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
