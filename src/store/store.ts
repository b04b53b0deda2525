/**
 * The Store: every read and write of Slipway's state, grown by domain. Each family of tables
 * lives in one file, `store/kysely/<family>.ts`, which holds its row types, its interface
 * (`ProjectStore`, `BuildStore`, …) and `create<Family>Store(ctx)`, its implementation over
 * Kysely (the same queries on SQLite and PostgreSQL). `Store` is all families together plus the
 * base (capabilities, transaction, close); services take a `Store`, and a reader that needs one
 * family only (the edge) takes just that family's interface. Everything is imported from here.
 *
 * Adding a family, say jobs:
 *   1. write `store/kysely/jobs.ts`: rows, `export interface JobStore`, and
 *      `export function createJobStore(ctx: FamilyContext): JobStore` (ctx holds db, dialect
 *      and secrets; in a transaction ctx.db is the transaction; helpers in family-context.ts);
 *   2. add `...createJobStore(ctx),` to the composition in `store/kysely/create-store.ts`;
 *   3. add `JobStore` to `extends` of `Store` below, and re-export its row types here.
 * The compiler checks the composition against `Store`, so a missed step 2 does not build.
 *
 * Times are ISO-8601 strings in UTC on both backends; JSON columns are parsed in the families.
 */

import type { AgentStore } from './kysely/agents.ts';
import type { ApprovalStore } from './kysely/approvals.ts';
import type { BranchStore } from './kysely/branches.ts';
import type { BuildStore } from './kysely/builds.ts';
import type { CheckStore } from './kysely/checks.ts';
import type { CommitStore } from './kysely/commits.ts';
import type { ConfigStore } from './kysely/config.ts';
import type { StoreCapabilities } from './connection.ts';
import type { DeliveryStore } from './kysely/deliveries.ts';
import type { DeploymentStore } from './kysely/deployments.ts';
import type { DomainStore } from './kysely/domains.ts';
import type { EnvironmentStore } from './kysely/environments.ts';
import type { EventStore } from './kysely/events.ts';
import type { FreezeStore } from './kysely/freezes.ts';
import type { JobStore } from './kysely/jobs.ts';
import type { NotificationStore } from './kysely/notifications.ts';
import type { PipelineStore } from './kysely/pipeline.ts';
import type { ProjectStore } from './kysely/projects.ts';
import type { TokenStore } from './kysely/tokens.ts';
import type { UserStore } from './kysely/users.ts';

export type { AgentState, BuildState, DeliveryState, ReleaseKind, ReleaseState, Role, RolloutState, Rotation } from '../core/glossary.ts';
export type { StoreCapabilities } from './connection.ts';
export type { Page } from './kysely/family-context.ts';
export type {
  AgentAssignment,
  AgentChanges,
  AgentPrepareAssignment,
  AgentReleasePhaseAssignment,
  AgentReportFields,
  AgentRow,
  AgentRunAssignment,
  AgentStore,
  EnrollmentRow,
  RolloutChanges,
  RolloutRow,
  RolloutStep,
} from './kysely/agents.ts';
export { APPROVAL_DECISIONS, type ApprovalDecision, type ApprovalRow, type ApprovalStore } from './kysely/approvals.ts';
export type { BranchRow, BranchStore } from './kysely/branches.ts';
export { newQueuedBuildRow, type BuildLogRow, type BuildRow, type BuildStore } from './kysely/builds.ts';
export type { CheckReportRow, CheckRow, CheckSource, CheckStore, NewCheckReport, RecordedCheck } from './kysely/checks.ts';
export type { CommitRow, CommitStore } from './kysely/commits.ts';
export type { ConfigStore, ConfigVar, ConfigVersionRow, ReadConfigVar } from './kysely/config.ts';
export type { DeliveryPush, DeliveryStore, NewWebhookDelivery, WebhookDeliveryRow } from './kysely/deliveries.ts';
export type { DeploymentMetaRow, DeploymentPage, DeploymentRow, DeploymentStore, UploadRow } from './kysely/deployments.ts';
export type { DomainRow, DomainStore } from './kysely/domains.ts';
export { newEnvironmentRow, newReleaseRow, type EnvironmentRow, type EnvironmentStore, type LockFields, type ReleaseBatch, type ReleaseRow, type StoredPolicy } from './kysely/environments.ts';
export type { PipelineStore, PointerTarget, ReleaseChanges } from './kysely/pipeline.ts';
export type { EventFilter, EventHead, EventRow, EventStore, NewEvent } from './kysely/events.ts';
export type { FreezeRow, FreezeStore } from './kysely/freezes.ts';
export type { JobClaim, JobFailure, JobLease, JobRow, JobStore, NewJob } from './kysely/jobs.ts';
export type { NewNotifyDelivery, NewNotifyTarget, NotificationStore, NotifyAttempt, NotifyDeliveryRow, NotifyTargetRow } from './kysely/notifications.ts';
export type { ProjectRow, ProjectStore } from './kysely/projects.ts';
export type { TokenRow, TokenStore } from './kysely/tokens.ts';
export type { EmailOwner, MembershipRow, SessionRow, UserRow, UserStore } from './kysely/users.ts';

export interface StoreBase {
  readonly capabilities: StoreCapabilities;
  /** Runs `fn` in one transaction; everything it writes, in every family, lands together or not at all. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface Store
  extends StoreBase,
    ProjectStore,
    TokenStore,
    UserStore,
    DeploymentStore,
    EnvironmentStore,
    DomainStore,
    BranchStore,
    BuildStore,
    DeliveryStore,
    EventStore,
    JobStore,
    PipelineStore,
    CheckStore,
    CommitStore,
    FreezeStore,
    NotificationStore,
    ApprovalStore,
    ConfigStore,
    AgentStore {}
