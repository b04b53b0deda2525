import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Commit and branch of the git work tree holding `dir`, if any. Best effort: no git, no
 * commits yet or a slow repository all give `{}`, and a deploy never fails for it.
 */
export async function findGitMeta(dir: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<{ commit?: string; branch?: string }> {
  // git finds a work tree by a `.git` in the directory or above it (or by its environment):
  // with neither there is none, and no git process to start (~10 ms of a redeploy).
  if (env.GIT_DIR === undefined && env.GIT_WORK_TREE === undefined && !hasGitAbove(dir)) return {};
  let stdout: string;
  try {
    ({ stdout } = await run('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree', 'HEAD', '--abbrev-ref', 'HEAD'], {
      timeout: 5000,
    }));
  } catch {
    // Not a work tree, git missing, or no commit yet: the deployment simply carries no git meta.
    return {};
  }
  const [inside, commit, branch] = stdout.trim().split('\n');
  if (inside !== 'true' || !commit || !/^[0-9a-f]{40,64}$/.test(commit)) return {};
  return branch && branch !== 'HEAD' ? { commit, branch } : { commit };
}

/** Whether `dir` or a directory above it holds a `.git` (a directory, or a file pointing to one). */
function hasGitAbove(dir: string): boolean {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return true;
    if (dirname(at) === at) return false;
  }
}
