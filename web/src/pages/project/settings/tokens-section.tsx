import { useCallback, useId, useState, type FormEvent } from 'react';
import { PERSON_ROLES, type PersonRole } from '../../../../../src/core/glossary.ts';
import type { CreatedToken, Token } from '../../../../../src/protocol/api.ts';
import { CopyButton } from '../../../components/copy-button.tsx';
import { ErrorNote } from '../../../components/error-note.tsx';
import { TimeAgo } from '../../../components/time-ago.tsx';
import { useSession } from '../../../session.ts';
import { useAction } from '../../../use-action.ts';
import { useLive } from '../../../use-live.ts';
import { ConfirmButton } from './confirm-button.tsx';
import type { Verdict } from './verdicts.ts';

const ROLES: readonly PersonRole[] = [...PERSON_ROLES].reverse();

type Kind = 'personal' | 'service';

/**
 * API tokens that reach this project: service tokens scoped to it (an admin's to make, with a
 * role) and the signed-in person's own personal tokens (anyone's to make; they act with the
 * person's roles). A new token's secret is shown once; revoking stops it at once.
 */
export function TokensSection({
  project,
  verdicts,
  onDone,
}: {
  project: string;
  /** The server's verdicts on making each kind of token here (`Project.actions`). */
  verdicts: { service: Verdict; personal: Verdict };
  onDone: (message: string) => void;
}) {
  const { client, whoami } = useSession();
  const load = useCallback(() => client.listTokens(), [client]);
  const poll = useLive(load, { project, topics: ['settings'] });
  const action = useAction(poll.refresh);
  const me = whoami.user?.name ?? null;
  const { service: mayService, personal: mayPersonal } = verdicts;
  const [kind, setKind] = useState<Kind>(mayPersonal.allowed || !mayService.allowed ? 'personal' : 'service');
  const [name, setName] = useState('');
  const [role, setRole] = useState<PersonRole>('deployer');
  const roleId = useId();
  const [onlyHere, setOnlyHere] = useState(true);
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<CreatedToken | undefined>(undefined);
  const verdict = kind === 'service' ? mayService : mayPersonal;
  const disabled = !verdict.allowed || action.pending;

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() =>
      client.createToken({
        name: name.trim(),
        ...(kind === 'service' ? { role, project } : onlyHere ? { project } : {}),
        ...(expires.trim() === '' ? {} : { expires: expires.trim() }),
      }),
    );
    if (outcome.ok) {
      setName('');
      setCreated(outcome.value);
      onDone(`Created token ${outcome.value.token.id}.`);
    }
  };
  const revoke = (token: Token) => () => client.revokeToken(token.id);
  const revoked = (token: Token) => {
    if (created?.token.id === token.id) setCreated(undefined);
    onDone(`Revoked ${token.name} (${token.id}); it stops working at once.`);
  };

  const all = poll.data?.tokens ?? [];
  const live = all.filter((t) => t.revokedAt === null && t.role !== 'agent' && t.role !== 'runner');
  const service = live.filter((t) => t.user === null && t.project === project);
  const personal = live.filter((t) => t.user !== null && t.user === me && (t.project === null || t.project === project));

  return (
    <section className="section settings-section" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      <div className="card settings-form">
        <p className="muted small settings-who">
          Only an admin can make service tokens for this project; anyone signed in as a user can make personal tokens, which act with their own roles. An admin can revoke
          any token, anyone else their own.
        </p>
        {poll.error && <ErrorNote error={poll.error} />}
        {poll.data === undefined ? (
          !poll.error && <p className="muted">Loading…</p>
        ) : (
          <>
            <TokenList title="Service tokens of this project" empty="No service tokens scoped to this project." tokens={service} pending={action.pending} revoke={revoke} revoked={revoked} refresh={poll.refresh} />
            {me !== null && <TokenList title={`Personal tokens of ${me}`} empty="You have no personal tokens that reach this project." tokens={personal} pending={action.pending} revoke={revoke} revoked={revoked} refresh={poll.refresh} />}
          </>
        )}
        {created && (
          <div className="settings-once" role="region" aria-label="New token">
            <p className="strong">
              Secret of {created.token.name} ({created.token.id}), shown only this once:
            </p>
            <div className="settings-secret">
              <code className="settings-secret-value" data-testid="token-secret">
                {created.secret}
              </code>
              <CopyButton text={created.secret} label="Copy token secret" />
            </div>
            <p className="small">
              Use it as <code>SLIPWAY_TOKEN</code>, or <code>Authorization: Bearer …</code> against the API.
            </p>
            <button type="button" className="button small" onClick={() => setCreated(undefined)}>
              I have copied it
            </button>
          </div>
        )}
        <form className="settings-subform" onSubmit={(e) => void create(e)} aria-label="Create a token">
          <fieldset className="settings-kind">
            <legend>Kind</legend>
            <label className="checkbox">
              <input type="radio" name="token-kind" checked={kind === 'personal'} onChange={() => setKind('personal')} />
              Personal (acts as you)
            </label>
            <label className="checkbox">
              <input type="radio" name="token-kind" checked={kind === 'service'} onChange={() => setKind('service')} />
              Service (a role, this project only)
            </label>
          </fieldset>
          <div className="form-row">
            <label className="field grow">
              <span>Token name</span>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" required maxLength={100} disabled={disabled} aria-describedby="tokens-refusal" />
            </label>
            {kind === 'service' ? (
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
            ) : (
              <label className="checkbox settings-only-here">
                <input type="checkbox" checked={onlyHere} onChange={(e) => setOnlyHere(e.target.checked)} disabled={disabled} />
                Only {project}
              </label>
            )}
            <label className="field">
              <span>Expires after</span>
              <input value={expires} onChange={(e) => setExpires(e.target.value)} placeholder="30d (empty: never)" size={12} disabled={disabled} />
            </label>
            <button type="submit" className="button" disabled={disabled || name.trim() === ''}>
              Create token
            </button>
          </div>
        </form>
        {!verdict.allowed && (
          <p className="settings-refusal" id="tokens-refusal">
            {verdict.reason}
          </p>
        )}
        {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
      </div>
    </section>
  );
}

function TokenList({
  title,
  empty,
  tokens,
  pending,
  revoke,
  revoked,
  refresh,
}: {
  title: string;
  empty: string;
  tokens: Token[];
  pending: boolean;
  revoke: (token: Token) => () => Promise<Token>;
  revoked: (token: Token) => void;
  refresh: () => Promise<void>;
}) {
  return (
    <>
      <h3 className="settings-subhead">{title}</h3>
      {tokens.length === 0 ? (
        <p className="muted small">{empty}</p>
      ) : (
        <ul className="settings-list" aria-label={title}>
          {tokens.map((t) => (
            <li key={t.id} className="settings-item">
              <div className="settings-item-main">
                <span className="strong">{t.name}</span>
                <span className="muted small">
                  {t.id} · {t.user === null ? t.role : `as ${t.user} (${t.role})`} · {t.project === null ? 'every project' : `${t.project} only`}
                  {t.expiresAt === null ? '' : ` · expires ${new Date(t.expiresAt).toLocaleDateString()}`} · last used{' '}
                  {t.lastUsedAt === null ? 'never' : <TimeAgo iso={t.lastUsedAt} />}
                </span>
              </div>
              <div className="settings-item-actions">
                <ConfirmButton
                  label={`Revoke ${t.name}`}
                  summary={`${t.name} (${t.id}) stops working at once: whatever uses it is refused from now on.`}
                  confirmLabel="Yes, revoke"
                  pendingLabel="Revoking…"
                  perform={revoke(t)}
                  onDone={() => revoked(t)}
                  refresh={refresh}
                  disabled={pending}
                />
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
