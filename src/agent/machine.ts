import type { ProcessRef } from './process.ts';
import type { Assignment, ReportState, RunTarget, ServiceSpec } from './wire.ts';

/**
 * The agent's state machine, persisted in state.json before each step, and the pure decisions
 * over it (this file does no I/O, so each rule is unit-tested alone: test/agent-machine.test.ts).
 *
 * Steps of a switch: idle → downloading → verifying → [release-phase] → draining (the old
 * process stops) → switching (`current` renamed over) → health-checking → reporting → idle;
 * `failed` when a switch ended unhealthy or could not be made (the server decides what next).
 * A release phase runs between verifying and idle on the one agent the server gave it to.
 *
 * After `kill -9` in any step, recoverState decides from state.json, the `current` link and
 * whether the recorded processes still run: `current` is whatever the link says (the link is
 * only ever replaced by rename, so it is whole), a process that runs the release `current`
 * names is adopted, any other is stopped, and a release phase that was cut short is reported
 * failed (never silently run twice).
 */

export interface Placed extends RunTarget {
  service: ServiceSpec;
  port: number;
}

export interface RunningProcess extends ProcessRef {
  releaseId: string;
  deploymentId: string;
  port: number;
  stopTimeoutMs: number;
}

export interface RunningCommand extends ProcessRef {
  kind: 'release-phase' | 'hook';
  releaseId: string | null;
  what: string;
}

export interface ReleasePhaseResult {
  releaseId: string;
  ok: boolean;
  exitCode: number | null;
  log: string;
}

export interface AgentState {
  format: 1;
  step: ReportState;
  /** What `current` points to, and what runs (or should run) there. */
  current: Placed | null;
  /** A switch under way: where from and where to (for recovery). */
  switching: { from: Placed | null; to: Placed } | null;
  process: RunningProcess | null;
  /** A hook or release phase running now: stopped, not adopted, after a crash. */
  command: RunningCommand | null;
  /** A release phase's result the server has not acknowledged yet. */
  releasePhase: ReleasePhaseResult | null;
  /** Releases whose release phase ran here (never twice), the last few. */
  releasePhasesRun: string[];
  /** A release that ended unhealthy here: not tried again until the server asks for another. */
  failedRelease: string | null;
  healthy: boolean;
  error: string | null;
}

export function initialState(): AgentState {
  return { format: 1, step: 'idle', current: null, switching: null, process: null, command: null, releasePhase: null, releasePhasesRun: [], failedRelease: null, healthy: false, error: null };
}

const STEPS: readonly ReportState[] = ['idle', 'downloading', 'verifying', 'release-phase', 'draining', 'switching', 'health-checking', 'reporting', 'failed'];

/** A state.json as read: anything that is not a state of this format starts from scratch. */
export function parseState(value: unknown): AgentState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const state = value as Partial<AgentState>;
  if (state.format !== 1 || state.step === undefined || !STEPS.includes(state.step)) return undefined;
  return { ...initialState(), ...state };
}

export interface Found {
  /** The deployment the `current` link points to, null when there is no link. */
  link: string | null;
  /** state.process still runs (same pid and start time). */
  processRunning: boolean;
  /** state.command still runs. */
  commandRunning: boolean;
}

export interface Recovery {
  state: AgentState;
  adopt: RunningProcess | null;
  stop: ProcessRef[];
}

/** What a (re)starting agent makes of what it finds on disk; see the comment at the top. */
export function recoverState(saved: AgentState, found: Found): Recovery {
  const stop: ProcessRef[] = [];
  const candidates = [saved.switching?.to, saved.current, saved.switching?.from].filter((p): p is Placed => p !== undefined && p !== null);
  const current = found.link === null ? null : (candidates.find((p) => p.deploymentId === found.link) ?? null);
  let adopt: RunningProcess | null = null;
  if (saved.process !== null && found.processRunning) {
    if (current !== null && saved.process.releaseId === current.releaseId && saved.process.deploymentId === current.deploymentId) adopt = saved.process;
    else stop.push(saved.process);
  }
  if (saved.command !== null && found.commandRunning) stop.push(saved.command);
  let releasePhase = saved.releasePhase;
  let releasePhasesRun = saved.releasePhasesRun;
  if (saved.command?.kind === 'release-phase' && saved.command.releaseId !== null && releasePhase?.releaseId !== saved.command.releaseId) {
    releasePhase = { releaseId: saved.command.releaseId, ok: false, exitCode: null, log: 'the agent restarted while the release phase ran; it was stopped and is not run again by this agent' };
    releasePhasesRun = remember(releasePhasesRun, saved.command.releaseId);
  }
  // A crash in the middle of health-checking leaves the adopted process's health unknown: the loop checks it again.
  const healthy = adopt !== null && saved.healthy && saved.step !== 'health-checking' && saved.switching === null;
  const interrupted = saved.step !== 'idle' && saved.step !== 'failed';
  return {
    state: {
      ...saved,
      step: 'idle',
      current,
      switching: null,
      process: adopt,
      command: null,
      releasePhase,
      releasePhasesRun,
      healthy,
      error: interrupted ? `the agent restarted during ${saved.step}` : saved.error,
    },
    adopt,
    stop,
  };
}

export function remember(list: readonly string[], id: string, limit = 20): string[] {
  return [...list.filter((x) => x !== id), id].slice(-limit);
}

export type Work =
  | { kind: 'release-phase'; releaseId: string; deploymentId: string; command: string }
  | { kind: 'switch'; to: RunTarget }
  | { kind: 'start' }
  | { kind: 'health' }
  | { kind: 'prepare'; deploymentId: string }
  | { kind: 'none' };

/**
 * The next thing to do, from the assignment (null: none yet, or the server is unreachable and
 * the agent keeps what runs), the state, the deployments complete on disk and whether the
 * service process runs. Release phase first (nobody switches before it), then the switch, then
 * keeping the current release running, then preparing.
 */
export function nextWork(assignment: Assignment | null, state: AgentState, complete: ReadonlySet<string>, running: boolean): Work {
  const phase = assignment?.releasePhase ?? null;
  if (phase !== null && !state.releasePhasesRun.includes(phase.releaseId)) return { kind: 'release-phase', ...phase };
  const run = assignment?.run ?? null;
  if (run !== null && state.current?.releaseId !== run.releaseId && state.failedRelease !== run.releaseId) return { kind: 'switch', to: run };
  if (state.current !== null && (run === null || run.releaseId === state.current.releaseId || state.failedRelease === run.releaseId)) {
    if (!running) return { kind: 'start' };
    if (!state.healthy && state.failedRelease !== state.current.releaseId) return { kind: 'health' };
  }
  const prepare = assignment?.prepare ?? null;
  if (prepare !== null && !complete.has(prepare.deploymentId)) return { kind: 'prepare', deploymentId: prepare.deploymentId };
  return { kind: 'none' };
}

/** Complete releases to delete: all but the `keep` most recently used, never a protected one. */
export function pruneIds(complete: readonly { id: string; usedAt: number }[], keep: number, protect: ReadonlySet<string>): string[] {
  const sorted = [...complete].sort((a, b) => b.usedAt - a.usedAt);
  const kept = new Set(sorted.filter((r) => protect.has(r.id)).map((r) => r.id));
  for (const r of sorted) {
    if (kept.size >= keep) break;
    kept.add(r.id);
  }
  return sorted.filter((r) => !kept.has(r.id)).map((r) => r.id);
}

/** Waits between attempts to reach the server: exponential from 0.5 s to 30 s, full jitter above half. */
export function backoffMs(failures: number, random: number): number {
  const ceiling = Math.min(30_000, 500 * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** Waits before restarting a service that exited on its own: 1 s, doubling, at most 30 s. */
export function restartDelayMs(crashes: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, crashes - 1));
}
