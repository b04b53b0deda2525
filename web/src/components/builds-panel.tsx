import { Fragment, useId, type MouseEvent } from 'react';
import type { ProjectActions } from '../../../src/protocol/actions.ts';
import type { Build } from '../../../src/protocol/builds.ts';
import { firstLine, shortCommit } from '../format.ts';
import { buildHref, projectHref } from '../route.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { isActive } from '../use-build-log.ts';
import { ActionButton, ActionNote } from './action-button.tsx';
import { BuildLog } from './build-log.tsx';
import { buildDuration, BuildStateBadge, refLabel } from './build-state.tsx';
import { ErrorNote } from './error-note.tsx';
import { ExternalLink } from './external-link.tsx';
import { GitPushHint } from './git-push-hint.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';

const COLUMNS = 6;

/**
 * The project's builds, newest first. The open build's log unfolds under its row; its
 * address (`#/projects/<p>/builds/<id>`) can be shared while the build runs.
 */
export function BuildsPanel({
  project,
  gitUrl,
  builds,
  openBuild,
  actions,
  refresh,
  onDone,
}: {
  project: string;
  gitUrl: string;
  builds: Build[];
  openBuild: string | undefined;
  /** What the person signed in may do to the project, as the server judged it (Project.actions). */
  actions: ProjectActions | undefined;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const notes = useId();
  const close = () => {
    window.location.hash = projectHref(project, 'builds');
  };
  const finished = () => void refresh();
  const log = (id: string) => <BuildLog key={id} project={project} buildId={id} onClose={close} onFinished={finished} />;
  // A link to a build older than the list still opens its log, above the list.
  const orphan = openBuild !== undefined && !builds.some((b) => b.id === openBuild) ? openBuild : undefined;

  if (builds.length === 0 && orphan === undefined) {
    return (
      <div className="empty">
        <p>
          No builds yet — push with <GitPushHint gitUrl={gitUrl} />
        </p>
        <p className="muted">
          Each commit builds once into a deployment with its own URL; every branch gets a preview environment that follows it.
        </p>
      </div>
    );
  }

  return (
    <div>
      {orphan !== undefined && <div className="orphan-log">{log(orphan)}</div>}
      {builds.some(isActive) && <ActionNote id={`${notes}-cancel`} verdict={actions?.cancelBuilds} />}
      {builds.some(isRetryable) && <ActionNote id={`${notes}-retry`} verdict={actions?.retryBuilds} />}
      <div className="table-wrap">
        <table className="table builds stack-narrow" aria-label="Builds">
          <thead>
            <tr>
              <th>Build</th>
              <th>Commit</th>
              <th>Trigger</th>
              <th>Started</th>
              <th>Result</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {builds.map((build) => (
              <Fragment key={build.id}>
                <BuildRow project={project} build={build} open={build.id === openBuild} actions={actions} notes={notes} refresh={refresh} onDone={onDone} />
                {build.id === openBuild && (
                  <tr className="log-row">
                    <td colSpan={COLUMNS}>{log(build.id)}</td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function BuildRow({
  project,
  build,
  open,
  actions,
  notes,
  refresh,
  onDone,
}: {
  project: string;
  build: Build;
  open: boolean;
  actions: ProjectActions | undefined;
  /** The id prefix of the panel's notes saying why cancel or retry is refused. */
  notes: string;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const { client } = useSession();
  const action = useAction(refresh);
  const href = open ? projectHref(project, 'builds') : buildHref(project, build.id);
  const took = buildDuration(build);
  const active = isActive(build);

  // The whole row opens the log; links and buttons inside it keep their own meaning.
  const toggle = (event: MouseEvent<HTMLTableRowElement>) => {
    if (event.target instanceof Element && event.target.closest('a, button, input, select, textarea')) return;
    if (window.getSelection()?.toString()) return;
    window.location.hash = href;
  };

  const cancel = async () => {
    const outcome = await action.run(() => client.cancelBuild(project, build.id));
    if (outcome.ok) {
      onDone(outcome.value.state === 'canceled' ? `Canceled ${build.id}.` : `Asked the runner to stop ${build.id}.`);
    }
  };

  const retry = async () => {
    const outcome = await action.run(() => client.retryBuild(build.id, project));
    if (outcome.ok) onDone(`Retrying ${shortCommit(build.commit)} as ${outcome.value.id}.`);
  };

  return (
    <tr data-build={build.id} data-state={build.state} className={`clickable${open ? ' is-open' : ''}`} onClick={toggle}>
      <td className="nowrap" data-label="Build">
        <BuildStateBadge build={build} />
        <div>
          <a className="mono small build-id" href={href} aria-expanded={open} title={open ? 'Close the log' : 'Open the log'}>
            {build.id}
          </a>
        </div>
      </td>
      <td className="source" data-label="Commit">
        <SourceRef commit={build.commit} branch={refLabel(build)} author={build.author} />
        {build.message && (
          <div className="source-message" title={build.message}>
            {firstLine(build.message)}
          </div>
        )}
      </td>
      <td data-label="Trigger">
        <span className="chip" title={build.sourceUrl ? `from ${build.sourceUrl}` : 'from Slipway’s own git repository'}>
          {build.trigger}
        </span>
        <div className="muted small">by {build.createdBy}</div>
      </td>
      <td className="nowrap" data-label="Started">
        {build.startedAt ? (
          <>
            <TimeAgo iso={build.startedAt} />
            <div className="muted small">
              {active ? 'running ' : 'took '}
              {took}
              {build.attempt > 1 && ` · try ${build.attempt}`}
            </div>
          </>
        ) : (
          <>
            <span className="muted">not started</span>
            <div className="muted small">
              queued <TimeAgo iso={build.createdAt} />
            </div>
          </>
        )}
      </td>
      <td className="build-result" data-label="Result">
        {build.state === 'succeeded' && build.deployment && build.deploymentUrl ? (
          <ExternalLink href={build.deploymentUrl} className="mono">
            {build.deployment}
          </ExternalLink>
        ) : build.state === 'failed' ? (
          <span className="build-error" title={build.error ?? undefined}>
            {build.error ? firstLine(build.error) : 'failed'}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
        {action.error && <ErrorNote error={action.error} subject={build.id} onDismiss={action.clear} />}
      </td>
      <td className="row-actions">
        {active && (
          <ActionButton
            verdict={actions?.cancelBuilds}
            className="button small"
            onClick={() => void cancel()}
            busy={action.pending || build.cancelRequested}
            title={build.cancelRequested ? 'Cancel requested; the runner is stopping it' : undefined}
            describedBy={`${notes}-cancel`}
          >
            {action.pending ? 'Canceling…' : 'Cancel'}
            <span className="visually-hidden"> {build.id}</span>
          </ActionButton>
        )}
        {isRetryable(build) && (
          <ActionButton
            verdict={actions?.retryBuilds}
            className="button small"
            onClick={() => void retry()}
            busy={action.pending}
            title="Build this commit again, as a new build"
            describedBy={`${notes}-retry`}
          >
            {action.pending ? 'Retrying…' : 'Retry'}
            <span className="visually-hidden"> {build.id}</span>
          </ActionButton>
        )}
      </td>
    </tr>
  );
}

/** A failed or canceled build can be built again (once: the server refuses a second retry of one build). */
function isRetryable(build: Build): boolean {
  return build.state === 'failed' || build.state === 'canceled';
}
