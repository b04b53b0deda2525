import { useCallback, useId, useState, type FormEvent } from 'react';
import { PERSON_ROLES, type PersonRole } from '../../../../../src/core/glossary.ts';
import { ErrorNote } from '../../../components/error-note.tsx';
import { TimeAgo } from '../../../components/time-ago.tsx';
import { useSession } from '../../../session.ts';
import { useAction } from '../../../use-action.ts';
import { useLive } from '../../../use-live.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { Refusal } from './refusal.tsx';
import { whoMay, type Verdict } from './verdicts.ts';

/** Least to most: the order a role list reads in. */
const ROLES: readonly PersonRole[] = [...PERSON_ROLES].reverse();

/**
 * Who has a role on this project beyond their global one: add a user (they must exist on the
 * server: `slipway users create`), change a member's role, remove one.
 */
export function MembersSection({ project, manage, onDone }: { project: string; manage: Verdict; onDone: (message: string) => void }) {
  const { client } = useSession();
  const load = useCallback(async () => {
    const [members, users] = await Promise.all([client.listMembers(project), client.listUsers()]);
    return { members: members.members, users: users.users };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['settings'] });
  const action = useAction(poll.refresh);
  const [user, setUser] = useState('');
  const [role, setRole] = useState<PersonRole>('deployer');
  const roleId = useId();
  const disabled = !manage.allowed || action.pending;

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const name = user.trim();
    const outcome = await action.run(() => client.setMember(project, name, { role }));
    if (outcome.ok) {
      setUser('');
      onDone(`${outcome.value.user} is ${outcome.value.role} on ${project}.`);
    }
  };
  const change = async (name: string, next: PersonRole) => {
    const outcome = await action.run(() => client.setMember(project, name, { role: next }));
    if (outcome.ok) onDone(`${name} is ${next} on ${project}.`);
  };

  const data = poll.data;
  const globalRole = new Map(data?.users.map((u) => [u.name, u.role]));
  return (
    <section className="section settings-section" aria-labelledby="members-title">
      <h2 id="members-title">Members and roles</h2>
      <div className="card settings-form">
        <p className="muted small settings-who">
          {whoMay('manageMembers')} A membership raises a user’s global role on this project; it never lowers it.
        </p>
        {poll.error && <ErrorNote error={poll.error} />}
        {data === undefined ? (
          !poll.error && <p className="muted">Loading…</p>
        ) : data.members.length === 0 ? (
          <p className="muted">No members: everyone acts here with their global role.</p>
        ) : (
          <ul className="settings-list" aria-label={`Members of ${project}`}>
            {data.members.map((m) => (
              <li key={m.user} className="settings-item">
                <div className="settings-item-main">
                  <span className="strong">{m.user}</span>
                  <span className="muted small">
                    global role {globalRole.get(m.user) ?? '?'} · added by {m.createdBy} <TimeAgo iso={m.createdAt} />
                  </span>
                </div>
                <div className="settings-item-actions">
                  <label className="settings-inline-field">
                    <span className="visually-hidden">Role of {m.user}</span>
                    <select value={m.role} onChange={(e) => void change(m.user, e.target.value as PersonRole)} disabled={disabled} aria-describedby="members-refusal">
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </label>
                  <ConfirmButton
                    label={`Remove ${m.user}`}
                    summary={`${m.user} loses the ${m.role} role on ${project} and acts here with their global role (${globalRole.get(m.user) ?? '?'}).`}
                    confirmLabel="Yes, remove"
                    pendingLabel="Removing…"
                    perform={() => client.removeMember(project, m.user)}
                    onDone={() => onDone(`${m.user} is no longer a member of ${project}.`)}
                    refresh={poll.refresh}
                    disabled={disabled}
                    describedBy="members-refusal"
                  />
                </div>
              </li>
            ))}
          </ul>
        )}
        <form className="form-row" onSubmit={(e) => void add(e)} aria-label="Add a member">
          <label className="field grow">
            <span>User</span>
            <input
              value={user}
              onChange={(e) => setUser(e.target.value)}
              list="settings-users"
              placeholder="name or usr-…"
              required
              disabled={disabled}
              autoComplete="off"
              spellCheck={false}
              aria-describedby="members-refusal"
            />
          </label>
          <datalist id="settings-users">
            {data?.users.map((u) => (
              <option key={u.id} value={u.name} />
            ))}
          </datalist>
          {/* Not wrapped in its label: a wrapping label would add the chosen option to the select's name. */}
          <div className="field">
            <label htmlFor={roleId}>Role</label>
            <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as PersonRole)} disabled={disabled}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="button" disabled={disabled || user.trim() === ''}>
            Add member
          </button>
        </form>
        <Refusal verdict={manage} id="members-refusal" />
        {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
      </div>
    </section>
  );
}
