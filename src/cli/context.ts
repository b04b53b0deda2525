import { ApiError, SlipwayClient } from '../protocol/client.ts';
import { nodeTransport } from '../protocol/node-transport.ts';
import { isSlipwayError } from '../core/errors.ts';
import { PublishError } from '../publish/errors.ts';
import { resolveConnection } from './config.ts';
import type { LinkLookup } from './link.ts';
import { CliErrorCode, ExitCode, exitCodeFor } from './exit-codes.ts';
import type { Output } from './output.ts';

/** What a command may touch besides its parsed options. main.ts builds the real one. */
export interface Context {
  out: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The `.slipway.json` in effect in `cwd`, looked up before a command that takes `--project` runs without one. */
  link?: LinkLookup | undefined;
  /** Resolves once the process is asked to stop (SIGINT/SIGTERM); used by long-running commands. */
  waitForShutdown(): Promise<string>;
  /** All of standard input, for secrets that must not appear in argv (`--password-stdin`). */
  readStdin?: () => Promise<string>;
}

/** A command: parsed options in, exit code out. Errors it throws are reported by `execute`. */
export type Command<O> = (options: O, ctx: Context) => Promise<ExitCode>;

/** A failure the CLI detects itself (bad flag, missing login, a symlink out of the tree). */
export class CliError extends Error {
  readonly code: string;
  /** A CliErrorCode, or a core ErrorCode the CLI detects before asking the server (REASON_REQUIRED). */
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

export function usage(message: string): CliError {
  return new CliError(CliErrorCode.USAGE, message);
}

/**
 * Runs a command and turns whatever it throws into `error: <message> (<CODE>)` on stderr and an
 * exit code; with `--json` the error is also one line `{"error":{"code","message"}}` on stdout.
 */
export async function execute<O>(command: Command<O>, options: O, ctx: Context): Promise<ExitCode> {
  try {
    return await command(options, ctx);
  } catch (err) {
    return reportError(err, ctx.out, { json: (options as { json?: unknown } | undefined)?.json === true });
  }
}

interface Failure {
  code: string;
  message: string;
  exitCode: ExitCode;
  details?: Record<string, unknown> | undefined;
}

export function reportError(err: unknown, out: Output, options: { json?: boolean } = {}): ExitCode {
  const failure = describeFailure(err);
  out.error(failure.message, failure.code);
  if (options.json) out.jsonError(failure.code, failure.message, failure.details);
  return failure.exitCode;
}

function describeFailure(err: unknown): Failure {
  if (err instanceof ApiError) {
    return { code: err.code, message: err.message, exitCode: exitCodeFor(err.code, err.status), details: err.details };
  }
  if (err instanceof CliError || isSlipwayError(err)) {
    return { code: err.code, message: err.message, exitCode: exitCodeFor(err.code) };
  }
  if (err instanceof PublishError) {
    const code = err.code === 'NOT_A_DIRECTORY' ? CliErrorCode.USAGE : err.code;
    return { code, message: err.message, exitCode: exitCodeFor(code) };
  }
  // A file the CLI could not read or write (EACCES on a deploy tree, a full disk): the message
  // names the path, and a stack trace would not help the person reading it.
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
    return { code: CliErrorCode.IO_ERROR, message: err.message, exitCode: exitCodeFor(CliErrorCode.IO_ERROR) };
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { code: 'INTERNAL', message, exitCode: ExitCode.INTERNAL };
}

/**
 * A client for the configured server (env over config file); throws NOT_LOGGED_IN without one.
 * It talks node:http (keep-alive, not fetch: see protocol/node-transport.ts).
 */
export async function connect(ctx: Context): Promise<SlipwayClient> {
  const connection = await resolveConnection(ctx.env);
  if (!connection.ok) throw new CliError(connection.code, connection.message);
  return new SlipwayClient({ url: connection.url, token: connection.token, transport: nodeTransport().send });
}

/** `--project` falls back to SLIPWAY_PROJECT, then to the directory's link (`slipway link`). */
export function requireProject(project: string | undefined, ctx: Context): string {
  const name = project ?? (ctx.env.SLIPWAY_PROJECT || undefined);
  if (name) return name;
  if (ctx.link?.ok === false) throw new CliError(ctx.link.code, ctx.link.message);
  if (ctx.link?.link) return ctx.link.link.project;
  throw usage('missing --project <name> (or set SLIPWAY_PROJECT, or run `slipway link --project <name>` here)');
}

/** A break-glass `--force` must say why; checked here so it fails before any request. */
export function checkForce(force: boolean | undefined, reason: string | undefined): void {
  if (force && !reason?.trim()) throw new CliError('REASON_REQUIRED', '--force needs --reason "<why>"');
}

export function parsePositiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw usage(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}
