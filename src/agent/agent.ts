import { createHash } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureLayout, layoutOf, readJson, writeFileAtomic, type Layout } from './disk.ts';
import { HostAgent } from './host-agent.ts';
import { systemdUnit } from './systemd.ts';
import { confirmUpgrade, EXIT_UPGRADE, failUpgrade, fetchUpgrade, LAUNCHED_ENV, mayTry, readUpgrade, runUpgraded } from './upgrade.ts';
import { AgentClient, ID } from './wire.ts';

/**
 * `slipway-agent` (and `slipway agent`): the program that runs on each host. Enrolled once with
 * a one-time token, it keeps one directory (disk.ts) holding the releases of its project's
 * environment and runs one instance of the service from `current` (host-agent.ts).
 */

export interface AgentIo {
  env: Readonly<Record<string, string | undefined>>;
  out(line: string): void;
  err(line: string): void;
  version: string;
  fetch?: typeof fetch;
  /** Ends the agent (SIGTERM, SIGINT): it stops the service and exits 0. */
  signal?: AbortSignal;
  /** How this program is started again (`node <script>` and its leading arguments), for --print-systemd. */
  self?: readonly string[];
}

/** Exit codes, the same numbers as the CLI's (docs/cli.md). */
export const AgentExit = { OK: 0, USAGE: 2, AUTH: 6, UNREACHABLE: 7, INTERNAL: 1 } as const;

const HELP = `Usage: slipway-agent --dir <dir> [--server <url> --token <enrollment token>] [options]

Runs one instance of a project's service on this host: pulls the releases the server assigns
to this agent's environment into <dir>, switches between them and reports back. The first run
trades the one-time enrollment token (slipway agents enroll) for the agent's own credential,
kept in <dir>/agent.json; later runs need only --dir.

Options:
  --dir <dir>         the agent's directory (releases, current, logs, state)
  --server <url>      server URL, for enrolling (default: $SLIPWAY_URL)
  --token <token>     one-time enrollment token (ignored once enrolled, unless refused)
  --port <n>          port of this instance (default: the service's port, else 8080)
  --address <host>    where the edge reaches this host (default: its first non-loopback IPv4)
  --name <name>       how the server lists this agent (default: the host name)
  --keep <n>          releases kept on disk (default: the server's, 5)
  --print-systemd     print a systemd unit that runs this agent, and exit
  --version           print the version
  -h, --help          print this help`;

interface Flags {
  dir?: string | undefined;
  server?: string | undefined;
  token?: string | undefined;
  port?: string | undefined;
  address?: string | undefined;
  name?: string | undefined;
  keep?: string | undefined;
  'print-systemd'?: boolean | undefined;
  version?: boolean | undefined;
  help?: boolean | undefined;
}

interface Identity {
  server: string;
  agentId: string;
  name: string;
  project: string;
  environment: string;
  credential: string;
  /** sha256 of the enrollment token it came from: the same token is not tried twice. */
  enrolledWith: string;
}

class UsageError extends Error {}

function positiveInt(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got "${value}"`);
  return Number(value);
}

function serverUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`--server must be a URL such as https://slipway.example.com, got "${server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be http or https, got "${server}"`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function defaultAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function readIdentity(layout: Layout): Promise<Identity | undefined> {
  const body = (await readJson(layout.agentJson)) as Partial<Identity> | undefined;
  if (body === undefined || typeof body.server !== 'string' || typeof body.credential !== 'string' || typeof body.agentId !== 'string') return undefined;
  return body as Identity;
}

export async function runAgent(argv: readonly string[], io: AgentIo): Promise<number> {
  let flags: Flags;
  try {
    ({ values: flags } = parseArgs({
      args: [...argv],
      options: {
        dir: { type: 'string' },
        server: { type: 'string' },
        token: { type: 'string' },
        port: { type: 'string' },
        address: { type: 'string' },
        name: { type: 'string' },
        keep: { type: 'string' },
        'print-systemd': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`error: ${(err as Error).message} (USAGE)`);
    io.err(HELP);
    return AgentExit.USAGE;
  }
  if (flags.help) {
    io.out(HELP);
    return AgentExit.OK;
  }
  if (flags.version) {
    io.out(io.version);
    return AgentExit.OK;
  }
  try {
    return await runWith(flags, argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message} (USAGE)`);
      return AgentExit.USAGE;
    }
    throw err;
  }
}

async function runWith(flags: Flags, argv: readonly string[], io: AgentIo): Promise<number> {
  const port = positiveInt(flags.port, '--port', 65535);
  const keep = positiveInt(flags.keep, '--keep', 1000);
  const server = flags.server ?? (io.env.SLIPWAY_URL || undefined);
  const origin = server === undefined ? undefined : serverUrl(server);
  if (flags.name !== undefined && !/^[\x20-\x7e]{1,100}$/.test(flags.name)) throw new UsageError('--name must be 1 to 100 printable characters');
  if (flags['print-systemd']) {
    const dir = resolve(flags.dir ?? '/var/lib/slipway-agent');
    const args = ['--dir', dir, ...(origin ? ['--server', origin] : []), ...(flags.port ? ['--port', flags.port] : []), ...(flags.address ? ['--address', flags.address] : []), ...(flags.name ? ['--name', flags.name] : []), ...(flags.keep ? ['--keep', flags.keep] : [])];
    const self = io.self ?? [process.execPath, resolve(process.argv[1] ?? 'slipway-agent.js')];
    io.out(`# Enroll once by hand first (it writes ${dir}/agent.json): add --token <enrollment token> to the command below.`);
    io.out(systemdUnit({ node: self[0] as string, script: self[1] as string, args: [...self.slice(2), ...args] }));
    return AgentExit.OK;
  }
  if (flags.dir === undefined) throw new UsageError('the agent needs --dir <dir>, the directory it keeps its releases in');
  const layout = layoutOf(resolve(flags.dir));
  await ensureLayout(layout);
  const log = (line: string): void => io.out(`${new Date().toISOString()} ${line}`);

  let identity = await readIdentity(layout);
  const enroll = async (): Promise<number | Identity> => {
    if (origin === undefined || flags.token === undefined) {
      io.err(`error: ${identity ? 'the server refuses this agent' : 'this agent is not enrolled yet'}: run it once with --server <url> --token <enrollment token> (slipway agents enroll prints both) (USAGE)`);
      return identity ? AgentExit.AUTH : AgentExit.USAGE;
    }
    const client = new AgentClient(origin, undefined, io.fetch);
    const answer = await client.enroll({ token: flags.token, name: flags.name ?? hostname().slice(0, 100), version: io.version, address: flags.address ?? defaultAddress(), port: port ?? 8080 });
    if (!answer.ok) {
      io.err(`error: cannot enroll at ${origin}: ${answer.message} (${answer.code})`);
      return answer.status === 0 ? AgentExit.UNREACHABLE : answer.status === 401 || answer.status === 403 ? AgentExit.AUTH : AgentExit.INTERNAL;
    }
    const enrolled = answer.value;
    const fresh: Identity = { server: origin, agentId: enrolled.agent.id, name: enrolled.agent.name, project: enrolled.project, environment: enrolled.environment, credential: enrolled.credential, enrolledWith: sha256(flags.token) };
    await writeFileAtomic(layout.agentJson, `${JSON.stringify(fresh, null, 1)}\n`, 0o600);
    log(`enrolled as agent ${fresh.agentId} (${fresh.name}) of ${fresh.project}/${fresh.environment} at ${origin}`);
    return fresh;
  };
  if (identity === undefined) {
    const enrolled = await enroll();
    if (typeof enrolled === 'number') return enrolled;
    identity = enrolled;
  } else if (!ID.test(identity.agentId)) {
    io.err(`error: ${layout.agentJson} names no valid agent (USAGE)`);
    return AgentExit.USAGE;
  }

  const launched = io.env[LAUNCHED_ENV] === '1';
  const trialMs = Number(io.env.SLIPWAY_AGENT_UPGRADE_TRIAL_MS) || 30_000;
  const healthTimeoutMs = Number(io.env.SLIPWAY_AGENT_HEALTH_TIMEOUT_MS) || undefined;
  for (;;) {
    if (!launched) {
      // The launcher: a confirmed or on-trial upgrade runs as a child of this process.
      const record = await readUpgrade(layout);
      if (record !== undefined && record.state !== 'failed' && record.version !== io.version) {
        const ran = await runUpgraded(layout, record, argv, io.env, trialMs, log);
        if (ran.kind === 'exit') {
          if (ran.code === EXIT_UPGRADE) continue;
          return ran.code;
        }
        log(`agent ${record.version} failed its trial: ${ran.reason}; running ${io.version} again`);
        await failUpgrade(layout, record, ran.reason);
      }
    }
    const client = new AgentClient(identity.server, identity.credential, io.fetch);
    const agent = new HostAgent({
      layout,
      client,
      version: io.version,
      port,
      address: flags.address ?? defaultAddress(),
      keep,
      project: identity.project,
      environment: identity.environment,
      env: io.env,
      log,
      ...(healthTimeoutMs !== undefined ? { healthTimeoutMs } : {}),
      onReported: () => confirmUpgrade(layout, io.version),
      wantsUpgrade: async (wanted) => (await mayTry(layout, wanted)) && (await fetchUpgrade(layout, client, wanted, log)),
    });
    await agent.start();
    log(`slipway-agent ${io.version} runs agent ${identity.agentId} of ${identity.project}/${identity.environment} in ${layout.dir}`);
    const end = await agent.run(io.signal ?? new AbortController().signal);
    if (end === 'upgrade') {
      if (launched) return EXIT_UPGRADE;
      continue;
    }
    if (end === 'unauthorized') {
      if (flags.token !== undefined && sha256(flags.token) !== identity.enrolledWith) {
        const enrolled = await enroll();
        if (typeof enrolled === 'number') return enrolled;
        identity = enrolled;
        continue;
      }
      io.err(`error: the server refuses this agent's credential; enroll it again with a new --token (AUTH)`);
      return AgentExit.AUTH;
    }
    return AgentExit.OK;
  }
}
