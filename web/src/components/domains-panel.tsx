import { useId, useState, type FormEvent } from 'react';
import type { ProjectActions } from '../../../src/protocol/actions.ts';
import type { Domain, Environment } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';
import { useAction } from '../use-action.ts';
import { ActionButton, ActionNote } from './action-button.tsx';
import { ErrorNote } from './error-note.tsx';
import { ExternalLink } from './external-link.tsx';

export function DomainsPanel({
  project,
  domains,
  environments,
  actions,
  refresh,
  onDone,
}: {
  project: string;
  domains: Domain[];
  environments: Environment[];
  /** What the person signed in may do to the project, as the server judged it (Project.actions). */
  actions: ProjectActions | undefined;
  refresh: () => Promise<void>;
  onDone: (message: string) => void;
}) {
  const { client } = useSession();
  const removeNote = useId();
  const action = useAction(refresh);
  const [hostname, setHostname] = useState('');
  const [environment, setEnvironment] = useState('production');

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() => client.addDomain(project, { hostname: hostname.trim(), environment }));
    if (outcome.ok) {
      setHostname('');
      onDone(`${outcome.value.hostname} now serves ${outcome.value.environment}.`);
    }
  };
  const remove = async (name: string) => {
    const outcome = await action.run(() => client.removeDomain(project, name));
    if (outcome.ok) onDone(`Removed ${name}.`);
  };
  const names = [...new Set(['production', ...environments.map((e) => e.name)])];

  return (
    <div>
      {domains.length === 0 ? (
        <p className="muted">No custom domains. Point a hostname’s DNS at Slipway, then map it to an environment here.</p>
      ) : (
        <ul className="domain-list">
          {domains.map((domain) => (
            <li key={domain.hostname}>
              <ExternalLink href={domain.url}>{domain.hostname}</ExternalLink>
              <span className="muted">→</span>
              <span className="chip">{domain.environment}</span>
              <ActionButton
                verdict={actions?.removeDomain}
                className="link-button danger-text"
                busy={action.pending}
                onClick={() => void remove(domain.hostname)}
                describedBy={removeNote}
              >
                Remove<span className="visually-hidden"> {domain.hostname}</span>
              </ActionButton>
            </li>
          ))}
        </ul>
      )}
      {domains.length > 0 && <ActionNote id={removeNote} verdict={actions?.removeDomain} />}
      <form className="form-row" onSubmit={(e) => void add(e)} aria-label="Add a custom domain">
        <label className="field grow">
          <span>Hostname</span>
          <input value={hostname} onChange={(e) => setHostname(e.target.value)} placeholder="shop.example.com" required />
        </label>
        <label className="field">
          <span>Environment</span>
          <select value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <ActionButton verdict={actions?.addDomain} type="submit" busy={action.pending || hostname.trim() === ''}>
          Add domain
        </ActionButton>
      </form>
      {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
    </div>
  );
}
