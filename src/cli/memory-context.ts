import type { Context } from './context.ts';
import { Output } from './output.ts';

/** A Context writing to strings, for running commands in-process in unit tests. */
export function createMemoryContext(env: Record<string, string | undefined> = {}, cwd = process.cwd()): Context & { stdout(): string; stderr(): string } {
  let stdout = '';
  let stderr = '';
  const out = new Output({ write: (s: string) => (stdout += s) }, { write: (s: string) => (stderr += s) });
  return {
    out,
    env,
    cwd,
    waitForShutdown: () => Promise.resolve('SIGTERM'),
    stdout: () => stdout,
    stderr: () => stderr,
  };
}
