import type { PersonRole, Role } from '../core/glossary.ts';

/**
 * Who may call what: one row per route of the API, and nothing else decides it. A route without
 * a row does not start (route.ts checks), and test/permissions.test.ts calls every row as every
 * role on its own and on another project and compares the answer with this table.
 *
 * A row is the minimum role of the ladder (viewer < deployer < approver < admin):
 * - on a route whose URL names a project (`:project`), the caller's role *on that project* —
 *   the higher of their global role and a membership there. A token scoped to another project
 *   gets PROJECT_NOT_FOUND, as if the project did not exist;
 * - on any other route, the global role; project-scoped tokens are refused unless the row says
 *   `scoped: true` (and what such a route lists is cut down to the token's project).
 * `runner: true` lets the build runner's token call it as well (the service checks its lease);
 * `'runner'` is for the runner only, `'agent'` for a host agent only (its token reaches its own
 * environment, which the service checks); `'public'` needs no credentials at all.
 */
export type Permission = 'public' | 'runner' | 'agent' | PersonRole | { role: PersonRole; runner?: true; scoped?: true };

export const PERMISSIONS: Readonly<Record<string, Permission>> = {
  // who am I, sign-in
  'GET /api/v1/whoami': { role: 'viewer', runner: true, scoped: true },
  'POST /api/v1/session': 'public',
  'GET /api/v1/session': 'public',
  'DELETE /api/v1/session': 'public',

  // users, memberships, tokens
  'GET /api/v1/users': 'viewer',
  'POST /api/v1/users': 'admin',
  'GET /api/v1/users/:user': 'viewer',
  'PATCH /api/v1/users/:user': 'admin',
  // admin for anyone; a person for themselves (the service decides which)
  'PUT /api/v1/users/:user/password': 'viewer',
  'GET /api/v1/projects/:project/members': 'viewer',
  'PUT /api/v1/projects/:project/members/:user': 'admin',
  'DELETE /api/v1/projects/:project/members/:user': 'admin',
  // admin: every token, service tokens; anyone: their own personal tokens (the service decides)
  'GET /api/v1/tokens': 'viewer',
  'POST /api/v1/tokens': 'viewer',
  'DELETE /api/v1/tokens/:token': 'viewer',
  'GET /api/v1/events': 'viewer',
  // the dashboard's change stream: a scoped token hears of its project only (the route checks `?project=`)
  'GET /api/v1/stream': { role: 'viewer', scoped: true },

  // projects, deployments, uploads, domains
  'GET /api/v1/projects': { role: 'viewer', scoped: true },
  'POST /api/v1/projects': 'deployer',
  'GET /api/v1/projects/:project': 'viewer',
  'PATCH /api/v1/projects/:project': 'deployer',
  'DELETE /api/v1/projects/:project': 'admin',
  // who may set the webhook secret (PATCH) may have a new random one made
  'POST /api/v1/projects/:project/webhook-secret/rotate': 'deployer',
  'GET /api/v1/projects/:project/deployments': 'viewer',
  'GET /api/v1/projects/:project/deployments/:deployment': 'viewer',
  'GET /api/v1/projects/:project/deployments/:deployment/manifest': 'viewer',
  'POST /api/v1/projects/:project/uploads': { role: 'deployer', runner: true },
  'POST /api/v1/projects/:project/uploads/:upload/finalize': { role: 'deployer', runner: true },
  'PUT /api/v1/blobs/:digest': { role: 'deployer', runner: true, scoped: true },
  'POST /api/v1/blobs': { role: 'deployer', runner: true, scoped: true },
  'GET /api/v1/projects/:project/domains': 'viewer',
  'POST /api/v1/projects/:project/domains': 'deployer',
  'DELETE /api/v1/projects/:project/domains/:hostname': 'deployer',

  // environments and releases
  'GET /api/v1/projects/:project/environments': 'viewer',
  'GET /api/v1/projects/:project/environments/:environment': 'viewer',
  'POST /api/v1/projects/:project/environments/:environment/promote': 'deployer',
  'POST /api/v1/projects/:project/environments/:environment/rollback': 'deployer',
  'POST /api/v1/projects/:project/environments/:environment/lock': 'deployer',
  'POST /api/v1/projects/:project/environments/:environment/unlock': 'deployer',
  'GET /api/v1/projects/:project/environments/:environment/releases': 'viewer',
  'GET /api/v1/projects/:project/releases': 'viewer',
  'PUT /api/v1/projects/:project/environments/:environment/policy': 'admin',
  'GET /api/v1/projects/:project/pipeline': 'viewer',
  'GET /api/v1/projects/:project/releases/:release': 'viewer',
  'GET /api/v1/projects/:project/releases/:release/rollout': 'viewer',
  'POST /api/v1/projects/:project/releases/:release/rollout/abort': 'deployer',
  'GET /api/v1/projects/:project/freezes': 'viewer',
  'POST /api/v1/projects/:project/environments/:environment/freezes': 'deployer',
  'DELETE /api/v1/projects/:project/environments/:environment/freezes/:id': 'deployer',
  'DELETE /api/v1/projects/:project/environments/:environment/freezes': 'deployer',
  // config vars: anyone sees keys and fingerprints, only an admin changes them (values are never read back)
  'GET /api/v1/projects/:project/environments/:environment/config': 'viewer',
  'PATCH /api/v1/projects/:project/environments/:environment/config': 'admin',
  // an agent reads the config vars of its own environment's releases only (the service checks)
  'GET /api/v1/agent/releases/:release/config': 'agent',

  // approvals: any role reaches them; the service decides what a person's decision may do (four eyes, roles) and says why not
  'POST /api/v1/projects/:project/releases/:release/approve': 'viewer',
  'POST /api/v1/projects/:project/releases/:release/reject': 'viewer',

  // hotfixes
  'POST /api/v1/projects/:project/hotfixes': 'deployer',

  // notifications
  'GET /api/v1/projects/:project/notifications/targets': 'deployer',
  'POST /api/v1/projects/:project/notifications/targets': 'admin',
  'DELETE /api/v1/projects/:project/notifications/targets/:id': 'admin',
  'POST /api/v1/projects/:project/notifications/targets/:id/test': 'admin',
  'GET /api/v1/projects/:project/notifications/deliveries': 'deployer',

  // builds, checks, webhook deliveries, jobs
  'GET /api/v1/projects/:project/builds': 'viewer',
  'GET /api/v1/projects/:project/builds/:build': 'viewer',
  'POST /api/v1/projects/:project/builds/:build/cancel': 'deployer',
  'GET /api/v1/projects/:project/builds/:build/logs': 'viewer',
  'POST /api/v1/builds/:build/retry': 'deployer',
  'POST /api/v1/projects/:project/builds/:build/retry': 'deployer',
  'POST /api/v1/projects/:project/checks': 'deployer',
  'GET /api/v1/projects/:project/commits/:commit': 'viewer',
  'GET /api/v1/projects/:project/commits/:commit/checks': 'viewer',
  'GET /api/v1/projects/:project/commits/:commit/checks/history': 'viewer',
  'GET /api/v1/projects/:project/deliveries': 'viewer',
  'GET /api/v1/jobs': 'admin',
  'POST /api/v1/jobs/:id/retry': 'admin',

  // agents and their instances
  'POST /api/v1/projects/:project/environments/:environment/agents/enrollments': 'admin',
  'GET /api/v1/projects/:project/agents': 'viewer',
  'DELETE /api/v1/projects/:project/agents/:agent': 'admin',
  'GET /api/v1/projects/:project/instances': 'viewer',

  // the host agent: the enrollment token is the credential of enroll; the rest need the agent's own
  'POST /api/v1/agent/enroll': 'public',
  'GET /api/v1/agent/assignment': 'agent',
  'POST /api/v1/agent/report': 'agent',
  'GET /api/v1/agent/deployments/:deployment': 'agent',
  'GET /api/v1/agent/blobs/:digest': 'agent',

  // the build runner
  'POST /api/v1/runner/claim': 'runner',
  'POST /api/v1/runner/builds/:build/heartbeat': 'runner',
  'POST /api/v1/runner/builds/:build/logs': 'runner',
  'POST /api/v1/runner/builds/:build/complete': 'runner',
  'POST /api/v1/runner/builds/:build/checks': 'runner',
  'GET /api/v1/runner/builds/:build/base': 'runner',
};

export interface Rule {
  role: Role | 'public';
  runner: boolean;
  scoped: boolean;
}

/** The row of a route, spelled out; undefined for a route the table lacks. */
export function ruleOf(method: string, url: string): Rule | undefined {
  const row = PERMISSIONS[`${method} ${url}`];
  if (row === undefined) return undefined;
  if (typeof row === 'string') return { role: row, runner: row === 'runner', scoped: false };
  return { role: row.role, runner: row.runner === true, scoped: row.scoped === true };
}
