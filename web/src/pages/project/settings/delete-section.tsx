import { useState, type FormEvent } from 'react';
import { ErrorNote } from '../../../components/error-note.tsx';
import { projectsHref } from '../../../route.ts';
import { useSession } from '../../../session.ts';
import { useAction } from '../../../use-action.ts';
import { Refusal } from './refusal.tsx';
import { whoMay, type Verdict } from './verdicts.ts';

/**
 * Deleting the project, as `slipway projects delete <name> --confirm <name>`: the name typed
 * again is sent as it was typed, and the server compares it (CONFIRMATION_MISMATCH otherwise).
 * Afterwards the browser goes back to the projects page, which no longer lists it.
 */
export function DeleteSection({ project, verdict }: { project: string; verdict: Verdict }) {
  const { client } = useSession();
  const action = useAction(async () => {});
  const [typed, setTyped] = useState('');
  const disabled = !verdict.allowed || action.pending;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() => client.deleteProject(project, typed));
    if (outcome.ok) window.location.hash = projectsHref;
  };

  return (
    <section className="section settings-section" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete project</h2>
      <form className="card settings-form settings-danger" onSubmit={(e) => void submit(e)} aria-labelledby="delete-title">
        <p className="muted small settings-who">{whoMay('delete')}</p>
        <p>
          Deleting <strong>{project}</strong> cannot be undone. At once its deployment URLs, environments and custom domains stop being served, queued builds are canceled,
          and webhooks and git pushes to it are refused. Its git repository and the files no other project uses are deleted; the audit log keeps its history.
        </p>
        <label className="field">
          <span>Type {project} to confirm</span>
          <input
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            disabled={disabled}
            aria-describedby="delete-refusal"
          />
        </label>
        <div className="form-actions">
          <button type="submit" className="button danger" disabled={disabled || typed === ''}>
            Delete {project}
          </button>
        </div>
        <Refusal verdict={verdict} id="delete-refusal" />
        {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
      </form>
    </section>
  );
}
