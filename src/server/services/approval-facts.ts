import { hasApprovals, NO_APPROVAL_FACTS, type ApprovalFacts, type ApprovalPolicy, type BatchAuthor } from '../../core/gates/index.ts';
import type { ApprovalRow, CommitRow, ReleaseRow, Store } from '../../store/store.ts';

/**
 * What the approvals gate needs of a release: the distinct authors of its batch's commits (by
 * lowercased email, each with the user that email belongs to) and the approvals given to this
 * release — never another's. Read only when the environment asks for approvals.
 */
export async function approvalFactsOf(store: Store, release: ReleaseRow, policy: ApprovalPolicy, given?: ApprovalRow[]): Promise<ApprovalFacts> {
  if (!hasApprovals(policy)) return NO_APPROVAL_FACTS;
  const [facts] = await approvalFactsOfReleases(store, [{ release, policy, given: given ?? (await store.listApprovals(release.id)) }]);
  return facts ?? NO_APPROVAL_FACTS;
}

/**
 * approvalFactsOf for many releases of one project (the waiting releases of a pipeline, a page
 * of releases), in two queries whatever their number: their commits, then the users of their
 * authors' emails. In the order given.
 */
export async function approvalFactsOfReleases(
  store: Store,
  items: readonly { release: ReleaseRow; policy: ApprovalPolicy; given: readonly ApprovalRow[] }[],
): Promise<ApprovalFacts[]> {
  const asked = items.filter((item) => hasApprovals(item.policy));
  const projectId = asked[0]?.release.projectId;
  const commits = new Map<string, CommitRow>();
  if (projectId !== undefined) {
    for (const commit of await store.findCommits(projectId, [...new Set(asked.flatMap((item) => item.release.batch?.commits ?? []))])) commits.set(commit.sha, commit);
  }
  const authors = items.map((item) => (hasApprovals(item.policy) ? authorsOf(item.release, commits) : undefined));
  const emails = new Set(authors.flatMap((a) => (a === undefined ? [] : [...a.byEmail.keys()])));
  const users = emails.size === 0 ? [] : await store.findUsersByEmails([...emails]);
  return items.map((item, index) => {
    const found = authors[index];
    if (found === undefined) return NO_APPROVAL_FACTS;
    for (const user of users) {
      const author = found.byEmail.get(user.email.toLowerCase());
      if (author) {
        author.userId = user.userId;
        author.userName = user.name;
      }
    }
    const shas = item.release.batch?.commits ?? [];
    const unknownCommits = shas.filter((sha) => !commits.has(sha)).length + found.nameless + (item.release.batch?.truncated ? 1 : 0);
    return {
      authors: [...found.byEmail.values()],
      unknownCommits,
      given: item.given
        .filter((a) => a.decision === 'approve')
        .map((a) => ({ userId: a.userId, userName: a.userName, role: a.role, forEmail: a.forEmail })),
      createdById: item.release.createdById,
    };
  });
}

/** The distinct authors of a release's batch among `commits` (by lowercased email), and how many had no email. */
function authorsOf(release: ReleaseRow, commits: ReadonlyMap<string, CommitRow>): { byEmail: Map<string, BatchAuthor>; nameless: number } {
  const byEmail = new Map<string, BatchAuthor>();
  let nameless = 0;
  // Newest first (the batch's order), so an author's latest name is the one shown.
  for (const sha of release.batch?.commits ?? []) {
    const commit = commits.get(sha);
    if (!commit) continue;
    const email = commit.authorEmail.trim().toLowerCase();
    // `<>`: git allows an author without an email, who can be asked nothing.
    if (email === '') nameless += 1;
    if (email === '' || byEmail.has(email)) continue;
    byEmail.set(email, { email, name: commit.authorName || null, userId: null, userName: null });
  }
  return { byEmail, nameless };
}
