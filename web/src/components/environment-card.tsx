import { useId, useState, type ReactNode } from 'react';
import type { Verdict } from '../../../src/protocol/actions.ts';
import type { Environment, Release } from '../../../src/protocol/api.ts';
import type { Freeze } from '../../../src/protocol/freezes.ts';
import type { PipelineStage } from '../../../src/protocol/pipelines.ts';
import { formatAbsolute, formatRelative, formatShort } from '../format.ts';
import { deploymentsHref, releaseHref } from '../route.ts';
import { FreezeDialog, LockDialog, RollbackDialog, rollbackTarget, UnfreezeDialog, UnlockDialog } from './environment-actions.tsx';
import { ExternalLink } from './external-link.tsx';
import { PolicySummary } from './policy-summary.tsx';
import { PromoteForm } from './promote-form.tsx';
import { SourceRef } from './source-ref.tsx';
import { TimeAgo } from './time-ago.tsx';
import { WaitingReleases } from './waiting-releases.tsx';

type Open = 'none' | 'promote' | 'rollback' | 'lock' | 'unlock' | 'freeze' | 'unfreeze';

/** The server's verdict on an action (protocol/actions.ts): the browser never judges roles itself, so without one the button waits. */
function verdictOf(verdict: Verdict | undefined): Verdict {
  return verdict ?? { allowed: false, reason: 'The server did not say whether you may do this.', code: null };
}

/** A button the server's verdict enables (an admin's break-glass too) or disables; why not is said once below the buttons (`reasonId`). */
function ActionButton({ verdict, reasonId, onClick, primary, children }: { verdict: Verdict; reasonId: string | undefined; onClick: () => void; primary?: boolean; children: ReactNode }) {
  const blocked = !verdict.allowed && verdict.breakGlass !== true;
  return (
    <button type="button" className={`button${primary ? ' primary' : ''}`} onClick={onClick} disabled={blocked} aria-describedby={reasonId} title={verdict.reason ?? undefined}>
      {children}
    </button>
  );
}

/** What the environment upstream of this one (`from:`) runs: what "Promote" would bring here. */
export interface Upstream {
  name: string;
  deployment: string;
  release: number;
}

/**
 * One environment as a column of the pipeline: what it runs (release, commit, author, since
 * when, its URL), what holds it (pin, lock, freeze), what waits to enter it and why, and the
 * buttons that change it — each opening the shared confirmation dialog.
 */
export function EnvironmentCard({
  environment,
  stage,
  releases,
  environments,
  upstream,
  freezes,
  now,
  refresh,
  onDone,
}: {
  environment: Environment;
  /** Its place in the pipeline: policy, releases waiting to enter, warnings (previews have none). */
  stage: PipelineStage | undefined;
  /** This environment's releases, newest first. */
  releases: Release[];
  /** Every environment of the project (a promotion's confirmation names what it replaces). */
  environments: Environment[];
  upstream: Upstream | undefined;
  /** Freezes of this environment that have not ended. */
  freezes: Freeze[];
  now: number;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const project = environment.project;
  const [open, setOpen] = useState<Open>('none');
  const { pin, lock, follows, preview } = environment;
  const current = releases.find((r) => r.number === environment.release?.number);
  const target = rollbackTarget(environment, releases);
  const runs = stage?.runs ?? null;
  const waiting = stage?.waiting.length ?? 0;
  const frozen = freezes.filter((f) => Date.parse(f.from) <= now && now < Date.parse(f.until));
  const upcoming = freezes.filter((f) => Date.parse(f.from) > now);
  const close = () => setOpen('none');
  const done = (message: string) => {
    setOpen('none');
    onDone(message);
  };
  const actions = stage?.actions ?? environment.actions;
  const noTarget = target === undefined ? { allowed: false, reason: 'Nothing earlier to roll back to.', code: 'NO_PREVIOUS_RELEASE' } : undefined;
  const verdicts: Record<'promote' | 'rollback' | 'lock' | 'unlock' | 'freeze' | 'unfreeze', Verdict> = {
    promote: verdictOf(actions?.promote),
    // The dialog needs a target from the release history this page loaded.
    rollback: noTarget ?? verdictOf(actions?.rollback),
    lock: verdictOf(actions?.lock),
    unlock: verdictOf(actions?.unlock),
    freeze: verdictOf(actions?.freeze),
    unfreeze: verdictOf(actions?.unfreeze),
  };
  const promotable = upstream !== undefined && upstream.deployment !== environment.deployment ? upstream : undefined;
  const frozenOrComing = frozen.length + upcoming.length > 0;
  // The buttons this card shows: a reason is said only for one of them ("not locked" explains no Unlock button that isn't there).
  const shown: (keyof typeof verdicts)[] = [
    ...(promotable ? (['promote'] as const) : []),
    'rollback',
    lock ? 'unlock' : 'lock',
    ...(preview ? [] : [frozenOrComing ? ('unfreeze' as const) : ('freeze' as const)]),
  ];
  const reasonsId = useId();
  // Each reason once, however many buttons it disables.
  const reasons = [...new Set(shown.flatMap((name) => (verdicts[name].reason && !verdicts[name].allowed ? [verdicts[name].reason ?? ''] : [])))];
  const reasonId = (verdict: Verdict) => (verdict.reason && !verdict.allowed ? `${reasonsId}-${reasons.indexOf(verdict.reason)}` : undefined);
  const commit = runs?.commit ?? current?.commit ?? null;
  const branch = runs?.branch ?? current?.branch ?? null;
  const releaseId = runs?.releaseId ?? environment.release?.id ?? null;

  return (
    <section
      className={`card env-card env-column${preview ? ' is-preview' : ''}${lock ? ' is-locked' : ''}${frozen.length > 0 ? ' is-frozen' : ''}`}
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
          {frozen.length > 0 && (
            <span className="badge badge-frozen" title={`Frozen until ${formatAbsolute(frozen[0]?.until ?? '')}`}>
              FROZEN
            </span>
          )}
        </div>
      </header>
      <div className="env-url">
        <ExternalLink href={environment.url} />
      </div>
      {stage && <PolicySummary policy={stage.policy} />}

      {environment.deployment ? (
        <dl className="env-facts env-runs">
          <dt>Runs</dt>
          <dd>
            {environment.release &&
              (releaseId ? (
                <a className="release-number mono strong" href={releaseHref(project, releaseId)} aria-label={`Release v${environment.release.number} of ${environment.name}`}>
                  v{environment.release.number}
                </a>
              ) : (
                <span className="release-number">v{environment.release.number}</span>
              ))}{' '}
            <code className="env-deployment">{environment.deployment}</code>
          </dd>
          {(commit || branch) && (
            <>
              <dt>Commit</dt>
              <dd>
                <SourceRef commit={commit} branch={branch} author={runs?.author} />
              </dd>
            </>
          )}
          {(runs?.since || current) && (
            <>
              <dt>Since</dt>
              <dd>
                <TimeAgo iso={runs?.since ?? current?.liveAt ?? current?.createdAt ?? ''} />
                {current && <> by {current.trigger === 'automation' ? 'automation' : current.createdBy}</>}
                {current?.kind === 'rollback' && ' (rollback)'}
                {current?.kind === 'config' && ` (config v${current.configVersion ?? '?'})`}
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
          ) : waiting > 0 ? (
            'Nothing live here yet: what waits to enter is below.'
          ) : (
            'Nothing deployed here yet.'
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
      {frozen.map((freeze) => (
        <div key={freeze.id} className="env-note note-frozen" data-freeze={freeze.id}>
          <strong>Frozen</strong> by {freeze.createdBy} — “{freeze.reason}” until <span title={formatAbsolute(freeze.until)}>{formatShort(freeze.until)}</span> (
          {formatRelative(freeze.until)}). Nothing goes live but an admin&apos;s forced promotion.
        </div>
      ))}
      {upcoming.map((freeze) => (
        <div key={freeze.id} className="env-note note-upcoming muted small" data-freeze={freeze.id}>
          Freeze from {formatShort(freeze.from)} until {formatShort(freeze.until)} — “{freeze.reason}”.
        </div>
      ))}

      {stage && <WaitingReleases environment={environment.name} releases={stage.waiting} refresh={refresh} onDone={onDone} />}

      <div className="card-actions env-actions">
        {promotable ? (
          <ActionButton verdict={verdicts.promote} reasonId={reasonId(verdicts.promote)} onClick={() => setOpen('promote')} primary>
            Promote v{promotable.release} from {promotable.name}
            <span className="visually-hidden"> to {environment.name}</span>
          </ActionButton>
        ) : (
          !preview && (
            <a className="button" href={deploymentsHref(project)}>
              Promote a deployment…<span className="visually-hidden"> to {environment.name}</span>
            </a>
          )
        )}
        <ActionButton verdict={verdicts.rollback} reasonId={reasonId(verdicts.rollback)} onClick={() => setOpen('rollback')}>
          Roll back<span className="visually-hidden"> {environment.name}</span>
        </ActionButton>
        {lock ? (
          <ActionButton verdict={verdicts.unlock} reasonId={reasonId(verdicts.unlock)} onClick={() => setOpen('unlock')}>
            Unlock<span className="visually-hidden"> {environment.name}</span>
          </ActionButton>
        ) : (
          <ActionButton verdict={verdicts.lock} reasonId={reasonId(verdicts.lock)} onClick={() => setOpen('lock')}>
            Lock<span className="visually-hidden"> {environment.name}</span>
          </ActionButton>
        )}
        {!preview &&
          (frozenOrComing ? (
            <ActionButton verdict={verdicts.unfreeze} reasonId={reasonId(verdicts.unfreeze)} onClick={() => setOpen('unfreeze')}>
              Unfreeze<span className="visually-hidden"> {environment.name}</span>
            </ActionButton>
          ) : (
            <ActionButton verdict={verdicts.freeze} reasonId={reasonId(verdicts.freeze)} onClick={() => setOpen('freeze')}>
              Freeze<span className="visually-hidden"> {environment.name}</span>
            </ActionButton>
          ))}
      </div>
      {reasons.length > 0 && (
        <ul className="why-not muted small">
          {reasons.map((reason, i) => (
            <li key={reason} id={`${reasonsId}-${i}`}>
              {reason}
            </li>
          ))}
        </ul>
      )}

      {open === 'promote' && promotable && (
        <PromoteForm
          deployment={{ id: promotable.deployment, project }}
          environments={environments}
          target={environment.name}
          refresh={refresh}
          onDone={done}
          onCancel={close}
        />
      )}
      {open === 'rollback' && target && <RollbackDialog environment={environment} target={target} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'lock' && <LockDialog environment={environment} waiting={waiting} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'unlock' && <UnlockDialog environment={environment} waiting={waiting} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'freeze' && <FreezeDialog environment={environment} waiting={waiting} refresh={refresh} onDone={done} onCancel={close} />}
      {open === 'unfreeze' && <UnfreezeDialog environment={environment} freezes={[...frozen, ...upcoming]} refresh={refresh} onDone={done} onCancel={close} />}
    </section>
  );
}
