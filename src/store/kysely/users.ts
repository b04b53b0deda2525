import type { Selectable, Updateable } from 'kysely';
import type { PersonRole } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

/** A person: a global role, the emails their commits carry, maybe a password for the dashboard. */
export interface UserRow {
  id: string;
  name: string;
  /** Held on every project; a membership may raise it on one. */
  role: PersonRole;
  /** `scrypt$N$r$p$salt$hash`; null: signs in with a personal token only. */
  passwordHash: string | null;
  passwordChangedAt: string | null;
  /** Failed password sign-ins since the last good one (the rate limit's memory). */
  failedSignIns: number;
  signInBlockedUntil: string | null;
  createdAt: string;
  createdBy: string;
  disabledAt: string | null;
}

export interface MembershipRow {
  projectId: string;
  userId: string;
  role: PersonRole;
  createdAt: string;
  createdBy: string;
}

export interface SessionRow {
  id: string;
  /** sha256 of the cookie's secret. */
  hash: string;
  userId: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
  revokedAt: string | null;
}

/** A commit email that belongs to a user (emails are compared lowercased). */
export interface EmailOwner {
  email: string;
  userId: string;
  name: string;
}

export interface UserStore {
  insertUser(row: UserRow): Promise<void>;
  findUserById(id: string): Promise<UserRow | undefined>;
  findUserByName(name: string): Promise<UserRow | undefined>;
  /** The user an email belongs to (any case). */
  findUserByEmail(email: string): Promise<UserRow | undefined>;
  listUsers(): Promise<UserRow[]>;
  updateUser(id: string, changes: Partial<Pick<UserRow, 'role' | 'passwordHash' | 'passwordChangedAt' | 'disabledAt' | 'failedSignIns' | 'signInBlockedUntil'>>): Promise<void>;
  /** Counts one more failed sign-in, atomically (two guesses at once count twice); returns the new count. */
  countFailedSignIn(id: string): Promise<number>;
  /** Adds emails (lowercased) to a user; a unique violation means one belongs to someone already. */
  insertUserEmails(userId: string, emails: string[], at: string): Promise<void>;
  deleteUserEmail(userId: string, email: string): Promise<boolean>;
  /** Each user's emails, lowercased, in the order they were added. */
  listUserEmails(userIds: string[]): Promise<Map<string, string[]>>;
  /** The users behind these emails; emails nobody owns are absent. */
  findUsersByEmails(emails: string[]): Promise<EmailOwner[]>;

  upsertMembership(row: MembershipRow): Promise<void>;
  deleteMembership(projectId: string, userId: string): Promise<boolean>;
  findMembership(projectId: string, userId: string): Promise<MembershipRow | undefined>;
  listMembers(projectId: string): Promise<MembershipRow[]>;
  listMembershipsOfUser(userId: string): Promise<MembershipRow[]>;

  insertSession(row: SessionRow): Promise<void>;
  findSessionByHash(hash: string): Promise<SessionRow | undefined>;
  touchSession(id: string, at: string): Promise<void>;
  revokeSession(id: string, at: string): Promise<void>;
  /** Ends every session of a user (a password change, a disable). */
  revokeSessionsOfUser(userId: string, at: string): Promise<number>;
}

export function createUserStore({ db }: Pick<FamilyContext, 'db'>): UserStore {
  return {
    async insertUser(row) {
      await db
        .insertInto('users')
        .values({
          id: row.id,
          name: row.name,
          role: row.role,
          password_hash: row.passwordHash,
          password_changed_at: row.passwordChangedAt,
          failed_sign_ins: row.failedSignIns,
          sign_in_blocked_until: row.signInBlockedUntil,
          created_at: row.createdAt,
          created_by: row.createdBy,
          disabled_at: row.disabledAt,
        })
        .execute();
    },

    async findUserById(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },

    async findUserByName(name) {
      const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toUser(row);
    },

    async findUserByEmail(email) {
      const row = await db
        .selectFrom('user_emails')
        .innerJoin('users', 'users.id', 'user_emails.user_id')
        .selectAll('users')
        .where('user_emails.email', '=', email.toLowerCase())
        .executeTakeFirst();
      return row && toUser(row);
    },

    async listUsers() {
      return (await db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
    },

    async updateUser(id, changes) {
      const set: Updateable<Database['users']> = {};
      if (changes.role !== undefined) set.role = changes.role;
      if (changes.passwordHash !== undefined) set.password_hash = changes.passwordHash;
      if (changes.passwordChangedAt !== undefined) set.password_changed_at = changes.passwordChangedAt;
      if (changes.disabledAt !== undefined) set.disabled_at = changes.disabledAt;
      if (changes.failedSignIns !== undefined) set.failed_sign_ins = changes.failedSignIns;
      if (changes.signInBlockedUntil !== undefined) set.sign_in_blocked_until = changes.signInBlockedUntil;
      if (Object.keys(set).length === 0) return;
      await db.updateTable('users').set(set).where('id', '=', id).execute();
    },

    async countFailedSignIn(id) {
      const row = await db
        .updateTable('users')
        .set((eb) => ({ failed_sign_ins: eb('failed_sign_ins', '+', 1) }))
        .where('id', '=', id)
        .returning('failed_sign_ins')
        .executeTakeFirst();
      return Number(row?.failed_sign_ins ?? 0);
    },

    async insertUserEmails(userId, emails, at) {
      if (emails.length === 0) return;
      await db
        .insertInto('user_emails')
        .values(emails.map((email) => ({ email: email.toLowerCase(), user_id: userId, created_at: at })))
        .execute();
    },

    async deleteUserEmail(userId, email) {
      const result = await db.deleteFrom('user_emails').where('user_id', '=', userId).where('email', '=', email.toLowerCase()).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listUserEmails(userIds) {
      const byUser = new Map<string, string[]>(userIds.map((id) => [id, []]));
      if (userIds.length === 0) return byUser;
      const rows = await db.selectFrom('user_emails').select(['user_id', 'email']).where('user_id', 'in', userIds).orderBy('created_at').orderBy('email').execute();
      for (const row of rows) byUser.get(row.user_id)?.push(row.email);
      return byUser;
    },

    async findUsersByEmails(emails) {
      const wanted = [...new Set(emails.map((e) => e.toLowerCase()))];
      if (wanted.length === 0) return [];
      const rows = await db
        .selectFrom('user_emails')
        .innerJoin('users', 'users.id', 'user_emails.user_id')
        .select(['user_emails.email as email', 'users.id as userId', 'users.name as name'])
        .where('user_emails.email', 'in', wanted)
        .where('users.disabled_at', 'is', null)
        .execute();
      return rows;
    },

    async upsertMembership(row) {
      await db
        .insertInto('memberships')
        .values({ project_id: row.projectId, user_id: row.userId, role: row.role, created_at: row.createdAt, created_by: row.createdBy })
        .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role: row.role }))
        .execute();
    },

    async deleteMembership(projectId, userId) {
      const result = await db.deleteFrom('memberships').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async findMembership(projectId, userId) {
      const row = await db.selectFrom('memberships').selectAll().where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
      return row && toMembership(row);
    },

    async listMembers(projectId) {
      return (await db.selectFrom('memberships').selectAll().where('project_id', '=', projectId).orderBy('created_at').execute()).map(toMembership);
    },

    async listMembershipsOfUser(userId) {
      return (await db.selectFrom('memberships').selectAll().where('user_id', '=', userId).execute()).map(toMembership);
    },

    async insertSession(row) {
      await db
        .insertInto('sessions')
        .values({
          id: row.id,
          hash: row.hash,
          user_id: row.userId,
          created_at: row.createdAt,
          expires_at: row.expiresAt,
          last_seen_at: row.lastSeenAt,
          revoked_at: row.revokedAt,
        })
        .execute();
    },

    async findSessionByHash(hash) {
      const row = await db.selectFrom('sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && toSession(row);
    },

    async touchSession(id, at) {
      await db.updateTable('sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
    },

    async revokeSession(id, at) {
      await db.updateTable('sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },

    async revokeSessionsOfUser(userId, at) {
      const result = await db.updateTable('sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}

function toUser(row: Selectable<Database['users']>): UserRow {
  return {
    id: row.id,
    name: row.name,
    role: row.role as UserRow['role'],
    passwordHash: row.password_hash,
    passwordChangedAt: row.password_changed_at,
    failedSignIns: Number(row.failed_sign_ins),
    signInBlockedUntil: row.sign_in_blocked_until,
    createdAt: row.created_at,
    createdBy: row.created_by,
    disabledAt: row.disabled_at,
  };
}

function toMembership(row: Selectable<Database['memberships']>): MembershipRow {
  return { projectId: row.project_id, userId: row.user_id, role: row.role as MembershipRow['role'], createdAt: row.created_at, createdBy: row.created_by };
}

function toSession(row: Selectable<Database['sessions']>): SessionRow {
  return {
    id: row.id,
    hash: row.hash,
    userId: row.user_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastSeenAt: row.last_seen_at,
    revokedAt: row.revoked_at,
  };
}
