import type { Build } from '../../../src/protocol/builds.ts';
import { formatDuration } from '../format.ts';
import { isActive } from '../use-build-log.ts';

/** Queued and running pulse; succeeded is green, failed red, canceled grey. */
export function BuildStateBadge({ build }: { build: Build }) {
  const canceling = build.cancelRequested && isActive(build);
  return (
    <span className={`build-state build-${build.state}${canceling ? ' is-canceling' : ''}`} data-state={build.state}>
      {canceling ? 'canceling' : build.state}
    </span>
  );
}

/** How long a build ran (or has been running); undefined while it waits for a runner. */
export function buildDuration(build: Build, now: number = Date.now()): string | undefined {
  if (build.startedAt === null) return undefined;
  const end = build.finishedAt === null ? now : Date.parse(build.finishedAt);
  return formatDuration(end - Date.parse(build.startedAt));
}

/** "main", "tag v1.2", or the raw ref. */
export function refLabel(build: Build): string {
  if (build.branch !== null) return build.branch;
  if (build.ref.startsWith('refs/tags/')) return `tag ${build.ref.slice('refs/tags/'.length)}`;
  return build.ref;
}
