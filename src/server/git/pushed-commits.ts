import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import { GIT_LOG_FORMAT, parseGitLog, type CommitInfo } from '../../core/git-log.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { ZERO_SHA, type RefUpdate } from '../services/pushes.ts';

const run = promisify(execFile);

/** A push records at most this many commits: enough for any batch a person reviews, bounded for a push of a whole history. */
export const MAX_PUSHED_COMMITS = 1000;

/**
 * The commits a push brought, read from the project's repository after git moved its refs: for
 * a branch that moved, `before..after`; for a new branch or tag, what no other branch already
 * had (every branch this push created or moved is left out of "other", so two new branches
 * sharing commits each still bring them). At most `limit` in all, newest first per update.
 *
 * Replace refs are ignored (`--no-replace-objects`): a pusher could push refs/replace/* to make
 * a commit show parents it does not have.
 */
export async function readPushedCommits(repo: string, updates: readonly RefUpdate[], limit = MAX_PUSHED_COMMITS): Promise<CommitInfo[]> {
  const pushedBranches = updates.filter((u) => u.ref.startsWith('refs/heads/')).map((u) => u.ref.slice('refs/heads/'.length));
  const found = new Map<string, CommitInfo>();
  for (const update of updates) {
    if (found.size >= limit) break;
    if (update.after === ZERO_SHA) continue;
    const range =
      update.before === ZERO_SHA
        ? [update.after, '--not', ...pushedBranches.map((b) => `--exclude=${b}`), '--branches']
        : [update.after, `^${update.before}`];
    let commits: CommitInfo[];
    try {
      commits = await log(repo, range, limit - found.size);
    } catch (err) {
      // `before` may be gone (a force-push after gc); what no other branch has is the next best answer.
      if (update.before === ZERO_SHA) throw err;
      commits = await log(repo, [update.after, '--not', ...pushedBranches.map((b) => `--exclude=${b}`), '--branches'], limit - found.size);
    }
    for (const commit of commits) if (!found.has(commit.sha)) found.set(commit.sha, commit);
  }
  return [...found.values()].slice(0, limit);
}

async function log(repo: string, range: string[], max: number): Promise<CommitInfo[]> {
  const { stdout } = await run(
    'git',
    ['--no-replace-objects', '--git-dir', repo, 'log', '-z', `--format=${GIT_LOG_FORMAT}`, `--max-count=${max}`, ...range, '--'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } },
  );
  return parseGitLog(stdout, max);
}

/**
 * Adds what a push brought to the project's commit graph. The graph only informs (batches,
 * ancestry), so a repository git cannot read is logged and the push is still recorded.
 */
export async function recordPushedCommits(deps: ServiceDeps, projectId: string, repo: string, updates: readonly RefUpdate[], logger: FastifyBaseLogger): Promise<number> {
  let commits: CommitInfo[];
  try {
    commits = await readPushedCommits(repo, updates);
  } catch (err) {
    logger.warn({ err, projectId }, 'could not read the pushed commits from the repository; the push is recorded without them');
    return 0;
  }
  return deps.store.insertCommits(projectId, commits, deps.clock.now().toISOString());
}
