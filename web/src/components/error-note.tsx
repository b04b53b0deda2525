import type { ApiError } from '../../../src/protocol/client.ts';

/** What a person can do about the codes they meet in the dashboard. */
function hintFor(error: ApiError, subject: string | undefined): string | undefined {
  const details = error.details ?? {};
  const where = subject ?? 'The environment';
  switch (error.code) {
    case 'RELEASE_CONFLICT': {
      const actual = typeof details.actual === 'number' ? `v${details.actual}` : 'a newer release';
      const expected = typeof details.expected === 'number' ? ` (you saw v${details.expected})` : '';
      return `${where} changed while you were looking: it is now at ${actual}${expected}. The page has been refreshed — check what is live, then try again.`;
    }
    case 'ENVIRONMENT_LOCKED':
      return `${where} is locked. Unlock it first, or (admins) break the lock with a reason; the override is audited.`;
    case 'ALREADY_LIVE':
      return 'Nothing to do: that deployment is already live there.';
    case 'NO_PREVIOUS_RELEASE':
      return 'There is no earlier deployment to roll back to.';
    case 'FORBIDDEN':
      return 'This token’s role does not allow that. Ask an admin for a deployer token.';
    case 'NETWORK_ERROR':
      return 'The control plane did not answer. Is it running?';
    case 'BUILD_FINISHED':
      return 'The build finished before the cancel arrived; nothing to stop.';
    case 'BUILD_NOT_FOUND':
      return 'No such build in this project. The link may name a build of another project.';
    case 'LOCK_CONFLICT':
      return 'The lock changed at the same moment. The page has been refreshed; look again.';
    default:
      return undefined;
  }
}

export function ErrorNote({ error, subject, onDismiss }: { error: ApiError; subject?: string | undefined; onDismiss?: () => void }) {
  const hint = hintFor(error, subject);
  return (
    <div className="error-note" role="alert">
      <div>
        <code className="error-code">{error.code}</code> {error.message}
      </div>
      {hint && <div className="error-hint">{hint}</div>}
      {onDismiss && (
        <button type="button" className="link-button error-dismiss" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
