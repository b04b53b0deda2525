import { toOneLine } from './one-line.ts';

/**
 * Commits as `git log` prints them, read into what Slipway keeps of each (the commit graph of
 * a project). Pure: the runner and the server run git and hand the text here. Everything but
 * the ids and times is someone's free text, so it is cleaned and capped on the way in.
 */

/** One commit of the graph Slipway knows. */
export interface CommitInfo {
  sha: string;
  /** Empty for a root commit (and never guessed: a shallow boundary is left out instead). */
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** The subject line. */
  message: string;
  /** Committer time, ISO-8601 UTC. */
  committedAt: string;
}

/** `git log -z --format=…` fields, each ended by NUL: id, parents, author name, email, committer time, subject. */
export const GIT_LOG_FORMAT = '%H%x00%P%x00%an%x00%ae%x00%ct%x00%s';

/** Caps of the free-text fields, in characters (code points). */
export const COMMIT_TEXT_LIMITS = { authorName: 255, authorEmail: 255, message: 1000 } as const;

/** Commits this many at most in a build's report (the runner's view of recent history). */
export const MAX_REPORTED_COMMITS = 64;

/** An octopus merge beyond this many parents keeps the first ones; ancestry through the rest is unknown (safe). */
export const MAX_PARENTS = 16;

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const PARENTS = /^(?:(?:[0-9a-f]{40}|[0-9a-f]{64})(?: (?:[0-9a-f]{40}|[0-9a-f]{64}))*)?$/;
const UNIX_TIME = /^\d{1,12}$/;
const FIELDS = 6;

export function isCommitSha(value: string): boolean {
  return SHA.test(value);
}

/**
 * Reads `git log -z --format=GIT_LOG_FORMAT` output. A record whose id, parents or time do not
 * look like git's is skipped, and reading resumes at the next field that starts a well-formed
 * record, so a subject that somehow holds a NUL costs that commit, never the ones after it.
 * At most `limit` commits, in git's order.
 */
export function parseGitLog(text: string, limit = Number.POSITIVE_INFINITY): CommitInfo[] {
  const fields = text.split('\0');
  const commits: CommitInfo[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i + FIELDS <= fields.length && commits.length < limit) {
    // Records are joined by git's own separator after the last field; a leading newline is git's tformat.
    const sha = (fields[i] ?? '').replace(/^\n/, '');
    const parents = fields[i + 1] ?? '';
    const time = fields[i + 4] ?? '';
    if (!SHA.test(sha) || !PARENTS.test(parents) || !UNIX_TIME.test(time)) {
      i += 1;
      continue;
    }
    if (!seen.has(sha)) {
      seen.add(sha);
      commits.push({
        sha,
        parents: parents === '' ? [] : parents.split(' ').slice(0, MAX_PARENTS),
        authorName: toOneLine(fields[i + 2] ?? '', COMMIT_TEXT_LIMITS.authorName),
        authorEmail: toOneLine(fields[i + 3] ?? '', COMMIT_TEXT_LIMITS.authorEmail),
        message: toOneLine(fields[i + 5] ?? '', COMMIT_TEXT_LIMITS.message),
        committedAt: new Date(Number(time) * 1000).toISOString(),
      });
    }
    i += FIELDS;
  }
  return commits;
}
