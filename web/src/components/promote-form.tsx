import { useState, type FormEvent } from 'react';
import type { Deployment, Environment } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { BreakGlass } from './break-glass.tsx';
import { ErrorNote } from './error-note.tsx';

const NEW = '\u0000new';

/** What the person saw of the target environment when they chose it; sent as `expectRelease`. */
interface Seen {
  release: number;
  deployment: string | null;
}

function seenOf(environments: Environment[], name: string): Seen {
  const environment = environments.find((e) => e.name === name);
  return { release: environment?.release?.number ?? 0, deployment: environment?.deployment ?? null };
}

function defaultTarget(environments: Environment[], deployment: Deployment): string {
  const elsewhere = environments.filter((e) => e.deployment !== deployment.id);
  return (elsewhere.find((e) => e.name === 'production') ?? elsewhere[0] ?? environments[0])?.name ?? NEW;
}

export function PromoteForm({
  deployment,
  environments,
  refresh,
  onDone,
  onCancel,
}: {
  deployment: Deployment;
  environments: Environment[];
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { client } = useSession();
  const action = useAction(refresh);
  const [choice, setChoice] = useState(() => defaultTarget(environments, deployment));
  const [newName, setNewName] = useState(environments.length === 0 ? 'production' : '');
  const target = choice === NEW ? newName.trim() : choice;
  const [seen, setSeen] = useState<Seen>(() => seenOf(environments, target));
  const [reason, setReason] = useState('');
  const [force, setForce] = useState(false);
  const live = environments.find((e) => e.name === target);
  const moved = live !== undefined && (live.release?.number ?? 0) !== seen.release;
  // Promoting what is already live only makes sense to clear a pin (the server says ALREADY_LIVE otherwise).
  const alreadyLive = live !== undefined && live.deployment === deployment.id && live.pin === null;

  const choose = (value: string) => {
    setChoice(value);
    setSeen(seenOf(environments, value === NEW ? newName.trim() : value));
  };
  const rename = (value: string) => {
    setNewName(value);
    setSeen(seenOf(environments, value.trim()));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (target === '') return;
    const outcome = await action.run(() =>
      client.promote(deployment.project, target, {
        deployment: deployment.id,
        expectRelease: seen.release,
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        ...(force ? { force: true } : {}),
      }),
    );
    if (outcome.ok) {
      onDone(`Promoted ${deployment.id} to ${target} as v${outcome.value.number}.`);
      return;
    }
    // The error names the release that is live now; the form shows it, and a second press
    // promotes on top of that one, knowingly.
    const actual = outcome.error.details?.actual;
    if (outcome.error.code === 'RELEASE_CONFLICT' && typeof actual === 'number') setSeen({ release: actual, deployment: null });
  };

  const seenDeployment = seen.deployment ?? (live?.release?.number === seen.release ? live.deployment : null);

  return (
    <form className="inline-form promote-form" onSubmit={(e) => void submit(e)} aria-label={`Promote ${deployment.id}`}>
      <div className="form-row">
        <label className="field">
          <span>Promote to</span>
          <select value={choice} onChange={(e) => choose(e.target.value)} aria-label="Target environment">
            {environments.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
                {e.deployment === deployment.id ? ' (live here)' : ''}
              </option>
            ))}
            <option value={NEW}>New environment…</option>
          </select>
        </label>
        {choice === NEW && (
          <label className="field">
            <span>Environment name</span>
            <input value={newName} onChange={(e) => rename(e.target.value)} placeholder="staging" aria-label="New environment name" required />
          </label>
        )}
        <label className="field grow">
          <span>Reason (optional)</span>
          <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. ship the new checkout" required={force} />
        </label>
      </div>
      <p className="promote-summary">
        {target === '' ? (
          'Name the environment to create.'
        ) : alreadyLive ? (
          <>
            <code>{deployment.id}</code> is already live in <strong>{target}</strong>.
          </>
        ) : live === undefined ? (
          <>
            <strong>{target}</strong> does not exist yet; this creates it at v1 with <code>{deployment.id}</code>.
          </>
        ) : (
          <>
            <strong>{target}</strong> is at {seen.release === 0 ? 'no release yet' : `v${seen.release}`}
            {seenDeployment && (
              <>
                {' '}
                (<code>{seenDeployment}</code>)
              </>
            )}{' '}
            → becomes v{seen.release + 1} with <code>{deployment.id}</code>.
            {live.pin && ' This clears its pin.'}
          </>
        )}
      </p>
      {moved && !action.error && (
        <p className="lock-warning">
          {target} has moved to v{live.release?.number ?? 0} since you opened this form (you saw v{seen.release}). Promoting now will be
          refused; check what is live, then open the form again.
        </p>
      )}
      <BreakGlass environment={live} checked={force} onChange={setForce} />
      {action.error && <ErrorNote error={action.error} subject={target} />}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={action.pending || target === '' || alreadyLive}>
          {action.pending ? 'Promoting…' : `Promote to ${target || '…'}`}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
