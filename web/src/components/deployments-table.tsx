import { Fragment, useState } from 'react';
import type { Verdict } from '../../../src/protocol/actions.ts';
import type { Deployment, Environment } from '../../../src/protocol/api.ts';
import { firstLine, formatBytes, formatCount } from '../format.ts';
import { deploymentsHref } from '../route.ts';
import { ExternalLink } from './external-link.tsx';
import { PromoteForm } from './promote-form.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';

export function DeploymentsTable({
  project,
  deployments,
  environments,
  promote,
  refresh,
  onDone,
}: {
  project: string;
  deployments: Deployment[];
  environments: Environment[];
  /** The server's verdict on promoting this project's deployments (each environment's own says what holds it). */
  promote: Verdict | undefined;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const canDeploy = promote?.allowed === true;
  const [promoting, setPromoting] = useState<string | undefined>(undefined);

  if (deployments.length === 0) {
    return (
      <div className="empty">
        <p>No deployments yet — run</p>
        <pre>
          <code>slipway deploy ./dist --project {project}</code>
        </pre>
        <p className="muted">Each deployment gets its own URL forever; promoting it to an environment moves a pointer, never rebuilds.</p>
      </div>
    );
  }

  return (
    <div className="table-wrap">
      <table className="table deployments stack-narrow" aria-label="Deployments">
        <thead>
          <tr>
            <th>Deployment</th>
            <th>Source</th>
            <th>Created</th>
            <th className="num">Files</th>
            <th className="num">Size</th>
            <th>Live in</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {deployments.map((deployment) => {
            const liveIn = environments.filter((e) => e.deployment === deployment.id);
            const { commit, branch, message, author } = deployment.meta;
            return (
              <Fragment key={deployment.id}>
                <tr data-deployment={deployment.id} className={promoting === deployment.id ? 'is-open' : undefined}>
                  <td data-label="Deployment">
                    <div className="deployment-links">
                      <a className="mono" href={deploymentsHref(project, deployment.id)} title="This deployment's address in the dashboard">
                        {deployment.id}
                      </a>
                      <ExternalLink href={deployment.url} className="small">
                        Open<span className="visually-hidden"> {deployment.id}</span>
                      </ExternalLink>
                    </div>
                  </td>
                  <td className="source" data-label="Source">
                    <SourceRef commit={commit} branch={branch} author={author} />
                    {message ? (
                      <div className="source-message" title={message}>
                        {firstLine(message)}
                      </div>
                    ) : (
                      !commit && !branch && <span className="muted">{deployment.meta.source ?? 'upload'}</span>
                    )}
                  </td>
                  <td className="nowrap" data-label="Created">
                    <TimeAgo iso={deployment.createdAt} />
                    <div className="muted small">by {deployment.createdBy}</div>
                  </td>
                  <td className="num" data-label="Files">
                    {formatCount(deployment.fileCount, 'file')}
                  </td>
                  <td className="num nowrap" data-label="Size">
                    {formatBytes(deployment.totalBytes)}
                  </td>
                  <td data-label="Live in">
                    <div className="chips">
                      {liveIn.map((e) => (
                        <span key={e.name} className="chip chip-live">
                          {e.name}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="button small"
                      disabled={!canDeploy}
                      title={canDeploy ? undefined : (promote?.reason ?? undefined)}
                      onClick={() => setPromoting(promoting === deployment.id ? undefined : deployment.id)}
                      aria-expanded={promoting === deployment.id}
                    >
                      Promote to…<span className="visually-hidden"> ({deployment.id})</span>
                    </button>
                  </td>
                </tr>
                {promoting === deployment.id && (
                  <tr className="form-row-wrap">
                    <td colSpan={7}>
                      <PromoteForm
                        deployment={deployment}
                        environments={environments}
                        refresh={refresh}
                        onCancel={() => setPromoting(undefined)}
                        onDone={(message) => {
                          setPromoting(undefined);
                          onDone(message);
                        }}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
