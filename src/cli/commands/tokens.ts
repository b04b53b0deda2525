import { Role } from '../../protocol/api.ts';
import { connect, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

export interface TokensOptions {
  json?: boolean | undefined;
}

export const listTokens: Command<TokensOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const result = await client.listTokens();
  if (options.json) {
    ctx.out.json(result);
    return ExitCode.OK;
  }
  ctx.out.table(
    ['ID', 'NAME', 'ROLE', 'USER', 'PROJECT', 'EXPIRES', 'CREATED', 'BY', 'LAST USED', 'REVOKED'],
    result.tokens.map((t) => [
      t.id,
      t.name,
      t.user === null ? t.role : `(${t.role})`,
      t.user ?? '-',
      t.project ?? 'all',
      formatTime(t.expiresAt),
      formatTime(t.createdAt),
      t.createdBy,
      formatTime(t.lastUsedAt),
      formatTime(t.revokedAt),
    ]),
  );
  return ExitCode.OK;
};

export interface CreateTokenOptions {
  name?: string | undefined;
  role?: string | undefined;
  user?: string | undefined;
  project?: string | undefined;
  expires?: string | undefined;
  json?: boolean | undefined;
}

/** The secret exists only in this answer: the server keeps a hash. Last stdout line = secret. */
export const createToken: Command<CreateTokenOptions> = async (options, ctx) => {
  if (!options.name?.trim()) throw usage('missing --name <name>');
  const role = options.role === undefined ? undefined : Role.safeParse(options.role);
  if (role !== undefined && !role.success) throw usage(`--role must be one of ${Role.options.join(', ')}`);
  const client = await connect(ctx);
  const created = await client.createToken({
    name: options.name,
    ...(role === undefined ? {} : { role: role.data }),
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(options.expires === undefined ? {} : { expires: options.expires }),
  });
  if (options.json) {
    ctx.out.json(created);
    return ExitCode.OK;
  }
  const t = created.token;
  const what = t.user === null ? `${t.role} service token` : `personal token of ${t.user}`;
  const limits = [t.project === null ? '' : `project ${t.project} only`, t.expiresAt === null ? '' : `until ${formatTime(t.expiresAt)}`].filter(Boolean).join(', ');
  ctx.out.line(`Created ${what} ${t.id} (${t.name}${limits === '' ? '' : `; ${limits}`}). Its secret is shown only this once:`);
  ctx.out.line(created.secret);
  return ExitCode.OK;
};

export interface RevokeTokenOptions {
  id: string;
  json?: boolean | undefined;
}

export const revokeToken: Command<RevokeTokenOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const token = await client.revokeToken(options.id);
  if (options.json) ctx.out.json(token);
  else ctx.out.line(`Revoked token ${token.id} (${token.name}).`);
  return ExitCode.OK;
};
