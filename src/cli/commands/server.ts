import { isIP } from 'node:net';
import type { ServerOptions } from '../../server/server.ts';
import { usage } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

export interface ServerCommandOptions {
  port?: string | undefined;
  host?: string | undefined;
  data?: string | undefined;
  databaseUrl?: string | undefined;
  baseDomain?: string | undefined;
  logLevel?: string | undefined;
  publicUrl?: string[] | undefined;
  maxConnections?: string | undefined;
  trustedProxy?: string[] | undefined;
  unsafeBuilds?: boolean | undefined;
  allowLocalRepos?: boolean | undefined;
  json?: boolean | undefined;
}

/**
 * Runs the control plane in this process until SIGINT/SIGTERM, then closes it (in-flight
 * requests finish, the database closes) and returns 0.
 */
export const server: Command<ServerCommandOptions> = async (options, ctx) => {
  const port = parsePort(options.port ?? '7070');
  const givenToken = ctx.env.SLIPWAY_ADMIN_TOKEN || undefined;
  // Loaded here, not at the top: every other command starts without the server's dependencies.
  const { startServer } = await import('../../server/server.ts');
  const serverOptions: ServerOptions = { dataDir: options.data ?? './.slipway', port };
  const databaseUrl = options.databaseUrl ?? ctx.env.SLIPWAY_DATABASE_URL;
  if (databaseUrl) serverOptions.databaseUrl = databaseUrl;
  if (options.host !== undefined) serverOptions.host = options.host;
  if (givenToken !== undefined) serverOptions.adminToken = givenToken;
  if (options.baseDomain !== undefined) serverOptions.baseDomain = options.baseDomain;
  if (options.logLevel !== undefined) serverOptions.logLevel = options.logLevel;
  if (options.publicUrl !== undefined && options.publicUrl.length > 0) serverOptions.publicUrls = options.publicUrl.map(parsePublicUrl);
  if (options.maxConnections !== undefined) serverOptions.maxConnections = parseMaxConnections(options.maxConnections);
  if (options.trustedProxy !== undefined && options.trustedProxy.length > 0) serverOptions.trustedProxies = options.trustedProxy.map(parseTrustedProxy);
  if (options.unsafeBuilds) {
    serverOptions.unsafeBuilds = true;
    ctx.out.warn('--unsafe-builds: builds run WITHOUT a sandbox; a build can read the data directory, the database and this server\'s environment');
  }
  if (options.allowLocalRepos) serverOptions.allowLocalRepos = true;
  const running = await startServer(serverOptions);
  // The server reports an admin token only when it made one on this start, or was given one.
  const newToken = running.adminToken !== undefined && running.adminToken !== givenToken ? running.adminToken : undefined;
  if (options.json) {
    ctx.out.line(JSON.stringify({ url: running.url, port: running.port, ...(newToken !== undefined && { adminToken: newToken }) }));
  } else {
    // One write, so a process reading our stdout sees the token in the same chunk as the URL.
    const lines = [`Slipway is listening on ${running.url}`];
    if (newToken !== undefined) {
      lines.push('Admin token (shown only this once; store it now):', `  ${newToken}`, `Log in with: slipway login ${running.url} --token ${newToken}`);
    }
    ctx.out.line(lines.join('\n'));
  }
  const signal = await ctx.waitForShutdown();
  ctx.out.note(`${signal}: shutting down`);
  await running.close();
  return ExitCode.OK;
};

/** `--public-url`: an http(s) URL whose hostname the control plane answers on. */
function parsePublicUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(`--public-url must be a URL such as https://slipway.example.com, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--public-url must be http or https, got "${text}"`);
  return url.origin;
}

function parseTrustedProxy(text: string): string {
  if (isIP(text) === 0) throw usage(`--trusted-proxy must be an IP address such as 127.0.0.1, got "${text}"`);
  return text;
}

function parseMaxConnections(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) throw usage(`--max-connections must be 1-1000000, got "${text}"`);
  return Number(text);
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw usage(`--port must be 0-65535, got "${text}"`);
  return Number(text);
}
