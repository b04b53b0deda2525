import { hostname } from 'node:os';
import { ApiError, SlipwayClient } from '../../protocol/client.ts';
import { resolveConnection } from '../config.ts';
import { CliError, connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { readGitPushTokens, saveGitPushToken } from '../git-push-tokens.ts';

export interface GitRemoteOptions {
  project?: string | undefined;
  /** `--no-token` sets it to false. */
  token?: boolean | undefined;
  json?: boolean | undefined;
}

/** The token a remote URL carries, and how it came to be. */
export interface PushToken {
  id: string;
  name: string;
  role: 'deployer';
  /** `created`: minted now; `reused`: the one an earlier run made on this machine; `own`: the login's token, already a deployer. */
  source: 'created' | 'reused' | 'own';
}

/** The token name git-remote uses on this machine. */
export function gitPushTokenName(): string {
  return `git-push@${hostname()}`.slice(0, 100);
}

/**
 * Prints the project's git URL, by default with a deployer token as the password so that
 * `git remote add slipway "$(slipway git-remote -p web)"` and `git push slipway main` work
 * without a prompt. git keeps that URL in `.git/config`, so it never carries more than pushing
 * needs: an admin login gets a deployer token of its own, `git-push@<hostname>`, created once
 * and reused by later runs on this machine; a deployer login's token is used as it is.
 * `--no-token` prints the bare URL for a credential helper instead.
 */
export const gitRemote: Command<GitRemoteOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const status = await client.getProjectStatus(project);
  const url = new URL(status.project.gitUrl || `${client.url}/git/${encodeURIComponent(project)}.git`);
  let token: PushToken | undefined;
  if (options.token !== false) {
    const pushing = await pushToken(client, ctx.env);
    token = pushing.token;
    url.username = 'slipway';
    url.password = pushing.secret;
  }
  if (options.json) {
    ctx.out.json({ project, url: url.toString(), token: token ?? null });
    return ExitCode.OK;
  }
  if (token) ctx.out.note(describe(token));
  ctx.out.note(`git remote add slipway "$(slipway git-remote --project ${project}${options.token === false ? ' --no-token' : ''})" && git push slipway main`);
  ctx.out.line(url.toString());
  return ExitCode.OK;
};

function describe(token: PushToken): string {
  const stored = 'git stores it in .git/config; --no-token prints the URL without it';
  if (token.source === 'own') return `This URL holds your own token ${token.name} (deployer); ${stored}.`;
  const how = token.source === 'created' ? 'Created' : 'Reused';
  return `${how} deployer token ${token.name} (${token.id}) for this URL; ${stored}. Revoke it with: slipway tokens revoke ${token.id}`;
}

async function pushToken(client: SlipwayClient, env: Readonly<Record<string, string | undefined>>): Promise<{ token: PushToken; secret: string }> {
  const connection = await resolveConnection(env);
  if (!connection.ok) throw new CliError(connection.code, connection.message);
  const who = await client.whoami();
  const me = who.token ?? { id: who.actor.id ?? '', name: who.actor.name, role: who.actor.role, user: null };
  // A person's own token pushes with their roles on the project; so does a deployer service token.
  if (me.user !== null || me.role === 'deployer') return { token: { id: me.id, name: me.name, role: 'deployer', source: 'own' }, secret: connection.token };
  if (me.role !== 'admin') {
    throw new CliError(
      'FORBIDDEN',
      `pushing needs a deployer token and ${me.name} is a ${me.role} token; ask an admin for one, or use --no-token and give it to git when it asks`,
    );
  }
  const name = gitPushTokenName();
  const saved = (await readGitPushTokens(env))[client.url];
  if (saved?.name === name) {
    // Still valid (not revoked) and still the deployer token it was saved as: reuse it.
    const check = await new SlipwayClient({ url: client.url, token: saved.secret }).whoami().catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') return undefined; // revoked: make a new one
      throw err;
    });
    if (check?.token?.id === saved.id && check.token.role === 'deployer') {
      return { token: { id: saved.id, name, role: 'deployer', source: 'reused' }, secret: saved.secret };
    }
  }
  const created = await client.createToken({ name, role: 'deployer' });
  await saveGitPushToken(env, client.url, { id: created.token.id, name, secret: created.secret });
  return { token: { id: created.token.id, name, role: 'deployer', source: 'created' }, secret: created.secret };
}
