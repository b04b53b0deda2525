import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The git client as a user runs it, with a clean configuration: a throwaway HOME (no credential
 * helpers or user config), no system config and never a terminal prompt. Never throws: the exit
 * code is part of what tests check.
 */
export function runGit(home: string, cwd: string, args: string[]): Promise<GitResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
  };
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function gitOk(home: string, cwd: string, args: string[]): Promise<GitResult> {
  const result = await runGit(home, cwd, args);
  assert.equal(result.code, 0, `git ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return result;
}

/** Lines the server's hooks printed, as git shows them (`remote: …`), without git's padding. */
export function remoteLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n|\r/)
    .filter((l) => l.startsWith('remote: '))
    .map((l) => l.slice('remote: '.length).trimEnd());
}

/** Writes `files`, commits them, and returns the new commit's sha. */
export async function commitFiles(home: string, dir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  await gitOk(home, dir, ['add', '-A']);
  await gitOk(home, dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
  return (await gitOk(home, dir, ['rev-parse', 'HEAD'])).stdout.trim();
}
