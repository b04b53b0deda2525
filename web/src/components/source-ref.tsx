import { shortCommit } from '../format.ts';

/** Where a deployment or build came from: short commit, branch (or ref), author; nothing when none is known. */
export function SourceRef({ commit, branch, author }: { commit: string | null | undefined; branch: string | null | undefined; author?: string | null | undefined }) {
  if (!commit && !branch) return null;
  return (
    <span className="source-ref">
      {commit && <code title={commit}>{shortCommit(commit)}</code>}
      {branch && <span className="branch">{branch}</span>}
      {author && <span className="muted">{author}</span>}
    </span>
  );
}
