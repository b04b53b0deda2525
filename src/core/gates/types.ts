import type { CheckState, EnvironmentMode, ReleaseKind, Role } from '../glossary.ts';

/**
 * The words of the gate evaluator. A gate looks at a candidate (a deployment proposed for an
 * environment), the environment's policy and facts the service read from the store, and says
 * pass, wait (with why, and maybe when to look again) or fail. Gates never read a clock or a
 * store themselves: everything arrives as an argument, so a verdict is reproducible.
 */

export const GATE_KINDS = ['lock', 'freeze', 'window', 'pin', 'lineage', 'soak', 'checks', 'max_commits', 'requires', 'approvals', 'queue'] as const;
export type GateKind = (typeof GATE_KINDS)[number];

/** Stable codes of gate reasons; the CLI and dashboard may branch on them, never on messages. */
export const GateCode = {
  ENVIRONMENT_LOCKED: 'ENVIRONMENT_LOCKED',
  ENVIRONMENT_PINNED: 'ENVIRONMENT_PINNED',
  LINEAGE_VIOLATION: 'LINEAGE_VIOLATION',
  CHECKS_UNAVAILABLE: 'CHECKS_UNAVAILABLE',
  CHECK_FAILED: 'CHECK_FAILED',
  CHECKS_PENDING: 'CHECKS_PENDING',
  MAX_COMMITS: 'MAX_COMMITS',
  REQUIRES_PENDING: 'REQUIRES_PENDING',
  QUEUED: 'QUEUED',
  FROZEN: 'FROZEN',
  OUTSIDE_WINDOW: 'OUTSIDE_WINDOW',
  WINDOW_INVALID: 'WINDOW_INVALID',
  SOAKING: 'SOAKING',
  SOAK_INCOMPLETE: 'SOAK_INCOMPLETE',
  APPROVALS_PENDING: 'APPROVALS_PENDING',
} as const;
export type GateCode = (typeof GateCode)[keyof typeof GateCode];

export interface GateReason {
  gate: GateKind;
  code: string;
  /** A sentence for a person, shown as is by `slipway pipeline`. */
  message: string;
  details?: Record<string, unknown>;
}

export type GateCheck =
  | { status: 'pass' }
  | { status: 'wait'; reason: GateReason; recheckAt?: string }
  | { status: 'fail'; reason: GateReason };

export type GateVerdict =
  | { outcome: 'pass' }
  /** `recheckAt`: the earliest of the waits' times, if any wait has one; otherwise an event wakes it. */
  | { outcome: 'wait'; reasons: GateReason[]; recheckAt?: string }
  /** The first failing gate; a fail wins over any waits. */
  | { outcome: 'fail'; reason: GateReason };

export interface EnvironmentPolicy {
  /** Branch whose successful builds propose releases here. */
  follows: string | null;
  /** Upstream environment a deployment must have been live in (lineage). */
  from: string | null;
  /** Take each candidate that passes the gates without a person. */
  auto: boolean;
  /** Required check names of the candidate's commit. */
  checks: string[];
  mode: EnvironmentMode;
  /** Automation waits for a person when a release brings more commits than this. */
  maxCommits: number;
  /** Project names whose same environment must go first. */
  requires: string[];
  /** Deploy windows (`Mon-Thu 09:00-16:00 Europe/Berlin`): releases go live only inside one; none = any time. */
  windows: string[];
  /** `allow`: expedited releases (hotfixes) go live outside the deploy windows; `hold` (default): windows hold them too. */
  expedite: 'allow' | 'hold';
  /** With `from`: how long the candidate must have been live upstream, without interruption (0: no soak). */
  soakMs: number;
  /** Who must sign off a release before it goes live (see gates/approvals.ts). */
  approvals: ApprovalPolicy;
  /** How a service's release switches its instances (agents); static sites ignore it. */
  rollout: RolloutPolicy;
}

/**
 * `environments.<env>.rollout` of slipway.yaml. Instances switch in batches of
 * `maxUnavailable` (a count, or a percentage of the environment's instances such as `"25%"`,
 * at least one); each leaves rotation first and gets `drainMs` for its requests in flight;
 * one that is not healthy `healthTimeoutMs` after its switch stops the rollout and sends back
 * every switched instance. Agents that have not laid the release out `prepareTimeoutMs` after
 * the rollout began, or a release phase not finished `releaseTimeoutMs` after its lease was
 * given, fail it (nobody switched yet).
 */
export interface RolloutPolicy {
  maxUnavailable: number | `${number}%`;
  drainMs: number;
  healthTimeoutMs: number;
  prepareTimeoutMs: number;
  releaseTimeoutMs: number;
}

export const DEFAULT_ROLLOUT: Readonly<RolloutPolicy> = Object.freeze({
  maxUnavailable: 1,
  drainMs: 10_000,
  healthTimeoutMs: 60_000,
  prepareTimeoutMs: 10 * 60_000,
  releaseTimeoutMs: 30 * 60_000,
});

/** How many instances of `total` may be switching at once: at least one, never more than all. */
export function batchSize(maxUnavailable: RolloutPolicy['maxUnavailable'], total: number): number {
  const wanted = typeof maxUnavailable === 'number' ? maxUnavailable : Math.floor((total * Number(maxUnavailable.slice(0, -1))) / 100);
  return Math.max(1, Math.min(Math.max(total, 1), wanted));
}

/** The roles of the ladder an approval policy may name (viewer < deployer < approver < admin). */
export const LADDER_ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const satisfies readonly Role[];
export type LadderRole = (typeof LADDER_ROLES)[number];

export interface ApprovalPolicy {
  /** Different people (not an author of the batch, not who proposed it) who must approve; 0: none. */
  count: number;
  /** Who counts: an effective role on the project of at least the lowest listed. */
  roles: LadderRole[];
  /** `all`: every author of a commit in the batch approves (an approver signs for authors with no user). */
  authors: 'all' | null;
}

export const DEFAULT_APPROVALS: Readonly<ApprovalPolicy> = Object.freeze({ count: 0, roles: ['approver' as const], authors: null });

export const DEFAULT_MAX_COMMITS = 8;

/** An environment nobody configured: moved only by people, gated by nothing but lock and pin. */
export const DEFAULT_POLICY: Readonly<EnvironmentPolicy> = Object.freeze({
  follows: null,
  from: null,
  auto: false,
  checks: [],
  mode: 'gate',
  maxCommits: DEFAULT_MAX_COMMITS,
  requires: [],
  windows: [],
  expedite: 'hold',
  soakMs: 0,
  approvals: DEFAULT_APPROVALS,
  rollout: DEFAULT_ROLLOUT,
});

export interface Candidate {
  /** Absent: a promotion. A `config` release passes only the gates of CONFIG_GATES (evaluate.ts). */
  kind?: ReleaseKind | undefined;
  deploymentId: string;
  commit: string | null;
  branch: string | null;
  trigger: 'user' | 'automation';
  /** Admin break-glass with a reason: passes lock, freeze, window and lineage, never checks. */
  forced: boolean;
  /** A hotfix's build (core/hotfix.ts): no soak, no place in the queue, windows only where the policy does not `expedite: allow`. */
  expedited?: boolean | undefined;
  /** Commits between what the environment runs and the candidate; `truncated` when not all are known. */
  batch: { count: number; truncated: boolean };
}

export type Lineage = 'live' | 'was_live' | 'rolled_back' | 'never';

export interface RequiredRelease {
  project: string;
  environment: string;
  satisfied: boolean;
  /** What it waits for, e.g. "infra dpl-… (staging v4)"; null when it cannot be named. */
  needs: string | null;
}

export interface GateFacts {
  environment: {
    name: string;
    deploymentId: string | null;
    pinnedBy: string | null;
    lockedBy: string | null;
    lockedReason: string | null;
    lockedAt: string | null;
    lockedUntil: string | null;
  };
  /** With policy.from: what became of the candidate's deployment upstream. */
  upstream: {
    name: string;
    lineage: Lineage;
    /** When the candidate last went live upstream, and when that stopped (null: still live there). */
    liveAt?: string | null | undefined;
    endedAt?: string | null | undefined;
  } | null;
  /** Current check states of the candidate's commit (all known names). */
  checks: Record<string, { state: CheckState; url: string | null }>;
  /** One per policy.requires entry. */
  requires: RequiredRelease[];
  /** An older open release of this environment that goes first (FIFO), if any. */
  queueAhead: { number: number } | null;
  /** Freezes of the environment that have not ended (current or to come). */
  freezes: Freeze[];
  /** With an approval policy: who authored the batch and who approved this release. */
  approvals: ApprovalFacts;
}

/** One distinct author (by lowercased email) of the batch's commits, and the user that email belongs to. */
export interface BatchAuthor {
  email: string;
  name: string | null;
  userId: string | null;
  userName: string | null;
}

/** An approval given to this release (an approval binds to one release and is never carried to another). */
export interface GivenApproval {
  userId: string;
  userName: string;
  /** The approver's effective role on the project when they approved. */
  role: Role;
  /** The unmapped author email signed for; null for the approver's own approval. */
  forEmail: string | null;
}

export interface ApprovalFacts {
  authors: BatchAuthor[];
  /** Commits of the batch whose author Slipway does not know (never recorded, or beyond the walk). */
  unknownCommits: number;
  given: GivenApproval[];
  /** The user who proposed the release; null for automation or a service token. */
  createdById: string | null;
}

export const NO_APPROVAL_FACTS: Readonly<ApprovalFacts> = Object.freeze({ authors: [], unknownCommits: 0, given: [], createdById: null });

/** A span of time in which nothing goes live in an environment but an admin's forced release. */
export interface Freeze {
  id: string;
  /** ISO times; `from` inclusive, `until` exclusive. */
  from: string;
  until: string;
  reason: string;
  createdBy: string;
}

/** One gate kind: a pure look at the candidate. */
export type Gate = (candidate: Candidate, policy: EnvironmentPolicy, facts: GateFacts, now: Date) => GateCheck;

export const PASS: GateCheck = Object.freeze({ status: 'pass' });

/** How a candidate is named in messages: its short commit, or its deployment id without one. */
export function candidateLabel(candidate: Pick<Candidate, 'commit' | 'deploymentId'>): string {
  return candidate.commit === null ? candidate.deploymentId : candidate.commit.slice(0, 7);
}
