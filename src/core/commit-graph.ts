/**
 * Questions about the commit graph Slipway knows (the `commits` rows of a project), answered
 * from a lookup so this stays pure. The graph is partial: the runner reports a few dozen
 * commits per build, so a walk may run into a commit it does not know. Every answer is then
 * the safe one: `isAncestor` says no, and `batchBetween` says its list is `truncated`.
 */

/** The parents of a commit Slipway knows (first parent first), or undefined for one it does not. */
export type CommitLookup = (sha: string) => { parents: readonly string[] } | undefined;

export const DEFAULT_WALK_LIMIT = 1000;

/**
 * Whether `descendant` contains `ancestor` (a commit contains itself, as in git). False when the
 * walk runs out of known commits or looks at more than `limit` of them before finding it.
 */
export function isAncestor(lookup: CommitLookup, ancestor: string, descendant: string, limit = DEFAULT_WALK_LIMIT): boolean {
  if (ancestor === descendant) return true;
  const seen = new Set([descendant]);
  const queue = [descendant];
  for (let i = 0; i < queue.length && i < limit; i += 1) {
    for (const parent of lookup(queue[i] as string)?.parents ?? []) {
      if (parent === ancestor) return true;
      if (!seen.has(parent)) {
        seen.add(parent);
        queue.push(parent);
      }
    }
  }
  return false;
}

export interface CommitBatch {
  /** What `head` brings that `base` does not have (`git rev-list base..head`): children before parents, head first. */
  commits: string[];
  /**
   * The list may be incomplete or may hold commits `base` already has: the walk met a commit
   * Slipway does not know, or passed `limit`, or `base` itself is unknown.
   */
  truncated: boolean;
}

/**
 * The commits a release brings when the environment moves from `base` to `head`: head
 * included, base and everything it contains excluded, so merges bring their side branch and a
 * move backwards (head contained in base) brings nothing. With `base` null (an environment
 * that runs nothing yet) that is head's whole known history. At most `limit` commits.
 */
export function batchBetween(lookup: CommitLookup, base: string | null, head: string, limit = DEFAULT_WALK_LIMIT): CommitBatch {
  if (base === head) return { commits: [], truncated: false };
  const known = base === null ? { seen: new Set<string>(), complete: true } : ancestry(lookup, base, limit);
  let truncated = base !== null && lookup(base) === undefined;

  const members: string[] = [];
  const queued = new Set([head]);
  const queue = [head];
  for (let i = 0; i < queue.length; i += 1) {
    const sha = queue[i] as string;
    if (known.seen.has(sha)) continue;
    if (members.length === limit) {
      truncated = true;
      break;
    }
    members.push(sha);
    const commit = lookup(sha);
    if (commit === undefined) {
      truncated = true;
      continue;
    }
    // A root that base's history, walked only in part, may still contain.
    if (commit.parents.length === 0 && !known.complete) truncated = true;
    for (const parent of commit.parents) {
      if (!queued.has(parent)) {
        queued.add(parent);
        queue.push(parent);
      }
    }
  }
  return { commits: childrenFirst(lookup, head, members), truncated };
}

/**
 * Everything `start` contains, as far as `limit` known commits go. `complete` when the walk
 * ended at root commits only (no unknown commit, no limit), so it holds all of start's history.
 */
function ancestry(lookup: CommitLookup, start: string, limit: number): { seen: Set<string>; complete: boolean } {
  const seen = new Set([start]);
  const queue = [start];
  let complete = true;
  for (let i = 0; i < queue.length; i += 1) {
    if (i === limit) return { seen, complete: false };
    const commit = lookup(queue[i] as string);
    if (commit === undefined) {
      complete = false;
      continue;
    }
    for (const parent of commit.parents) {
      if (!seen.has(parent)) {
        seen.add(parent);
        queue.push(parent);
      }
    }
  }
  return { seen, complete };
}

/**
 * Orders `members` so no commit comes before one of its children, following each first-parent
 * line as far as it goes before the side branches (like `git log --topo-order`). Commits a
 * malformed graph leaves out (a cycle) follow in the order they were found.
 */
function childrenFirst(lookup: CommitLookup, head: string, members: readonly string[]): string[] {
  const inBatch = new Set(members);
  const parentsOf = (sha: string): string[] => [...new Set(lookup(sha)?.parents ?? [])].filter((parent) => inBatch.has(parent));
  const waitingChildren = new Map<string, number>();
  for (const sha of members) {
    for (const parent of parentsOf(sha)) waitingChildren.set(parent, (waitingChildren.get(parent) ?? 0) + 1);
  }
  const ordered: string[] = [];
  const stack = inBatch.has(head) && !waitingChildren.has(head) ? [head] : [];
  while (stack.length > 0) {
    const sha = stack.pop() as string;
    ordered.push(sha);
    for (const parent of parentsOf(sha).reverse()) {
      const left = (waitingChildren.get(parent) ?? 0) - 1;
      waitingChildren.set(parent, left);
      if (left === 0) stack.push(parent);
    }
  }
  if (ordered.length === members.length) return ordered;
  const placed = new Set(ordered);
  return [...ordered, ...members.filter((sha) => !placed.has(sha))];
}
