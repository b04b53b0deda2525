import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Build } from '../../../src/protocol/builds.ts';
import { formatAbsolute, formatCount, formatElapsed, shortCommit } from '../format.ts';
import { isActive, useBuildLog } from '../use-build-log.ts';
import { buildDuration, BuildStateBadge, refLabel } from './build-state.tsx';
import { ErrorNote } from './error-note.tsx';
import { ExternalLink } from './external-link.tsx';

/** Within this many pixels of the end counts as "at the end": the log keeps following. */
const STICKY_PX = 24;

/**
 * One build's log, live while the build is queued or running. It scrolls with new lines
 * unless the person scrolled up to read; then a button offers the way back to the end.
 */
export function BuildLog({
  project,
  buildId,
  onClose,
  onFinished,
}: {
  project: string;
  buildId: string;
  onClose: () => void;
  /** Called once when a build seen running finishes, so the page can show its outcome. */
  onFinished: () => void;
}) {
  const { build, lines, dropped, error } = useBuildLog(project, buildId);
  const body = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const [behind, setBehind] = useState(false);

  const onScroll = () => {
    const el = body.current;
    if (!el) return;
    following.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX;
    if (following.current) setBehind(false);
  };

  const toEnd = () => {
    const el = body.current;
    if (!el) return;
    following.current = true;
    el.scrollTop = el.scrollHeight;
    setBehind(false);
  };

  const state = build?.state;
  const lastSeq = lines.at(-1)?.seq;
  useLayoutEffect(() => {
    const el = body.current;
    if (!el) return;
    if (following.current) el.scrollTop = el.scrollHeight;
    else if (lastSeq !== undefined) setBehind(true);
  }, [lastSeq, state]);

  const wasActive = useRef(false);
  useEffect(() => {
    if (build === undefined) return;
    if (isActive(build)) wasActive.current = true;
    else if (wasActive.current) {
      wasActive.current = false;
      onFinished();
    }
  }, [build, onFinished]);

  const start = Date.parse(build?.startedAt ?? lines[0]?.at ?? '');

  return (
    <section className="build-log" aria-label={`Log of ${buildId}`} data-build-log={buildId}>
      <header className="build-log-head">
        <strong>Log</strong>
        <code>{buildId}</code>
        {build && (
          <>
            <BuildStateBadge build={build} />
            <span className="muted small">
              {shortCommit(build.commit)} on {refLabel(build)}
            </span>
          </>
        )}
        <button type="button" className="link-button push-right close-log" onClick={onClose} aria-label="Close the log">
          Close ×
        </button>
      </header>
      {error && <ErrorNote error={error} />}
      <div className="build-log-body" ref={body} onScroll={onScroll} role="log" tabIndex={0} aria-label={`Output of ${buildId}`}>
        {dropped > 0 && (
          <div className="log-note">
            {formatCount(dropped, 'earlier line')} not shown; <code>slipway logs {buildId}</code> prints them all.
          </div>
        )}
        {lines.map((line) => (
          <div key={line.seq} className={`log-line log-${line.stream}`} data-seq={line.seq}>
            <span className="log-time" title={formatAbsolute(line.at)}>
              {Number.isNaN(start) ? '' : formatElapsed(Date.parse(line.at) - start)}
            </span>
            <span className="log-text">{line.text}</span>
          </div>
        ))}
        {build ? <LogEnd build={build} empty={lines.length === 0} /> : !error && <div className="log-note">Loading…</div>}
      </div>
      {behind && (
        <button type="button" className="button small log-jump" onClick={toEnd}>
          ↓ New output — jump to the end
        </button>
      )}
    </section>
  );
}

/** The last line of the log: what the build is doing now, or how it ended. */
function LogEnd({ build, empty }: { build: Build; empty: boolean }) {
  const took = buildDuration(build);
  switch (build.state) {
    case 'queued':
      return <div className="log-end log-end-active">{build.cancelRequested ? 'Canceling…' : 'Waiting for a runner…'}</div>;
    case 'running':
      return (
        <div className="log-end log-end-active">
          {build.cancelRequested ? 'Canceling: the runner stops the build…' : `${empty ? 'Started, no output yet' : 'Running'}${took ? ` · ${took}` : ''}…`}
        </div>
      );
    case 'succeeded':
      return (
        <div className="log-end log-end-succeeded">
          Build succeeded{took ? ` in ${took}` : ''}
          {build.deployment && build.deploymentUrl && (
            <>
              {' '}
              → deployment{' '}
              <ExternalLink href={build.deploymentUrl} className="mono">
                {build.deployment}
              </ExternalLink>
            </>
          )}
        </div>
      );
    case 'failed':
      return (
        <div className="log-end log-end-failed">
          Build failed{took ? ` after ${took}` : ''}
          {build.error ? `: ${build.error}` : ''}
        </div>
      );
    case 'canceled':
      return <div className="log-end log-end-canceled">Build canceled{took ? ` after ${took}` : ' before it started'}</div>;
  }
}
