import type { Role } from '../../../../../src/protocol/api.ts';
import { roleOn, type Session } from '../../../session.ts';

/** Whether the signed-in person may do one thing, and why not (a person's sentence, and the code the API would answer). */
export interface Verdict {
  allowed: boolean;
  reason: string | null;
  code: string | null;
}

export type SettingsAction = 'edit' | 'setDefaultBranch' | 'rotateWebhookSecret' | 'manageMembers' | 'manageNotifications' | 'readNotifications' | 'delete';

/** The least role each settings action needs (src/server/http/permissions.ts), and what it is called in a refusal. */
const NEEDS: Record<SettingsAction, { role: Exclude<Role, 'runner' | 'agent'>; what: string }> = {
  edit: { role: 'deployer', what: 'change the repository' },
  setDefaultBranch: { role: 'admin', what: 'change the default branch' },
  rotateWebhookSecret: { role: 'deployer', what: 'rotate the webhook secret' },
  manageMembers: { role: 'admin', what: 'change members' },
  manageNotifications: { role: 'admin', what: 'change notification targets' },
  readNotifications: { role: 'deployer', what: 'see notification targets' },
  delete: { role: 'admin', what: 'delete the project' },
};

const WHO: Record<Exclude<Role, 'runner' | 'agent'>, string> = {
  viewer: 'Anyone',
  deployer: 'Only a deployer, approver or admin',
  approver: 'Only an approver or admin',
  admin: 'Only an admin',
};

/** "Only a deployer, approver or admin can rotate the webhook secret." — the sentence each form shows. */
export function whoMay(action: SettingsAction): string {
  const need = NEEDS[action];
  return `${WHO[need.role]} can ${need.what}.`;
}

/**
 * The verdict of each settings action for the signed-in person on `project`, from their role
 * there (a global role raised by a membership). The server decides in the end: a refusal it
 * answers anyway is shown with its code next to the form.
 */
export function settingsVerdicts(session: Pick<Session, 'can' | 'whoami'>, project: string): Record<SettingsAction, Verdict> {
  const role = roleOn(session.whoami, project);
  const verdicts = {} as Record<SettingsAction, Verdict>;
  for (const [action, need] of Object.entries(NEEDS) as [SettingsAction, (typeof NEEDS)[SettingsAction]][]) {
    const allowed = session.can(project, need.role);
    verdicts[action] = allowed
      ? { allowed, reason: null, code: null }
      : { allowed, reason: `${WHO[need.role]} can ${need.what}${role === null ? '' : `; you are a ${role} here`}.`, code: 'FORBIDDEN' };
  }
  return verdicts;
}
