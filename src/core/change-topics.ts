/**
 * What a change stream message says changed in a project, so that a dashboard reloads only the
 * views that show it: `environments` (pointers, locks, freezes, pins, policies, config),
 * `releases` (their states, gates, approvals, rollouts), `deployments`, `builds` (and their
 * logs), `agents` (agents, instances, health), `settings` (the project, its members, domains,
 * notification targets), `events` (anything that went into the audit log).
 */
export const CHANGE_TOPICS = ['environments', 'releases', 'deployments', 'builds', 'agents', 'settings', 'events'] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

/** By the audit action's family (the part before the first dot). */
const BY_FAMILY: Readonly<Record<string, readonly ChangeTopic[]>> = {
  release: ['releases', 'environments', 'deployments'],
  rollout: ['releases', 'environments', 'agents'],
  approvals: ['releases', 'environments'],
  lineage: ['releases', 'environments'],
  lock: ['releases', 'environments'],
  environment: ['environments', 'releases'],
  config: ['environments', 'releases'],
  deployment: ['deployments'],
  build: ['builds'],
  git: ['builds', 'deployments', 'environments'],
  hotfix: ['builds', 'releases', 'environments'],
  agent: ['agents'],
  project: ['settings', 'environments'],
  domain: ['settings'],
  notify: ['settings'],
  membership: ['settings'],
  token: ['settings'],
};

/**
 * The topics an audit event touches; every event touches `events` (the activity view). An
 * action of a family this table does not know still reaches `events`, so a new audited change
 * is seen by the activity view at least.
 */
export function topicsOfAction(action: string): ChangeTopic[] {
  const family = action.split('.', 1)[0] ?? '';
  return [...(BY_FAMILY[family] ?? []), 'events'];
}
