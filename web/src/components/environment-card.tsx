import { useState } from 'react';
import type { Environment, Release } from '../../../src/protocol/api.ts';
import type { PipelineStage } from '../../../src/protocol/pipelines.ts';
import { formatAbsolute, formatRelative, formatShort } from '../format.ts';
import { useSession } from '../session.ts';
import { ExternalLink } from './external-link.tsx';
import { LockForm } from './lock-form.tsx';
import { PolicySummary } from './policy-summary.tsx';
import { RollbackForm, rollbackTarget } from './rollback-form.tsx';
import { TimeAgo } from './time-ago.tsx';
import { UnlockForm } from './unlock-form.tsx';
import { WaitingReleases } from './waiting-releases.tsx';

type Open = 'none' | 'rollback' | 'lock' | 'unlock';

export function EnvironmentCard({
  environment,
  stage,
  releases,
  refresh,
  onDone,
  onShowReleases,
  onOpenRelease,
}: {
  environment: Environment;
  /** Its place in the pipeline: policy, releases waiting to enter, warnings (previews have none). */
  stage: PipelineStage | undefined;
  /** This environment's releases, newest first. */
  releases: Release[];
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onShowReleases: () => void;
  onOpenRelease: (release: Release) => void;
}) {
  const { can } = useSession();
  const canDeploy = can(environment.project, 'deployer');
  const [open, setOpen] = useState<Open>('none');
  const { pin, lock, follows, preview } = environment;
  const current = releases.find((r) => r.number === environment.release?.number);
  const target = rollbackTarget(environment, releases);
  const close = () => setOpen('none');
  const done = (message: string) => {
    setOpen('none');
    onDone(message);
  };
  const readOnly = canDeploy ? undefined : 'Changing environments needs the deployer role on this project';

  return (
    <section
      className={`card env-card${preview ? ' is-preview' : ''}${lock ? ' is-locked' : ''}`}
      data-environment={environment.name}
      aria-label={`Environment ${environment.name}`}
    >
      <header className="env-card-head">
        <div className="env-title">
          <h3>{environment.name}</h3>
          {follows && (
            <span className="follows" title={`Moves to each new successful build of ${follows}`}>
              follows <span className="branch">{follows}</span>
            </span>
          )}
        </div>
        <div className="badges">
          {preview && (
            <span className="badge badge-preview" title={follows ? `The preview of branch ${follows}` : 'A branch preview'}>
              PREVIEW
            </span>
          )}
          {pin && (
            <span className="badge badge-pinned" title={`Pinned by ${pin.by} ${formatAbsolute(pin.at)}`}>
              PINNED
            </span>
          )}
          {lock && (
            <span className="badge badge-locked" title={`Locked by ${lock.by} ${formatAbsolute(lock.at)}`}>
              LOCKED
            </span>
          )}
        </div>
      </header>
      <div className="env-url">
        <ExternalLink href={environment.url} />
      </div>
      {stage && <PolicySummary policy={stage.policy} />}

      {environment.deployment ? (
        <dl className="env-facts">
          <dt>Deployment</dt>
          <dd>
            <code className="env-deployment">{environment.deployment}</code>
            {environment.release && <span className="release-number">v{environment.release.number}</span>}
          </dd>
          {current && (
            <>
              <dt>Released</dt>
              <dd>
                <TimeAgo iso={current.createdAt} /> by {current.createdBy}
                {current.kind === 'rollback' && ' (rollback)'}
                {current.kind === 'config' && ` (config v${current.configVersion ?? '?'})`}
              </dd>
            </>
          )}
        </dl>
      ) : (
        <p className="muted">
          {follows ? (
            <>
              Nothing deployed here yet: waiting for the first successful build of <span className="branch">{follows}</span>.
            </>
          ) : stage && stage.waiting.length > 0 ? (
            'Nothing live here yet: what waits to enter is below.'
          ) : (
            'Nothing deployed here yet. Promote a deployment below.'
          )}
        </p>
      )}

      {stage?.warnings.map((warning) => (
        <div key={warning} className="env-note note-warning" role="note">
          <strong>Warning:</strong> {warning}
        </div>
      ))}
      {pin && (
        <div className="env-note note-pinned">
          <strong>Pinned</strong> by {pin.by} <TimeAgo iso={pin.at} />
          {pin.reason && <> — “{pin.reason}”</>}. Automation leaves it here until someone promotes explicitly.
        </div>
      )}
      {lock && (
        <div className="env-note note-locked">
          <strong>Locked</strong> by {lock.by} — “{lock.reason}”
          {lock.until ? (
            <>
              {' '}
              until <span title={formatAbsolute(lock.until)}>{formatShort(lock.until)}</span> ({formatRelative(lock.until)})
            </>
          ) : (
            ' until unlocked'
          )}
          .
        </div>
      )}

      {stage && <WaitingReleases environment={environment.name} releases={stage.waiting} onOpen={onOpenRelease} refresh={refresh} onDone={onDone} />}

      {open === 'none' && (
        <div className="card-actions">
          <button
            type="button"
            className="button"
            onClick={() => setOpen('rollback')}
            disabled={!canDeploy || target === undefined}
            title={readOnly ?? (target === undefined ? 'No earlier deployment to roll back to' : `Roll back to ${target.deployment}`)}
          >
            Rollback
          </button>
          {lock ? (
            <button type="button" className="button" onClick={() => setOpen('unlock')} disabled={!canDeploy} title={readOnly}>
              Unlock
            </button>
          ) : (
            <button type="button" className="button" onClick={() => setOpen('lock')} disabled={!canDeploy} title={readOnly}>
              Lock
            </button>
          )}
          <button type="button" className="link-button push-right" onClick={onShowReleases}>
            Release history
          </button>
        </div>
      )}
      {open === 'rollback' && target && <RollbackForm environment={environment} target={target} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'lock' && <LockForm environment={environment} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'unlock' && <UnlockForm environment={environment} refresh={refresh} onDone={done} onCancel={close} />}
    </section>
  );
}
