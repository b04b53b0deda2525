import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { ApiError, SlipwayClient } from '../../protocol/client.ts';
import { startRunner } from '../../runner/runner.ts';
import { prepareSandbox, resolveBwrapPath } from '../../runner/sandbox.ts';
import { ErrorCode } from '../../core/errors.ts';
import { readConfig } from '../config.ts';
import { CliError, parsePositiveInt } from '../context.ts';
import type { Command } from '../context.ts';
import { CliErrorCode, ExitCode } from '../exit-codes.ts';

export interface RunnerCommandOptions {
  server?: string | undefined;
  token?: string | undefined;
  concurrency?: string | undefined;
  name?: string | undefined;
  workDir?: string | undefined;
  unsafeBuilds?: boolean | undefined;
  allowLocalRepos?: boolean | undefined;
}

/**
 * `slipway runner`: claims builds from a server and runs them on this machine until SIGINT or
 * SIGTERM. The first signal stops claiming and lets running builds finish (10 s at most);
 * a second one stops them at once. Its log goes to stderr. Builds run in a bubblewrap sandbox;
 * without one it refuses to start (SANDBOX_UNAVAILABLE) unless `--unsafe-builds`.
 */
export const runner: Command<RunnerCommandOptions> = async (options, ctx) => {
  const concurrency = parsePositiveInt('--concurrency', options.concurrency) ?? 1;
  let url = options.server ?? (ctx.env.SLIPWAY_URL || undefined);
  let token = options.token ?? (ctx.env.SLIPWAY_TOKEN || undefined);
  if (url === undefined || token === undefined) {
    const stored = await readConfig(ctx.env);
    if (!stored.ok) throw new CliError(stored.code, stored.message);
    url ??= stored.config?.url;
    token ??= stored.config?.token;
  }
  if (!url || !token) {
    throw new CliError(CliErrorCode.NOT_LOGGED_IN, 'a runner needs --server <url> and --token <token> (or SLIPWAY_URL and SLIPWAY_TOKEN, or slipway login)');
  }

  // Refuse a wrong token at once; a server that is not up yet is waited for by the claim loop.
  try {
    const { actor: who } = await new SlipwayClient({ url, token }).whoami();
    if (who.role !== 'runner') {
      throw new CliError(
        ErrorCode.FORBIDDEN,
        `token of "${who.name}" has the ${who.role} role; builds are claimed with a runner token (an admin creates one: slipway tokens create --name <name> --role runner)`,
      );
    }
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'NETWORK_ERROR') throw err;
    ctx.out.warn(`${err.message}; retrying until it answers`);
  }

  const workDir = resolve(options.workDir ?? tmpdir());
  const sandbox = await prepareSandbox({ bwrapPath: resolveBwrapPath(undefined, ctx.env), workDir, unsafe: options.unsafeBuilds ?? false });
  if (sandbox.mode === 'unavailable') {
    throw new CliError(
      ErrorCode.SANDBOX_UNAVAILABLE,
      `builds need a sandbox and there is none: ${sandbox.reason}. Install bubblewrap (apt-get install bubblewrap), set SLIPWAY_BWRAP, or pass --unsafe-builds to build without one`,
    );
  }
  if (sandbox.mode === 'unsafe') ctx.out.warn("--unsafe-builds: builds run WITHOUT a sandbox, as this user, seeing this machine's files");

  const started = startRunner({
    serverUrl: url,
    token,
    concurrency,
    ...(options.name !== undefined ? { name: options.name } : {}),
    workDir,
    sandbox,
    allowLocalRepos: options.allowLocalRepos === true,
    log: (line) => ctx.out.note(`${new Date().toISOString()} ${line}`),
  });
  ctx.out.note(`Runner ${started.name} is building for ${url} (${concurrency} at a time). Ctrl-C stops it.`);
  const signal = await ctx.waitForShutdown();
  ctx.out.note(`${signal}: stopping (running builds get 10 s to finish; again to stop them now)`);
  const stopping = started.stop();
  const again = ctx.waitForShutdown().then(() => started.stop({ graceMs: 0 }));
  await Promise.race([stopping, again]);
  await stopping;
  return ExitCode.OK;
};
