import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, type TestServer } from './server.ts';

const BIN = fileURLToPath(new URL('../../bin/slipway', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The token in SLIPWAY_TOKEN (default: the admin's); null: neither SLIPWAY_URL nor SLIPWAY_TOKEN is set. */
  token?: string | null;
  /** Written to standard input (which is closed either way). */
  stdin?: string;
  /** HOME, where a saved login lives (default: the temp directory). */
  home?: string;
}

/** Runs the real `bin/slipway` against a test server and answers with its exit code and output. */
export function slipway(t: TestServer, args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: options.home ?? tmpdir() };
  if (options.token !== null) {
    env.SLIPWAY_URL = `http://127.0.0.1:${t.server.port}`;
    env.SLIPWAY_TOKEN = options.token ?? ADMIN_TOKEN;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run slipway ${args.join(' ')}: ${err.message}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}
