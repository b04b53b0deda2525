import { parseArgs } from 'node:util';
import { ApiError, SlipwayClient } from '../protocol/client.ts';

/**
 * `slipway-agent`: the program that will run on each host and pull the deployments meant for
 * it. Pulling is not built yet. Today the agent checks that it can reach its server with its
 * token, says what it would do, and exits; the server already publishes this program as one
 * self-contained file with its digest (GET /agent/manifest.json), so hosts can install it and
 * check what they installed.
 */

export interface AgentIo {
  env: Readonly<Record<string, string | undefined>>;
  out(line: string): void;
  err(line: string): void;
  version: string;
  fetch?: typeof fetch;
}

/** Exit codes, the same numbers as the CLI's (docs/cli.md). */
export const AgentExit = { OK: 0, USAGE: 2, AUTH: 6, UNREACHABLE: 7, INTERNAL: 1 } as const;

const HELP = `Usage: slipway-agent --server <url> --token <token>

Checks that this host can reach the Slipway server with the token, then exits: pulling
deployments onto this host is not built yet.

Options:
  --server <url>    server URL (default: $SLIPWAY_URL)
  --token <token>   agent token (default: $SLIPWAY_TOKEN)
  --version         print the version
  -h, --help        print this help`;

export async function runAgent(argv: readonly string[], io: AgentIo): Promise<number> {
  let values: { server?: string | undefined; token?: string | undefined; version?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { server: { type: 'string' }, token: { type: 'string' }, version: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`error: ${(err as Error).message} (USAGE)`);
    io.err(HELP);
    return AgentExit.USAGE;
  }
  if (values.help) {
    io.out(HELP);
    return AgentExit.OK;
  }
  if (values.version) {
    io.out(io.version);
    return AgentExit.OK;
  }
  const server = values.server ?? (io.env.SLIPWAY_URL || undefined);
  const token = values.token ?? (io.env.SLIPWAY_TOKEN || undefined);
  if (server === undefined || token === undefined) {
    io.err('error: the agent needs --server <url> and --token <token> (or SLIPWAY_URL and SLIPWAY_TOKEN) (USAGE)');
    return AgentExit.USAGE;
  }
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    io.err(`error: --server must be a URL such as https://slipway.example.com, got "${server}" (USAGE)`);
    return AgentExit.USAGE;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    io.err(`error: --server must be http or https, got "${server}" (USAGE)`);
    return AgentExit.USAGE;
  }

  const client = new SlipwayClient({ url: url.origin, token, ...(io.fetch ? { fetch: io.fetch } : {}) });
  try {
    const health = await client.request<{ version?: unknown }>('GET', '/healthz');
    const me = await client.whoami();
    const serverVersion = typeof health?.version === 'string' ? health.version : 'unknown';
    io.out(`slipway-agent ${io.version}: reached Slipway ${serverVersion} at ${url.origin} as ${me.actor.name} (${me.actor.role}).`);
    io.out('It would now pull the deployments meant for this host and keep them current. Not yet: agents are not built, so it stops here.');
    return AgentExit.OK;
  } catch (err) {
    if (err instanceof ApiError) {
      const auth = err.status === 401 || err.status === 403;
      io.err(`error: ${err.message} (${err.code})`);
      return auth ? AgentExit.AUTH : err.status === 0 ? AgentExit.UNREACHABLE : AgentExit.INTERNAL;
    }
    throw err;
  }
}
