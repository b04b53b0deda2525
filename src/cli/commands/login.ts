import type { Whoami } from '../../protocol/api.ts';
import { SlipwayClient } from '../../protocol/client.ts';
import { writeConfig } from '../config.ts';
import { hostname } from 'node:os';
import { CliError, connect, usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface LoginOptions {
  url: string;
  token?: string | undefined;
  email?: string | undefined;
  passwordStdin?: boolean | undefined;
  expires?: string | undefined;
  json?: boolean | undefined;
}

/**
 * With email and password: signs in as the dashboard does, makes a personal token for this
 * machine with that session (90 days unless --expires says otherwise), and signs out again — the
 * password itself is never saved.
 */
async function tokenFromPassword(url: string, email: string, password: string, expires: string): Promise<string> {
  const anonymous = new SlipwayClient({ url });
  let cookie: string | undefined;
  const session = await new SlipwayClient({
    url,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      cookie = response.headers.get('set-cookie')?.split(';', 1)[0];
      return response;
    },
  }).signIn({ email, password });
  if (cookie === undefined) throw new CliError('HTTP_ERROR', 'the server signed in without a session cookie');
  const withSession = anonymous.withHeaders({ cookie, 'x-slipway-csrf': session.csrf });
  try {
    const created = await withSession.createToken({ name: `cli on ${hostname()}`.slice(0, 100), expires });
    return created.secret;
  } finally {
    await withSession.signOut().catch(() => undefined);
  }
}

/** Checks the token against the server before saving it, so a typo is caught now, not later. */
export const login: Command<LoginOptions> = async (options, ctx) => {
  const url = normalizeUrl(options.url);
  let token = options.token ?? (options.email === undefined ? ctx.env.SLIPWAY_TOKEN : undefined);
  if (options.email !== undefined) {
    if (options.token !== undefined) throw usage('give --token or --email, not both');
    if (!options.passwordStdin || !ctx.readStdin) throw usage('--email needs the password on standard input: --password-stdin');
    const password = (await ctx.readStdin()).split(/\r?\n/, 1)[0] ?? '';
    if (password === '') throw usage('no password on standard input');
    token = await tokenFromPassword(url, options.email, password, options.expires ?? '90d');
  }
  if (!token) throw usage('missing --token <token> (or set SLIPWAY_TOKEN), or --email <email> --password-stdin');
  const whoami = await new SlipwayClient({ url, token }).whoami();
  const path = await writeConfig(ctx.env, { url, token });
  if (options.json) {
    ctx.out.json({ url, config: path, ...whoami });
    return ExitCode.OK;
  }
  ctx.out.line(`Logged in to ${url} as ${describeWho(whoami)}; saved to ${path}`);
  if (ctx.env.SLIPWAY_URL || ctx.env.SLIPWAY_TOKEN) ctx.out.warn('SLIPWAY_URL / SLIPWAY_TOKEN are set and take precedence over the saved login');
  return ExitCode.OK;
};

function normalizeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(`"${text}" is not a URL (e.g. http://localhost:7070)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`"${text}" must be an http:// or https:// URL`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export interface WhoamiOptions {
  json?: boolean | undefined;
}

export const whoami: Command<WhoamiOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const result = await client.whoami();
  if (options.json) {
    ctx.out.json({ url: client.url, ...result });
    return ExitCode.OK;
  }
  ctx.out.line(`${describeWho(result)} at ${client.url}`);
  if (result.user !== null && result.user.memberships !== undefined) {
    for (const m of result.user.memberships) ctx.out.line(`  ${m.role} on ${m.project}`);
  }
  return ExitCode.OK;
};

/** "dev1 (approver, personal token tok-…)", "ci (deployer, token tok-…, project shop only)". */
function describeWho(who: Whoami): string {
  const how = who.token === null ? 'session' : who.token.user === null ? `token ${who.token.id}` : `personal token ${who.token.id}`;
  const scope = who.scope === null ? '' : `, project ${who.scope} only`;
  return `${who.actor.name} (${who.actor.role}, ${how}${scope})`;
}
