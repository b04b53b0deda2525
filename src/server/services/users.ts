import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { PersonRole } from '../../core/glossary.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { MembershipRow, ProjectRow, Store, UserRow } from '../../store/store.ts';
import { requireRole, type Principal } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { assertPasswordStrength, attemptPassword, hashPassword } from './passwords.ts';
import { getProject } from './projects.ts';

export type { PersonRole };

const USER_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,38}[a-z0-9])?$/;
// Commit emails are what git wrote, so the shape is loose; control characters and spaces never pass.
// eslint-disable-next-line no-control-regex
const EMAIL = /^[^\s@<>()",;:\u0000-\u001f\u007f]+@[^\s@<>()",;:\u0000-\u001f\u007f]+$/;

function assertUserName(name: string): string {
  if (!USER_NAME.test(name)) {
    throw new SlipwayError(ErrorCode.INVALID_NAME, `invalid user name "${name}": use 1-40 lowercase letters, digits, dots, dashes and underscores`, { kind: 'user', name });
  }
  return name;
}

/** Lowercased, checked, without duplicates. */
function normalizeEmails(emails: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of emails) {
    const email = raw.trim().toLowerCase();
    if (email.length > 254 || !EMAIL.test(email)) {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, `invalid email "${raw}"`, { email: raw });
    }
    out.add(email);
  }
  return [...out];
}

/** The principal of a signed-in user: global role, the projects their memberships raise it on. */
export async function principalOfUser(deps: ServiceDeps, user: UserRow, via: Principal['via'], credentialId: string): Promise<Principal> {
  const memberships = await deps.store.listMembershipsOfUser(user.id);
  return {
    actor: { id: user.id, name: user.name, role: user.role, userId: user.id, trigger: 'user' },
    projectRoles: new Map(memberships.map((m) => [m.projectId, m.role])),
    scope: null,
    via,
    credentialId,
  };
}

/** A user by id (`usr-…`) or by name; USER_NOT_FOUND otherwise. */
export async function requireUser(deps: Pick<ServiceDeps, 'store'>, idOrName: string): Promise<UserRow> {
  const user = idOrName.startsWith('usr-') ? await deps.store.findUserById(idOrName) : await deps.store.findUserByName(idOrName);
  if (!user) throw new SlipwayError(ErrorCode.USER_NOT_FOUND, `no user "${idOrName}"`, { user: idOrName });
  return user;
}

export async function requireProject(deps: ServiceDeps, name: string): Promise<ProjectRow> {
  return getProject(deps, name);
}

function requireGlobalAdmin(actor: Actor): void {
  requireRole(actor, 'admin');
  if (actor.projectScope !== undefined) throw new SlipwayError(ErrorCode.FORBIDDEN, 'a project-scoped token cannot manage users', { required: 'admin' });
}

export interface UserView {
  user: UserRow;
  emails: string[];
  memberships: (MembershipRow & { project: string })[];
}

async function viewOf(deps: ServiceDeps, user: UserRow): Promise<UserView> {
  const emails = (await deps.store.listUserEmails([user.id])).get(user.id) ?? [];
  const memberships = await deps.store.listMembershipsOfUser(user.id);
  const projects = new Map((await deps.store.listProjects()).map((p) => [p.id, p.name]));
  return {
    user,
    emails,
    memberships: memberships.filter((m) => projects.has(m.projectId)).map((m) => ({ ...m, project: projects.get(m.projectId) ?? m.projectId })),
  };
}

/** Inserts emails, turning a unique violation into EMAIL_TAKEN naming who has it. */
async function addEmails(tx: Store, userId: string, emails: string[], at: string): Promise<void> {
  for (const email of emails) {
    const owner = await tx.findUserByEmail(email);
    if (owner) throw new SlipwayError(ErrorCode.EMAIL_TAKEN, `${email} belongs to ${owner.id === userId ? 'this user' : owner.name} already`, { email, user: owner.name });
  }
  try {
    await tx.insertUserEmails(userId, emails, at);
  } catch (err) {
    if (isUnique(err)) throw new SlipwayError(ErrorCode.EMAIL_TAKEN, `one of ${emails.join(', ')} belongs to someone already`, { emails });
    throw err;
  }
}

function isUnique(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '23505' || (typeof e?.message === 'string' && e.message.includes('UNIQUE constraint failed'));
}

export interface CreateUserInput {
  name: string;
  emails: string[];
  role: PersonRole;
  password?: string | undefined;
}

export async function createUser(deps: ServiceDeps, actor: Actor, input: CreateUserInput): Promise<UserView> {
  requireGlobalAdmin(actor);
  const name = assertUserName(input.name);
  const emails = normalizeEmails(input.emails);
  if (input.password !== undefined) assertPasswordStrength(input.password, name);
  if (await deps.store.findUserByName(name)) throw new SlipwayError(ErrorCode.USER_EXISTS, `a user named "${name}" exists already`, { user: name });
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const now = deps.clock.now().toISOString();
  const user: UserRow = {
    id: newId('usr'),
    name,
    role: input.role,
    passwordHash,
    passwordChangedAt: passwordHash === null ? null : now,
    failedSignIns: 0,
    signInBlockedUntil: null,
    createdAt: now,
    createdBy: actor.name,
    disabledAt: null,
  };
  try {
    await deps.store.transaction(async (tx) => {
      await tx.insertUser(user);
      await addEmails(tx, user.id, emails, now);
      await recordEvent(tx, new Date(now), actor, 'user.create', { target: user.id, after: { name, role: user.role, emails, password: passwordHash !== null } });
    });
  } catch (err) {
    if (isUnique(err) && (await deps.store.findUserByName(name))) throw new SlipwayError(ErrorCode.USER_EXISTS, `a user named "${name}" exists already`, { user: name });
    throw err;
  }
  return { user, emails, memberships: [] };
}

export async function listUsers(deps: ServiceDeps, actor: Actor): Promise<{ user: UserRow; emails: string[] }[]> {
  if (actor.projectScope !== undefined) throw new SlipwayError(ErrorCode.FORBIDDEN, 'a project-scoped token cannot list users');
  const users = await deps.store.listUsers();
  const emails = await deps.store.listUserEmails(users.map((u) => u.id));
  return users.map((user) => ({ user, emails: emails.get(user.id) ?? [] }));
}

export async function getUser(deps: ServiceDeps, actor: Actor, idOrName: string): Promise<UserView> {
  if (actor.projectScope !== undefined) throw new SlipwayError(ErrorCode.FORBIDDEN, 'a project-scoped token cannot read users');
  return viewOf(deps, await requireUser(deps, idOrName));
}

export interface UpdateUserInput {
  role?: PersonRole | undefined;
  addEmails?: string[] | undefined;
  removeEmails?: string[] | undefined;
  /** true: no token or session of theirs works any more (sessions end); false: enabled again. */
  disabled?: boolean | undefined;
}

export async function updateUser(deps: ServiceDeps, actor: Actor, idOrName: string, input: UpdateUserInput): Promise<UserView> {
  requireGlobalAdmin(actor);
  const user = await requireUser(deps, idOrName);
  const add = normalizeEmails(input.addEmails ?? []);
  const remove = normalizeEmails(input.removeEmails ?? []);
  const current = (await deps.store.listUserEmails([user.id])).get(user.id) ?? [];
  for (const email of remove) {
    if (!current.includes(email)) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `${email} is not one of ${user.name}'s emails`, { email });
  }
  if (input.disabled === true && user.id === actor.userId) throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'you cannot disable yourself');
  const now = deps.clock.now();
  const at = now.toISOString();
  const changes: Parameters<Store['updateUser']>[1] = {};
  if (input.role !== undefined && input.role !== user.role) changes.role = input.role;
  if (input.disabled !== undefined && input.disabled !== (user.disabledAt !== null)) changes.disabledAt = input.disabled ? at : null;
  await deps.store.transaction(async (tx) => {
    for (const email of remove) await tx.deleteUserEmail(user.id, email);
    await addEmails(tx, user.id, add.filter((e) => !current.includes(e) || remove.includes(e)), at);
    // updateUser ignores undefined fields; disabledAt: null (enable) must pass as null.
    if (Object.keys(changes).length > 0) await tx.updateUser(user.id, changes);
    if (changes.disabledAt != null) await tx.revokeSessionsOfUser(user.id, at);
    await recordEvent(tx, now, actor, changes.disabledAt === undefined ? 'user.update' : changes.disabledAt === null ? 'user.enable' : 'user.disable', {
      target: user.id,
      before: { role: user.role, emails: current, disabled: user.disabledAt !== null },
      after: {
        role: changes.role ?? user.role,
        emails: [...current.filter((e) => !remove.includes(e)), ...add.filter((e) => !current.includes(e) || remove.includes(e))],
        disabled: changes.disabledAt === undefined ? user.disabledAt !== null : changes.disabledAt !== null,
      },
    });
  });
  return viewOf(deps, (await deps.store.findUserById(user.id)) ?? user);
}

/**
 * Sets a password: an admin for anyone, a person for themselves with their current one (when
 * they have one). Every session of that user ends; tokens stay (revoke them apart).
 */
export async function setPassword(deps: ServiceDeps, actor: Actor, idOrName: string, input: { password: string; current?: string | undefined }): Promise<void> {
  const user = await requireUser(deps, idOrName);
  const self = actor.userId === user.id;
  if (!self) requireGlobalAdmin(actor);
  // Changing one's own password proves the current one (an admin too: a stolen session must not
  // take the account over), under the same rate limit as signing in.
  if (self && user.passwordHash !== null) {
    if (input.current === undefined || !(await attemptPassword(deps, user, input.current, deps.clock.now()))) {
      throw new SlipwayError(ErrorCode.SIGN_IN_FAILED, 'the current password is wrong');
    }
  }
  assertPasswordStrength(input.password, user.name);
  const hash = await hashPassword(input.password);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.updateUser(user.id, { passwordHash: hash, passwordChangedAt: now.toISOString(), failedSignIns: 0, signInBlockedUntil: null });
    const ended = await tx.revokeSessionsOfUser(user.id, now.toISOString());
    await recordEvent(tx, now, actor, 'user.password', { target: user.id, after: { user: user.name, sessionsEnded: ended } });
  });
}

export async function listMembers(deps: ServiceDeps, project: string): Promise<(MembershipRow & { user: string })[]> {
  const row = await getProject(deps, project);
  const members = await deps.store.listMembers(row.id);
  const names = new Map((await deps.store.listUsers()).map((u) => [u.id, u.name]));
  return members.map((m) => ({ ...m, user: names.get(m.userId) ?? m.userId }));
}

/** Gives a user a role on one project (or changes it); a project admin's to do. */
export async function addMember(deps: ServiceDeps, actor: Actor, project: string, input: { user: string; role: PersonRole }): Promise<MembershipRow & { user: string }> {
  requireRole(actor, 'admin');
  const row = await getProject(deps, project);
  const user = await requireUser(deps, input.user);
  const before = await deps.store.findMembership(row.id, user.id);
  const now = deps.clock.now();
  const membership: MembershipRow = { projectId: row.id, userId: user.id, role: input.role, createdAt: before?.createdAt ?? now.toISOString(), createdBy: before?.createdBy ?? actor.name };
  await deps.store.transaction(async (tx) => {
    await tx.upsertMembership(membership);
    await recordEvent(tx, now, actor, before ? 'membership.update' : 'membership.add', {
      projectId: row.id,
      target: user.id,
      before: before ? { user: user.name, role: before.role } : null,
      after: { user: user.name, role: input.role },
    });
  });
  return { ...membership, user: user.name };
}

export async function removeMember(deps: ServiceDeps, actor: Actor, project: string, idOrName: string): Promise<void> {
  requireRole(actor, 'admin');
  const row = await getProject(deps, project);
  const user = await requireUser(deps, idOrName);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const before = await tx.findMembership(row.id, user.id);
    if (!before || !(await tx.deleteMembership(row.id, user.id))) {
      throw new SlipwayError(ErrorCode.MEMBER_NOT_FOUND, `${user.name} is not a member of ${project}`, { user: user.name, project });
    }
    await recordEvent(tx, now, actor, 'membership.remove', { projectId: row.id, target: user.id, before: { user: user.name, role: before.role } });
  });
}
