import type { Environment } from '../../../src/protocol/api.ts';
import { useSession } from '../session.ts';

/** The admin override past a lock: offered only where it could matter, always with a reason. */
export function BreakGlass({ environment, checked, onChange }: { environment: Environment | undefined; checked: boolean; onChange: (value: boolean) => void }) {
  const { can } = useSession();
  const lock = environment?.lock;
  if (!lock) return null;
  return (
    <div className="lock-warning">
      <strong>{environment.name} is locked</strong> by {lock.by}: “{lock.reason}”.
      {environment !== undefined && can(environment.project, 'admin') ? (
        <label className="checkbox">
          <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> Break the lock (admin; needs a reason; audited)
        </label>
      ) : (
        <> The server will refuse this until it is unlocked.</>
      )}
    </div>
  );
}
