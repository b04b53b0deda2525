import { useCallback, useId, useState, type FormEvent } from 'react';
import { DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS, NOTIFY_FORMATS, type NotifyEvent, type NotifyFormat } from '../../../../../src/core/notifications.ts';
import type { CreatedNotifyTarget, NotifyDelivery, NotifyTarget } from '../../../../../src/protocol/notifications.ts';
import { CopyButton } from '../../../components/copy-button.tsx';
import { ErrorNote } from '../../../components/error-note.tsx';
import { useSession } from '../../../session.ts';
import { useAction } from '../../../use-action.ts';
import { useLive } from '../../../use-live.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { Refusal } from './refusal.tsx';
import { whoMay, type Verdict } from './verdicts.ts';

/** How long Test waits for the first attempt, like `slipway notify test`. */
const TEST_WAIT_MS = 15_000;
const TEST_POLL_MS = 500;

/** Where this project's release state changes are sent: add (its signing secret shown once), test, remove. */
export function NotificationsSection({ project, read, manage, onDone }: { project: string; read: Verdict; manage: Verdict; onDone: (message: string) => void }) {
  return (
    <section className="section settings-section" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notification targets</h2>
      <div className="card settings-form">
        <p className="muted small settings-who">
          {whoMay('readNotifications')} {whoMay('manageNotifications')}
        </p>
        {read.allowed ? <Targets project={project} manage={manage} onDone={onDone} /> : <Refusal verdict={read} id="notifications-refusal" />}
      </div>
    </section>
  );
}

function eventLabel(event: string): string {
  return event.replace(/^release\./, '').replace('_', ' ');
}

function Targets({ project, manage, onDone }: { project: string; manage: Verdict; onDone: (message: string) => void }) {
  const { client, whoami } = useSession();
  const load = useCallback(() => client.listNotifyTargets(project), [client, project]);
  const poll = useLive(load, { project, topics: ['settings'] });
  const action = useAction(poll.refresh);
  const [url, setUrl] = useState('');
  const [format, setFormat] = useState<NotifyFormat>('json');
  const formatId = useId();
  const [events, setEvents] = useState<readonly NotifyEvent[]>(DEFAULT_NOTIFY_EVENTS);
  const [allowPrivate, setAllowPrivate] = useState(false);
  const [created, setCreated] = useState<CreatedNotifyTarget | undefined>(undefined);
  const [tests, setTests] = useState<Record<string, NotifyDelivery>>({});
  const disabled = !manage.allowed || action.pending;
  const serverAdmin = whoami.actor.role === 'admin' && whoami.scope === null;

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const outcome = await action.run(() => client.addNotifyTarget(project, { url: url.trim(), format, events: [...events], ...(allowPrivate ? { allowPrivate } : {}) }));
    if (outcome.ok) {
      setUrl('');
      setCreated(outcome.value);
      onDone(`Added notification target ${outcome.value.id}.`);
    }
  };
  const test = async (target: NotifyTarget) => {
    const outcome = await action.run(() => client.testNotifyTarget(project, target.id));
    if (!outcome.ok) return;
    let delivery = outcome.value;
    setTests((t) => ({ ...t, [target.id]: delivery }));
    const until = Date.now() + TEST_WAIT_MS;
    while (delivery.state === 'pending' && delivery.attempts === 0 && Date.now() < until) {
      await new Promise((resolve) => window.setTimeout(resolve, TEST_POLL_MS));
      const { deliveries } = await client.listNotifyDeliveries(project, { target: target.id, limit: 20 });
      delivery = deliveries.find((d) => d.id === delivery.id) ?? delivery;
      setTests((t) => ({ ...t, [target.id]: delivery }));
    }
  };
  const toggle = (event: NotifyEvent, on: boolean) => setEvents((list) => (on ? NOTIFY_EVENTS.filter((e) => e === event || list.includes(e)) : list.filter((e) => e !== event)));

  const targets = poll.data?.targets;
  return (
    <>
      {poll.error && <ErrorNote error={poll.error} />}
      {targets === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : targets.length === 0 ? (
        <p className="muted">No notification targets: release changes are not sent anywhere.</p>
      ) : (
        <ul className="settings-list" aria-label={`Notification targets of ${project}`}>
          {targets.map((t) => (
            <li key={t.id} className="settings-item">
              <div className="settings-item-main">
                <span className="mono settings-break">{t.url}</span>
                <span className="muted small">
                  {t.id} · {t.format} · {t.events.map(eventLabel).join(', ')}
                  {t.allowPrivate ? ' · private address allowed' : ''} · by {t.createdBy}
                </span>
                {tests[t.id] && <TestResult delivery={tests[t.id]} />}
              </div>
              <div className="settings-item-actions">
                <button type="button" className="button small" onClick={() => void test(t)} disabled={disabled} aria-label={`Test ${t.id}`} aria-describedby="notifications-refusal">
                  Test
                </button>
                <ConfirmButton
                  label={`Remove ${t.id}`}
                  summary={`Release changes of ${project} stop going to ${t.url}; its pending deliveries are canceled.`}
                  confirmLabel="Yes, remove"
                  pendingLabel="Removing…"
                  perform={() => client.removeNotifyTarget(project, t.id)}
                  onDone={() => onDone(`Removed ${t.id}; its pending deliveries are canceled.`)}
                  refresh={poll.refresh}
                  disabled={disabled}
                  describedBy="notifications-refusal"
                />
              </div>
            </li>
          ))}
        </ul>
      )}
      {created && (
        <div className="settings-once" role="region" aria-label="New notification target secret">
          <p className="strong">Signing secret of {created.id}, shown only this once:</p>
          <div className="settings-secret">
            <code className="settings-secret-value">{created.secret}</code>
            <CopyButton text={created.secret} label="Copy signing secret" />
          </div>
          <p className="small">
            Every POST carries <code>X-Slipway-Signature: sha256=</code>HMAC-SHA256(secret, body); check it before trusting the body.
          </p>
          <button type="button" className="button small" onClick={() => setCreated(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      <form className="settings-subform" onSubmit={(e) => void add(e)} aria-label="Add a notification target">
        <div className="form-row">
          <label className="field grow">
            <span>URL</span>
            <input
              inputMode="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              placeholder="https://hooks.slack.com/services/…"
              required
              disabled={disabled}
              autoComplete="off"
              spellCheck={false}
              aria-describedby="notifications-refusal"
            />
          </label>
          <div className="field">
            <label htmlFor={formatId}>Format</label>
            <select id={formatId} value={format} onChange={(e) => setFormat(e.target.value as NotifyFormat)} disabled={disabled}>
              {NOTIFY_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </div>
        </div>
        <fieldset className="settings-events" disabled={disabled}>
          <legend>Release events</legend>
          {NOTIFY_EVENTS.map((e) => (
            <label key={e} className="checkbox">
              <input type="checkbox" checked={events.includes(e)} onChange={(ev) => toggle(e, ev.target.checked)} />
              {eventLabel(e)}
            </label>
          ))}
        </fieldset>
        {serverAdmin && (
          <label className="checkbox">
            <input type="checkbox" checked={allowPrivate} onChange={(e) => setAllowPrivate(e.target.checked)} disabled={disabled} />
            Allow a loopback or private-network address (admins only)
          </label>
        )}
        <div className="form-actions">
          <button type="submit" className="button" disabled={disabled || url.trim() === '' || events.length === 0}>
            Add target
          </button>
        </div>
      </form>
      <Refusal verdict={manage} id="notifications-refusal" />
      {action.error && <ErrorNote error={action.error} onDismiss={action.clear} />}
    </>
  );
}

function TestResult({ delivery }: { delivery: NotifyDelivery | undefined }) {
  if (delivery === undefined) return null;
  const text =
    delivery.state === 'delivered'
      ? `Test delivered: answered ${delivery.statusCode ?? '?'}`
      : delivery.attempts === 0
        ? 'Test queued…'
        : `Test not accepted: ${delivery.error ?? delivery.state}${delivery.statusCode === null ? '' : ` (${delivery.statusCode})`}`;
  return (
    <span className={`small ${delivery.state === 'delivered' ? 'settings-ok' : delivery.attempts === 0 ? 'muted' : 'danger-text'}`} role="status">
      {text}
    </span>
  );
}
