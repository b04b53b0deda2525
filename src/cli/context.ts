import { ApiError, SlipwayClient } from '../protocol/client.ts';
import { isSlipwayError } from '../core/errors.ts';
import { PublishError } from '../publish/errors.ts';
import { resolveConnection } from './config.ts';
import { CliErrorCode, ExitCode, exitCodeFor } from './exit-codes.ts';
import type { Output } from './output.ts';

/** What a command may touch besides its parsed options. main.ts builds the real one. */
export interface Context {
  out: Output;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves once the process is asked to stop (SIGINT/SIGTERM); used by long-running commands. */
  waitForShutdown(): Promise<string>;
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

/** Runs a command and turns whatever it throws into `error: <message> (<CODE>)` and an exit code. */
export async function execute<O>(command: Command<O>, options: O, ctx: Context): Promise<ExitCode> {
  try {
    return await command(options, ctx);
  } catch (err) {
    return reportError(err, ctx.out);
  }
}

export function reportError(err: unknown, out: Output): ExitCode {
  if (err instanceof ApiError) {
    out.error(err.message, err.code);
    return exitCodeFor(err.code, err.status);
  }
  if (err instanceof CliError || isSlipwayError(err)) {
    out.error(err.message, err.code);
    return exitCodeFor(err.code);
  }
  if (err instanceof PublishError) {
    const code = err.code === 'NOT_A_DIRECTORY' ? CliErrorCode.USAGE : err.code;
    out.error(err.message, code);
    return exitCodeFor(code);
  }
  // A file the CLI could not read or write (EACCES on a deploy tree, a full disk): the message
  // names the path, and a stack trace would not help the person reading it.
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
    out.error(err.message, CliErrorCode.IO_ERROR);
    return exitCodeFor(CliErrorCode.IO_ERROR);
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  out.error(message, 'INTERNAL');
  return ExitCode.INTERNAL;
}

/** A client for the configured server (env over config file); throws NOT_LOGGED_IN without one. */
export async function connect(ctx: Context): Promise<SlipwayClient> {
  const connection = await resolveConnection(ctx.env);
  if (!connection.ok) throw new CliError(connection.code, connection.message);
  return new SlipwayClient({ url: connection.url, token: connection.token });
}

/** `--project` falls back to SLIPWAY_PROJECT. */
export function requireProject(project: string | undefined, ctx: Context): string {
  const name = project ?? ctx.env.SLIPWAY_PROJECT;
  if (!name) throw usage('missing --project <name> (or set SLIPWAY_PROJECT)');
  return name;
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
