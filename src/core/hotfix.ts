import { ErrorCode, SlipwayError } from './errors.ts';
import type { EnvironmentLink } from './pipeline-topology.ts';

/**
 * Hotfixes (essay 002): a branch `hotfix/<name>` started at the commit production runs. Its
 * builds take the same path as any change — the same environments, checks, approvals and
 * lineage — only faster: they are expedited (no soak, no place in the queue, and through deploy
 * windows where the policy says `expedite: allow`). Freezes hold them like anything else.
 */

export const HOTFIX_PREFIX = 'hotfix/';

/** Whether builds of `branch` are expedited. */
export function isHotfixBranch(branch: string | null | undefined): boolean {
  return branch != null && branch.startsWith(HOTFIX_PREFIX) && branch.length > HOTFIX_PREFIX.length;
}

/**
 * A hotfix's name: what follows `hotfix/` in its branch, one path segment git accepts and a
 * shell prints without quoting (it is shown inside `git` commands to copy). `hotfix/x` given as
 * a name means `x`.
 */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;

export function hotfixBranch(name: string): string {
  const bare = name.startsWith(HOTFIX_PREFIX) ? name.slice(HOTFIX_PREFIX.length) : name;
  if (!NAME.test(bare) || bare.includes('..') || bare.endsWith('.lock')) {
    throw new SlipwayError(
      ErrorCode.INVALID_NAME,
      `invalid hotfix name "${name}": use 1-64 letters, digits, dots, dashes and underscores, starting and ending with a letter or digit`,
      { kind: 'hotfix', name },
    );
  }
  return `${HOTFIX_PREFIX}${bare}`;
}

/** The name given when none is: the day and the short commit (`2026-12-01-3f2a1c9`), `-2`, `-3` … when taken. */
export function defaultHotfixName(now: Date, commit: string, attempt = 1): string {
  const day = now.toISOString().slice(0, 10);
  return `${day}-${commit.slice(0, 7)}${attempt > 1 ? `-${attempt}` : ''}`;
}

/**
 * Which environment is production, the one a hotfix starts from: the one named `production`;
 * otherwise the one at the end of the longest `from:` chain when exactly one is; otherwise the
 * only environment there is. Undefined when none can be told apart (the caller asks for --env).
 */
export function productionEnvironment(envs: readonly EnvironmentLink[]): string | undefined {
  if (envs.some((e) => e.name === 'production')) return 'production';
  if (envs.length === 1) return envs[0]?.name;
  const from = new Map(envs.map((e) => [e.name, e.from ?? null]));
  const depth = (name: string): number => {
    let hops = 0;
    const seen = new Set<string>();
    for (let at = from.get(name) ?? null; at !== null && from.has(at) && !seen.has(at); at = from.get(at) ?? null) {
      seen.add(at);
      hops++;
    }
    return hops;
  };
  const depths = envs.map((e) => ({ name: e.name, depth: depth(e.name) }));
  const deepest = Math.max(0, ...depths.map((d) => d.depth));
  const last = depths.filter((d) => d.depth === deepest);
  return deepest > 0 && last.length === 1 ? last[0]?.name : undefined;
}
