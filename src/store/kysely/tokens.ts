import type { Selectable } from 'kysely';
import type { Role } from '../../core/glossary.ts';
import type { Database } from '../schema.ts';
import type { FamilyContext } from './family-context.ts';

export interface TokenRow {
  id: string;
  name: string;
  role: Role;
  hash: string;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** The user a personal token acts as (with that user's roles); null for a service token. */
  userId: string | null;
  /** A token scoped to one project reaches nothing else; null: every project its role reaches. */
  projectId: string | null;
  /** After this the token is refused; null: until revoked. */
  expiresAt: string | null;
  /** The agent an `agent` token speaks for; null for every other token. */
  agentId?: string | null;
}

export interface TokenStore {
  insertToken(row: TokenRow): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenRow | undefined>;
  findTokenById(id: string): Promise<TokenRow | undefined>;
  listTokens(): Promise<TokenRow[]>;
  countTokens(): Promise<number>;
  touchToken(id: string, at: string): Promise<void>;
  revokeToken(id: string, at: string): Promise<void>;
}

export function createTokenStore({ db }: FamilyContext): TokenStore {
  return {
    async insertToken(row) {
      await db
        .insertInto('tokens')
        .values({
          id: row.id,
          name: row.name,
          role: row.role,
          hash: row.hash,
          created_at: row.createdAt,
          created_by: row.createdBy,
          last_used_at: row.lastUsedAt,
          revoked_at: row.revokedAt,
          user_id: row.userId,
          project_id: row.projectId,
          expires_at: row.expiresAt,
          agent_id: row.agentId ?? null,
        })
        .execute();
    },

    async findTokenByHash(hash) {
      const row = await db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && toToken(row);
    },

    async findTokenById(id) {
      const row = await db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toToken(row);
    },

    async listTokens() {
      return (await db.selectFrom('tokens').selectAll().orderBy('created_at').execute()).map(toToken);
    },

    async countTokens() {
      const row = await db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async touchToken(id, at) {
      await db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },

    async revokeToken(id, at) {
      await db.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
  };
}

function toToken(row: Selectable<Database['tokens']>): TokenRow {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    hash: row.hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    userId: row.user_id,
    projectId: row.project_id,
    expiresAt: row.expires_at,
    agentId: row.agent_id,
  };
}
