/**
 * The shape of a project's pipeline: environments linked by `from:` (production from staging
 * from dev). Each environment has at most one upstream, so the links form trees, unless a
 * configuration makes a cycle, which `findCycle` names so it can be refused.
 */

export interface EnvironmentLink {
  name: string;
  /** The upstream environment's name; null or missing for none. */
  from: string | null | undefined;
}

/**
 * Environment names in pipeline order: each pipeline from its first environment down (dev,
 * staging, production), one after the other, siblings and pipelines by name; environments
 * that take part in no pipeline (no `from:`, and nobody's upstream) come last, by name. A
 * `from:` naming an environment not in the list counts as none; environments caught in a
 * cycle come at the very end, by name, so every name appears exactly once.
 */
export function orderEnvironments(envs: readonly EnvironmentLink[]): string[] {
  const names = new Set(envs.map((env) => env.name));
  const downstream = new Map<string, string[]>();
  const heads: string[] = [];
  for (const env of envs) {
    const from = upstreamOf(env, names);
    if (from === null) heads.push(env.name);
    else downstream.set(from, [...(downstream.get(from) ?? []), env.name]);
  }
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const pipelines = heads.filter((name) => downstream.has(name)).sort(byName);
  const alone = heads.filter((name) => !downstream.has(name)).sort(byName);

  const ordered: string[] = [];
  const placed = new Set<string>();
  const visit = (name: string): void => {
    if (placed.has(name)) return;
    placed.add(name);
    ordered.push(name);
    for (const next of [...(downstream.get(name) ?? [])].sort(byName)) visit(next);
  };
  for (const name of pipelines) visit(name);
  for (const name of alone) visit(name);
  const cycled = [...names].filter((name) => !placed.has(name)).sort(byName);
  return [...ordered, ...cycled];
}

/**
 * A cycle of `from:` links, in the direction releases flow and closed (its first name again at
 * the end): `['production', 'staging', 'production']` when staging comes from production and
 * production from staging; `['dev', 'dev']` for an environment that comes from itself. Null
 * when there is none. With several cycles, the one whose first name sorts first.
 */
export function findCycle(envs: readonly EnvironmentLink[]): string[] | null {
  return findCycles(envs)[0] ?? null;
}

/** Every cycle of `from:` links, each as `findCycle` gives it, ordered by their first name. */
export function findCycles(envs: readonly EnvironmentLink[]): string[][] {
  const names = new Set(envs.map((env) => env.name));
  const upstream = new Map<string, string>();
  for (const env of envs) {
    const from = upstreamOf(env, names);
    if (from !== null) upstream.set(env.name, from);
  }
  const cycles: string[][] = [];
  const done = new Set<string>();
  for (const start of [...names].sort()) {
    // Walk upstream; a name met twice on this walk closes a cycle.
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let current: string | undefined = start;
    while (current !== undefined && !done.has(current) && !onPath.has(current)) {
      onPath.set(current, path.length);
      path.push(current);
      current = upstream.get(current);
    }
    if (current !== undefined && onPath.has(current)) {
      // `path` runs against the flow (downstream → upstream); a cycle reads in the flow's direction.
      const loop = path.slice(onPath.get(current)).reverse();
      const first = loop.indexOf([...loop].sort()[0] as string);
      const rotated = [...loop.slice(first), ...loop.slice(0, first)];
      cycles.push([...rotated, rotated[0] as string]);
    }
    for (const name of path) done.add(name);
  }
  return cycles.sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1));
}

function upstreamOf(env: EnvironmentLink, names: ReadonlySet<string>): string | null {
  return env.from !== null && env.from !== undefined && names.has(env.from) ? env.from : null;
}
