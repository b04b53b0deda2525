import { hasApprovals, NO_APPROVAL_FACTS, type ApprovalFacts, type ApprovalPolicy, type BatchAuthor } from '../../core/gates/index.ts';
import type { ApprovalRow, ReleaseRow, Store } from '../../store/store.ts';

/**
 * What the approvals gate needs of a release: the distinct authors of its batch's commits (by
 * lowercased email, each with the user that email belongs to) and the approvals given to this
 * release — never another's. Read only when the environment asks for approvals.
 */
export async function approvalFactsOf(store: Store, release: ReleaseRow, policy: ApprovalPolicy, given?: ApprovalRow[]): Promise<ApprovalFacts> {
  if (!hasApprovals(policy)) return NO_APPROVAL_FACTS;
  const shas = release.batch?.commits ?? [];
  const commits = await store.findCommits(release.projectId, shas);
  const known = new Set(commits.map((c) => c.sha));
  const byEmail = new Map<string, BatchAuthor>();
  // Newest first (the batch's order), so an author's latest name is the one shown.
  const order = new Map(shas.map((sha, index) => [sha, index]));
  commits.sort((a, b) => (order.get(a.sha) ?? 0) - (order.get(b.sha) ?? 0));
  let nameless = 0;
  for (const commit of commits) {
    const email = commit.authorEmail.trim().toLowerCase();
    // `<>`: git allows an author without an email, who can be asked nothing.
    if (email === '') nameless += 1;
    if (email === '' || byEmail.has(email)) continue;
    byEmail.set(email, { email, name: commit.authorName || null, userId: null, userName: null });
  }
  if (byEmail.size > 0) {
    for (const user of await store.findUsersByEmails([...byEmail.keys()])) {
      const author = byEmail.get(user.email.toLowerCase());
      if (author) {
        author.userId = user.userId;
        author.userName = user.name;
      }
    }
  }
  const unknownCommits = shas.filter((sha) => !known.has(sha)).length + nameless + (release.batch?.truncated ? 1 : 0);
  const decisions = given ?? (await store.listApprovals(release.id));
  return {
    authors: [...byEmail.values()],
    unknownCommits,
    given: decisions
      .filter((a) => a.decision === 'approve')
      .map((a) => ({ userId: a.userId, userName: a.userName, role: a.role, forEmail: a.forEmail })),
    createdById: release.createdById,
  };
}
