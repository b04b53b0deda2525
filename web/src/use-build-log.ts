import { useEffect, useState } from 'react';
import type { Build, BuildLogLine } from '../../src/protocol/builds.ts';
import type { ApiError } from '../../src/protocol/client.ts';
import { asApiError, useSession } from './session.ts';

/** How often a queued or running build's log is asked for new lines (slower in a hidden tab). */
const FOLLOW_MS = 500;
const HIDDEN_MS = 5000;
/** After a failed fetch: keep showing what loaded, try again a little later. */
const RETRY_MS = 2000;
/** More lines than this in one answer means a backlog (a long log just opened): fetch on at once. */
const BACKLOG = 100;
/** Lines kept in the page; a longer log shows its tail (`slipway logs <build>` prints all of it). */
export const MAX_LINES = 10_000;

export function isActive(build: Build): boolean {
  return build.state === 'queued' || build.state === 'running';
}

export interface BuildLogView {
  /** The build as of the last answer: its state ends the log. */
  build: Build | undefined;
  lines: BuildLogLine[];
  /** Lines dropped from the front to stay under MAX_LINES. */
  dropped: number;
  /** The last fetch's error, cleared by the next success. */
  error: ApiError | undefined;
}

const EMPTY: BuildLogView = { build: undefined, lines: [], dropped: 0, error: undefined };

/**
 * Follows one build's log. The API also streams it as Server-Sent Events, but EventSource
 * cannot send the Authorization header, so this polls `getBuildLogs(after)` instead.
 *
 * States: fetching → lines came and more may be waiting (a backlog, or a finished build
 * still draining): fetch again at once → … ; no new lines and the build is queued or
 * running: wait FOLLOW_MS → fetching; no new lines and the build finished: done (the server
 * reads the build before its lines, so every line is in by then). A failed fetch waits
 * RETRY_MS; BUILD_NOT_FOUND ends it; a rejected token signs out. Unmounting stops the timer.
 */
export function useBuildLog(project: string, buildId: string): BuildLogView {
  const { client, signOut } = useSession();
  const [state, setState] = useState<BuildLogView & { key: string }>({ ...EMPTY, key: '' });
  const key = `${project}/${buildId}`;

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let after = 0;
    const tick = async () => {
      let next: number | undefined;
      try {
        const { build, lines } = await client.getBuildLogs(project, buildId, { after });
        if (stopped) return;
        after = lines.at(-1)?.seq ?? after;
        setState((previous) => {
          const kept = previous.key === key ? previous : { ...EMPTY, key };
          // A restarted loop (a new client after re-auth) asks from 0 again: keep each line once.
          const shown = kept.lines.at(-1)?.seq ?? 0;
          const fresh = lines.filter((line) => line.seq > shown);
          const all = fresh.length === 0 ? kept.lines : kept.lines.concat(fresh);
          const drop = Math.max(0, all.length - MAX_LINES);
          return { key, build, lines: drop > 0 ? all.slice(drop) : all, dropped: kept.dropped + drop, error: undefined };
        });
        if (isActive(build)) next = lines.length > BACKLOG ? 0 : document.hidden ? HIDDEN_MS : FOLLOW_MS;
        else next = lines.length > 0 ? 0 : undefined;
      } catch (err) {
        if (stopped) return;
        const error = asApiError(err);
        if (error.code === 'UNAUTHENTICATED') {
          signOut(`The server rejected the token (${error.code}): ${error.message}`);
          return;
        }
        setState((previous) => ({ ...(previous.key === key ? previous : { ...EMPTY, key }), error }));
        next = error.code === 'BUILD_NOT_FOUND' || error.code === 'PROJECT_NOT_FOUND' ? undefined : RETRY_MS;
      }
      if (next !== undefined) timer = window.setTimeout(() => void tick(), next);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client, project, buildId, key, signOut]);

  if (state.key !== key) return EMPTY;
  const { build, lines, dropped, error } = state;
  return { build, lines, dropped, error };
}
