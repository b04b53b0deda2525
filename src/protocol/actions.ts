import { z } from 'zod';

/**
 * What the person asking may do, as the server judges it. The rules live in one place on the
 * server (server/services/allowed-actions.ts); clients show these verdicts and never decide
 * themselves. Every name below is stable: a client may look an action up by it.
 *
 * A verdict judges the plain call of the route behind the action (no `force`): `allowed: false`
 * means that call would answer with `code`, and `reason` says why for a person. `breakGlass`
 * marks a refusal an admin may still go past with `force` and a reason (a lock, a freeze, a
 * closed window, lineage).
 */
export const Verdict = z.object({
  allowed: z.boolean(),
  /** Why not, for a person ("Only a deployer, approver or admin can promote", "staging has no earlier deployment to roll back to"); null when allowed. */
  reason: z.string().nullable(),
  /** The error code the route would answer (FORBIDDEN, ENVIRONMENT_LOCKED, APPROVAL_NOT_ALLOWED …); null when allowed. */
  code: z.string().nullable(),
  /** Refused as asked, but this caller may force it with a reason (admin break-glass). */
  breakGlass: z.boolean().optional(),
});
export type Verdict = z.infer<typeof Verdict>;

/**
 * A project's actions, each the route it calls:
 * - `edit`: PATCH the project (repository, webhook secret);
 * - `setDefaultBranch`: PATCH the project's default branch (admin: it decides which slipway.yaml sets policy);
 * - `rotateWebhookSecret`: have the server make a new webhook secret (POST …/webhook-secret/rotate);
 * - `manageMembers`: PUT / DELETE a member;
 * - `readNotifications`: list notification targets and their deliveries;
 * - `manageNotifications`: add, remove and test notification targets;
 * - `delete`: DELETE the project;
 * - `enrollAgents`: make an agent enrollment token for one of its environments;
 * - `removeAgents`: DELETE an agent;
 * - `addDomain` / `removeDomain`: map or unmap a custom domain;
 * - `retryBuilds`: POST /api/v1/projects/:project/builds/:build/retry (a failed or canceled build's own state is the build's);
 * - `cancelBuilds`: cancel a queued or running build;
 * - `promote`: promote one of its deployments into some environment, a new one included (the role
 *   only: each environment's own `promote` says what holds that one);
 * - `createServiceToken` / `createPersonalToken`: make a token (POST /api/v1/tokens) for this
 *   project: a service token is a global admin's; a personal token is any user's own; a
 *   project-scoped token makes neither.
 */
export const PROJECT_ACTIONS = [
  'edit',
  'setDefaultBranch',
  'rotateWebhookSecret',
  'manageMembers',
  'readNotifications',
  'manageNotifications',
  'delete',
  'enrollAgents',
  'removeAgents',
  'addDomain',
  'removeDomain',
  'retryBuilds',
  'cancelBuilds',
  'promote',
  'createServiceToken',
  'createPersonalToken',
] as const;
export type ProjectAction = (typeof PROJECT_ACTIONS)[number];

/**
 * An environment's actions:
 * - `promote`: a person's promotion into it (role, lock, freeze, deploy window; lineage and
 *   "already live" depend on the deployment, so a release's own `promote` says those);
 * - `rollback`: back to the release before the current one (role, something to go back to, lock);
 * - `lock` / `unlock`: take a lock / lift it (someone else's: an admin, with force and a reason);
 * - `freeze` / `unfreeze`: start a freeze / lift one that has not ended;
 * - `setConfig`: change its config vars; `setPolicy`: set its policy.
 */
export const ENVIRONMENT_ACTIONS = ['promote', 'rollback', 'lock', 'unlock', 'freeze', 'unfreeze', 'setConfig', 'setPolicy'] as const;
export type EnvironmentAction = (typeof ENVIRONMENT_ACTIONS)[number];

/**
 * A release's actions:
 * - `approve`: the caller's own approval (not signing for another author): waiting, not decided
 *   by them already, and satisfying something (four eyes, the role that counts, authors: all);
 * - `reject`: with a reason, while it waits (the role that counts, or an author under authors: all);
 * - `promote`: promote its deployment into its environment now (lock, already live, lineage,
 *   freeze, deploy window);
 * - `abortRollout`: stop its rollout with a reason (POST …/releases/:release/rollout/abort): the
 *   role, and a rollout that runs and is not already going back.
 */
export const RELEASE_ACTIONS = ['approve', 'reject', 'promote', 'abortRollout'] as const;
export type ReleaseAction = (typeof RELEASE_ACTIONS)[number];

function actionsOf<const A extends readonly string[]>(names: A) {
  return z.object(Object.fromEntries(names.map((name) => [name, Verdict])) as { [K in A[number]]: typeof Verdict });
}

export const ProjectActions = actionsOf(PROJECT_ACTIONS);
export type ProjectActions = z.infer<typeof ProjectActions>;

export const EnvironmentActions = actionsOf(ENVIRONMENT_ACTIONS);
export type EnvironmentActions = z.infer<typeof EnvironmentActions>;

export const ReleaseActions = actionsOf(RELEASE_ACTIONS);
export type ReleaseActions = z.infer<typeof ReleaseActions>;

/** What a person may do beyond any one project (on `GET /api/v1/whoami`): `createProject`. */
export const GLOBAL_ACTIONS = ['createProject'] as const;
export const GlobalActions = actionsOf(GLOBAL_ACTIONS);
export type GlobalActions = z.infer<typeof GlobalActions>;
