import { DEFAULT_BRANCH_ROLE } from '../../../../../src/core/glossary.ts';
import type { ProjectActions, Verdict } from '../../../../../src/protocol/actions.ts';
import type { Role } from '../../../../../src/protocol/api.ts';
import { ruleOf } from '../../../../../src/protocol/permissions.ts';

export type { Verdict } from '../../../../../src/protocol/actions.ts';

/** The project's actions the settings page shows (`Project.actions`, protocol/actions.ts). */
export type SettingsAction = 'edit' | 'setDefaultBranch' | 'rotateWebhookSecret' | 'manageMembers' | 'readNotifications' | 'manageNotifications' | 'delete';

type PersonRole = Exclude<Role, 'runner' | 'agent'>;

const PROJECT = '/api/v1/projects/:project';

/**
 * The route each settings action calls, whose row of the permission table (the one the server
 * judges by) names who may use it — what each form says; and what the action is called in a sentence.
 */
const ROUTES: Record<SettingsAction, { route: string; what: string }> = {
  edit: { route: `PATCH ${PROJECT}`, what: 'change the repository' },
  setDefaultBranch: { route: `PATCH ${PROJECT}`, what: 'change the default branch' },
  rotateWebhookSecret: { route: `POST ${PROJECT}/webhook-secret/rotate`, what: 'rotate the webhook secret' },
  manageMembers: { route: `PUT ${PROJECT}/members/:user`, what: 'change members' },
  manageNotifications: { route: `POST ${PROJECT}/notifications/targets`, what: 'change notification targets' },
  readNotifications: { route: `GET ${PROJECT}/notifications/targets`, what: 'see notification targets' },
  delete: { route: `DELETE ${PROJECT}`, what: 'delete the project' },
};

const HOLDERS: Record<PersonRole, string> = {
  viewer: 'anyone',
  deployer: 'a deployer, approver or admin',
  approver: 'an approver or admin',
  admin: 'an admin',
};

function leastRole(action: SettingsAction): PersonRole {
  // The default branch decides which slipway.yaml sets policy: its service asks more than its route.
  if (action === 'setDefaultBranch') return DEFAULT_BRANCH_ROLE;
  const [method = '', url = ''] = ROUTES[action].route.split(' ');
  const role = ruleOf(method, url)?.role;
  return role === 'viewer' || role === 'deployer' || role === 'approver' || role === 'admin' ? role : 'admin';
}

/** "Only a deployer, approver or admin can rotate the webhook secret." — the sentence each form shows. */
export function whoMay(action: SettingsAction): string {
  return `Only ${HOLDERS[leastRole(action)]} can ${ROUTES[action].what}.`;
}

/** Without the server's verdict the browser judges nothing: the form waits, disabled. */
const UNKNOWN: Verdict = { allowed: false, reason: 'The server did not say whether you may do this.', code: null };

/** The verdict of each settings action for the signed-in person: the server's (`Project.actions`, src/server/services/allowed-actions.ts). */
export function settingsVerdicts(actions: ProjectActions | undefined): Record<SettingsAction | 'createServiceToken' | 'createPersonalToken', Verdict> {
  return {
    createServiceToken: actions?.createServiceToken ?? UNKNOWN,
    createPersonalToken: actions?.createPersonalToken ?? UNKNOWN,
    edit: actions?.edit ?? UNKNOWN,
    rotateWebhookSecret: actions?.rotateWebhookSecret ?? UNKNOWN,
    manageMembers: actions?.manageMembers ?? UNKNOWN,
    manageNotifications: actions?.manageNotifications ?? UNKNOWN,
    delete: actions?.delete ?? UNKNOWN,
    setDefaultBranch: actions?.setDefaultBranch ?? UNKNOWN,
    readNotifications: actions?.readNotifications ?? UNKNOWN,
  };
}
