import { useState } from 'react';
import type { Environment } from '../../../src/protocol/api.ts';
import { formatAbsolute } from '../format.ts';
import { TimeAgo } from './time-ago.tsx';

/** Previews whose branch was deleted: folded away, since nothing moves them any more. Their deployments stay addressable. */
export function RetiredPreviews({ environments }: { environments: Environment[] }) {
  const [open, setOpen] = useState(false);
  if (environments.length === 0) return null;
  return (
    <div className="retired">
      <button type="button" className="link-button retired-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span aria-hidden="true">{open ? '▾' : '▸'}</span> Retired previews ({environments.length})
      </button>
      {open && (
        <ul className="retired-list" aria-label="Retired previews">
          {environments.map((environment) => (
            <li key={environment.name} data-retired-environment={environment.name}>
              <code>{environment.name}</code>
              {environment.follows && <span className="branch">{environment.follows}</span>}
              <span className="muted">
                retired {environment.retiredAt && <TimeAgo iso={environment.retiredAt} />}
                {environment.deployment ? (
                  <>
                    {' '}
                    · last at <code title={environment.retiredAt ? formatAbsolute(environment.retiredAt) : undefined}>{environment.deployment}</code>
                  </>
                ) : (
                  ' · never deployed'
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
