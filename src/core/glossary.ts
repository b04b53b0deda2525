/**
 * The glossary's closed sets of words, once. Protocol's `z.enum`s, the store's row types and
 * the CLI's output all derive from these lists, so a new state is added in one place.
 */

/**
 * Who may do what: viewer < deployer < approver < admin, each including the one before, held
 * globally or per project; `runner` (the build runner) and `agent` (a host agent, scoped to one
 * environment) stand apart (see release-planner.ts).
 */
export const ROLES = ['admin', 'approver', 'deployer', 'viewer', 'runner', 'agent'] as const;
export type Role = (typeof ROLES)[number];

/** The roles of the ladder: what people and service tokens hold. */
export const PERSON_ROLES = ['admin', 'approver', 'deployer', 'viewer'] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

/** What an agent says it is doing (its own state machine, src/agent). */
export const AGENT_STATES = ['idle', 'downloading', 'verifying', 'release-phase', 'draining', 'switching', 'health-checking', 'reporting', 'failed'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** Whether the edge sends an instance requests: out → in (healthy) → draining (finishing what it has) → out. */
export const ROTATIONS = ['out', 'in', 'draining'] as const;
export type Rotation = (typeof ROTATIONS)[number];

/**
 * A rollout of one release onto its environment's agents: preparing → release_phase →
 * switching → done; release phase failed → failed (nobody switched); an instance failed its
 * health check → rolling_back → rolled_back.
 */
export const ROLLOUT_STATES = ['preparing', 'release_phase', 'switching', 'rolling_back', 'done', 'failed', 'rolled_back'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** A release: one move of an environment's pointer (see release-lifecycle.ts for the transitions). */
export const RELEASE_STATES = ['pending', 'waiting', 'rolling_out', 'live', 'failed', 'rolled_back', 'canceled', 'superseded'] as const;
export type ReleaseState = (typeof RELEASE_STATES)[number];

/**
 * What a release does: `promote` puts a deployment live, `rollback` returns to one that ran
 * before, `config` runs the live deployment again with a new version of the environment's
 * config vars (a service environment; gated like a rollback, but locks and freezes hold it).
 */
export const RELEASE_KINDS = ['promote', 'rollback', 'config'] as const;
export type ReleaseKind = (typeof RELEASE_KINDS)[number];

export const BUILD_STATES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type BuildState = (typeof BUILD_STATES)[number];

/** `stale`: its push named a `before` that was not the branch's recorded head, so it moved nothing. */
export const DELIVERY_STATES = ['pending', 'done', 'failed', 'stale'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** A check on a commit, from outside CI, a GitHub status/check run, or Slipway's own test step. */
export const CHECK_STATES = ['pending', 'success', 'failure'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

/** How an environment treats its required checks: wait for green (`gate`) or go live and roll back on red (`parallel`). */
export const ENVIRONMENT_MODES = ['gate', 'parallel'] as const;
export type EnvironmentMode = (typeof ENVIRONMENT_MODES)[number];

/** A job of the durable queue: queued (maybe for later), running under a lease, done, or dead after its last try. */
export const JOB_STATES = ['queued', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Changing a project's default branch changes which slipway.yaml sets policy: it needs more than the PATCH route's role. */
export const DEFAULT_BRANCH_ROLE: PersonRole = 'admin';
