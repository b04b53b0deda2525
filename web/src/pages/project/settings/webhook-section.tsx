import { useState } from 'react';
import type { Project, RotatedWebhookSecret } from '../../../../../src/protocol/api.ts';
import { CopyButton } from '../../../components/copy-button.tsx';
import { useSession } from '../../../session.ts';
import { ConfirmButton } from './confirm-button.tsx';
import { Refusal } from './refusal.tsx';
import { whoMay, type Verdict } from './verdicts.ts';

/**
 * Whether the project has a webhook secret (never its value), and Rotate: the server makes a
 * new random one and answers it once; it is shown here until the page is left, with where to
 * paste it. The old secret stops verifying deliveries at that moment.
 */
export function WebhookSection({ project, rotate, refresh, onDone }: { project: Project; rotate: Verdict; refresh: () => Promise<void>; onDone: (message: string) => void }) {
  const { client } = useSession();
  const [rotated, setRotated] = useState<RotatedWebhookSecret | undefined>(undefined);


  return (
    <section className="section settings-section" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Webhook secret</h2>
      <div className="card settings-form">
        <p className="muted small settings-who">{whoMay('rotateWebhookSecret')}</p>
        <p>
          {project.hasWebhookSecret ? (
            <>
              <span className="chip settings-set">Set</span> Deliveries to <code>/hooks/github</code>, <code>/hooks/gitlab</code> and <code>/hooks/generic</code> must be
              signed with it.
            </>
          ) : (
            <>
              <span className="chip settings-unset">None</span> Every webhook delivery to this project is refused until it has one.
            </>
          )}
        </p>
        <div className="form-actions">
          <ConfirmButton
            label={project.hasWebhookSecret ? 'Rotate webhook secret' : 'Make webhook secret'}
            text={project.hasWebhookSecret ? 'Rotate secret' : 'Make a secret'}
            summary={
              project.hasWebhookSecret
                ? `Slipway makes a new random secret and shows it once. Deliveries signed with the old one are refused from that moment until the new one is pasted into the git host's webhook.`
                : `Slipway makes a random secret and shows it once; paste it into the git host's webhook settings.`
            }
            confirmLabel={project.hasWebhookSecret ? 'Yes, rotate' : 'Yes, make one'}
            pendingLabel="Making a secret…"
            perform={() => client.rotateWebhookSecret(project.name)}
            onDone={(value) => {
              setRotated(value);
              onDone('New webhook secret made; deliveries signed with the old one are refused from now on.');
            }}
            refresh={refresh}
            disabled={!rotate.allowed}
            describedBy="webhook-refusal"
          />
        </div>
        <Refusal verdict={rotate} id="webhook-refusal" />
        {rotated && <NewSecret rotated={rotated} onHide={() => setRotated(undefined)} />}
      </div>
    </section>
  );
}

function NewSecret({ rotated, onHide }: { rotated: RotatedWebhookSecret; onHide: () => void }) {
  return (
    <div className="settings-once" role="region" aria-label="New webhook secret">
      <p className="strong">Copy the new secret now: it is shown only this once.</p>
      <div className="settings-secret">
        <code className="settings-secret-value" data-testid="webhook-secret">
          {rotated.secret}
        </code>
        <CopyButton text={rotated.secret} label="Copy webhook secret" />
      </div>
      <p className="small">Paste it where the repository sends its push webhook:</p>
      <ul className="settings-hooks small">
        <li>
          <strong>GitHub</strong> — repository → Settings → Webhooks: Payload URL <code>{rotated.hooks.github}</code>, content type <code>application/json</code>,
          Secret: the new secret.
        </li>
        <li>
          <strong>GitLab</strong> — project → Settings → Webhooks: URL <code>{rotated.hooks.gitlab}</code>, Secret token (or Signing token): the new secret.
        </li>
        <li>
          <strong>Anything else</strong> — POST to <code>{rotated.hooks.generic}</code> with <code>X-Slipway-Signature: sha256=</code>HMAC-SHA256 of the body.
        </li>
      </ul>
      <button type="button" className="button small" onClick={onHide}>
        I have copied it
      </button>
    </div>
  );
}
