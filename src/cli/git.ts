import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Commit and branch of the git work tree holding `dir`, if any. Best effort: no git, no
 * commits yet or a slow repository all give `{}`, and a deploy never fails for it.
 */
export async function findGitMeta(dir: string): Promise<{ commit?: string; branch?: string }> {
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
