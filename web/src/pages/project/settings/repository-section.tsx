import { useState, type FormEvent } from 'react';
import type { Project, UpdateProjectRequest } from '../../../../../src/protocol/api.ts';
import { ErrorNote } from '../../../components/error-note.tsx';
import { useSession } from '../../../session.ts';
import { useAction } from '../../../use-action.ts';
import { Refusal } from './refusal.tsx';
import { whoMay, type Verdict } from './verdicts.ts';

/**
 * The external repository webhooks build from, and the default branch. The server checks the
 * URL (http(s) to a public host; credentials in it are stored sealed and shown as `***`), so a
 * refusal comes back with its code; only the fields that changed are sent.
 */
export function RepositorySection({
  project,
  edit,
  setDefaultBranch,
  refresh,
  onDone,
}: {
  project: Project;
  edit: Verdict;
  setDefaultBranch: Verdict;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  return (
    <section className="section settings-section" aria-labelledby="repository-title">
      <h2 id="repository-title">Repository</h2>
      <div className="card">
        {/* A new answer from the server starts the form again from what it says now. */}
        <RepositoryForm key={`${project.repo ?? ''}\n${project.defaultBranch}`} project={project} edit={edit} setDefaultBranch={setDefaultBranch} refresh={refresh} onDone={onDone} />
      </div>
    </section>
  );
}

function RepositoryForm({
  project,
  edit,
  setDefaultBranch,
  refresh,
  onDone,
}: {
  project: Project;
  edit: Verdict;
  setDefaultBranch: Verdict;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const { client } = useSession();
  const action = useAction(refresh);
  const [repo, setRepo] = useState(project.repo ?? '');
  const [branch, setBranch] = useState(project.defaultBranch);
  const changes: UpdateProjectRequest = {};
  if (repo.trim() !== (project.repo ?? '')) changes.repo = repo.trim() === '' ? null : repo.trim();
  if (branch.trim() !== project.defaultBranch && branch.trim() !== '') changes.defaultBranch = branch.trim();
  const changed = Object.keys(changes).length > 0;
  const hasCredentials = project.repo?.includes('***@') === true;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!changed) return;
    const outcome = await action.run(() => client.updateProject(project.name, changes));
    if (outcome.ok) onDone(`Saved: repository ${outcome.value.repo ?? '(none)'}, default branch ${outcome.value.defaultBranch}.`);
  };

  return (
    <form className="settings-form" onSubmit={(e) => void save(e)} aria-labelledby="repository-title">
      <p className="muted small settings-who">
        {whoMay('edit')} {whoMay('setDefaultBranch')}
      </p>
      <label className="field">
        <span>Repository URL</span>
        <input
          value={repo}
          onChange={(e) => setRepo(e.target.value)}
          placeholder="https://github.com/acme/shop.git"
          disabled={!edit.allowed || action.pending}
          aria-describedby="repository-help repository-refusal"
          autoComplete="off"
          spellCheck={false}
        />
      </label>
      <p className="muted small" id="repository-help">
        An <code>https://</code> (or <code>http://</code>) URL on a public host; Slipway fetches pushed commits from it. Credentials in it (
        <code>https://user:token@host/…</code>) are stored encrypted and never shown back
        {hasCredentials ? '; these are kept unless you change the URL' : ''}. Empty: builds come from pushes to Slipway only.
      </p>
      <Refusal verdict={edit} id="repository-refusal" />
      <label className="field">
        <span>Default branch</span>
        <input
          value={branch}
          onChange={(e) => setBranch(e.target.value)}
          disabled={!setDefaultBranch.allowed || action.pending}
          aria-describedby="branch-help branch-refusal"
          autoComplete="off"
          spellCheck={false}
        />
      </label>
      <p className="muted small" id="branch-help">
        Its <code>slipway.yaml</code> sets environment policy.
      </p>
      <Refusal verdict={setDefaultBranch} id="branch-refusal" />
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={!changed || action.pending || !(edit.allowed || setDefaultBranch.allowed)}>
          Save repository
        </button>
        {changed && (
          <button
            type="button"
            className="button"
            onClick={() => {
              setRepo(project.repo ?? '');
              setBranch(project.defaultBranch);
              action.clear();
            }}
          >
            Undo changes
          </button>
        )}
      </div>
      {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
    </form>
  );
}
