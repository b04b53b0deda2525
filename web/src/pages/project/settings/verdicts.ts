import type { ProjectActions, Verdict } from '../../../../../src/protocol/actions.ts';
import type { Role } from '../../../../../src/protocol/api.ts';
import { roleOn, type Session } from '../../../session.ts';

export type { Verdict } from '../../../../../src/protocol/actions.ts';

/** The project's actions the settings page shows (`Project.actions`, protocol/actions.ts). */
export type SettingsAction = 'edit' | 'setDefaultBranch' | 'rotateWebhookSecret' | 'manageMembers' | 'readNotifications' | 'manageNotifications' | 'delete';

type PersonRole = Exclude<Role, 'runner' | 'agent'>;

/** The least role each settings action needs (src/server/http/permissions.ts), and what it is called in a sentence. */
const NEEDS: Record<SettingsAction, { role: PersonRole; what: string }> = {
  edit: { role: 'deployer', what: 'change the repository' },
  setDefaultBranch: { role: 'admin', what: 'change the default branch' },
  rotateWebhookSecret: { role: 'deployer', what: 'rotate the webhook secret' },
  manageMembers: { role: 'admin', what: 'change members' },
  manageNotifications: { role: 'admin', what: 'change notification targets' },
  readNotifications: { role: 'deployer', what: 'see notification targets' },
  delete: { role: 'admin', what: 'delete the project' },
};

const HOLDERS: Record<PersonRole, string> = {
  viewer: 'anyone',
  deployer: 'a deployer, approver or admin',
  approver: 'an approver or admin',
  admin: 'an admin',
};

/** "Only a deployer, approver or admin can rotate the webhook secret." — the sentence each form shows. */
export function whoMay(action: SettingsAction): string {
  const need = NEEDS[action];
  return `Only ${HOLDERS[need.role]} can ${need.what}.`;
}

/**
 * The verdict of each settings action for the signed-in person: the server's
 * (`Project.actions`, src/server/services/allowed-actions.ts). A server that sends none (an
 * older one) gets the person's role on the project weighed here, in the server's words. The
 * server decides in the end: a refusal it answers anyway is shown with its code next to the form.
 */
export function settingsVerdicts(session: Pick<Session, 'can' | 'whoami'>, project: string, actions: ProjectActions | undefined): Record<SettingsAction, Verdict> {
  const byRole = (action: SettingsAction): Verdict => {
    const need = NEEDS[action];
    if (session.can(project, need.role)) return { allowed: true, reason: null, code: null };
    const role = roleOn(session.whoami, project);
    const you = role === null ? '' : `; you are ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} on this project`;
    return { allowed: false, reason: `Only ${HOLDERS[need.role]} can ${need.what}${you}`, code: 'FORBIDDEN' };
  };
  return {
    edit: actions?.edit ?? byRole('edit'),
    rotateWebhookSecret: actions?.rotateWebhookSecret ?? byRole('rotateWebhookSecret'),
    manageMembers: actions?.manageMembers ?? byRole('manageMembers'),
    manageNotifications: actions?.manageNotifications ?? byRole('manageNotifications'),
    delete: actions?.delete ?? byRole('delete'),
    setDefaultBranch: actions?.setDefaultBranch ?? byRole('setDefaultBranch'),
    readNotifications: actions?.readNotifications ?? byRole('readNotifications'),
  };
}
