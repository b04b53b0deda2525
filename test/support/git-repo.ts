import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function git(cwd: string, args: string[]): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: cwd,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Grace Hopper',
    GIT_AUTHOR_EMAIL: 'grace@example.com',
    GIT_COMMITTER_NAME: 'Grace Hopper',
    GIT_COMMITTER_EMAIL: 'grace@example.com',
  };
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

export interface TestRepo {
  /** The bare repository a project builds from (a local path). */
  remote: string;
  /** Commits `files` on a fresh branch and pushes it to `remote`. */
  commit(files: Record<string, string>): Promise<{ sha: string; branch: string }>;
}

/** A bare repository under `base` with a working copy to commit from. */
export async function createTestRepo(base: string): Promise<TestRepo> {
  const work = join(base, 'work');
  const remote = join(base, 'remote.git');
  await mkdir(work, { recursive: true });
  await git(base, ['init', '-q', '--bare', remote]);
  await git(work, ['init', '-q', '-b', 'root']);
  await writeFile(join(work, 'README.md'), 'a repository');
  await git(work, ['add', '-A']);
  await git(work, ['commit', '-q', '-m', 'root']);
  let branches = 0;
  return {
    remote,
    async commit(files) {
      branches += 1;
      const branch = `b${branches}`;
      await git(work, ['checkout', '-q', '-B', branch, 'root']);
      for (const [path, body] of Object.entries(files)) {
        await mkdir(join(work, path, '..'), { recursive: true });
        await writeFile(join(work, path), body);
      }
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-q', '--allow-empty', '-m', `Build ${branch}`]);
      const sha = await git(work, ['rev-parse', 'HEAD']);
      await git(work, ['push', '-q', remote, `${branch}:refs/heads/${branch}`]);
      return { sha, branch };
    },
  };
}
