import { randomBytes } from 'node:crypto';
import type { Actor } from '../../core/release-planner.ts';

/** One `git push` in flight: who pushed to which project, known to the hook by a random token. */
export interface PushSession {
  actor: Actor;
  projectId: string;
  projectName: string;
  /**
   * Set when the pushing client hung up, or the server is shutting down: the hook has recorded
   * the push (that comes first) and now stops following builds.
   */
  stopFollowing: null | 'client-gone' | 'shutdown';
}

/**
 * The hook runs as git's grandchild and calls back into this server. It proves which push it
 * belongs to with a token that exists only while that push's `git http-backend` runs, so the
 * user's own API token never reaches git's environment, and a leaked push token is worthless
 * once the push has ended. Sessions live in memory: the hook always calls the server process
 * that spawned it.
 */
export class PushSessions {
  private readonly sessions = new Map<string, PushSession>();

  open(session: Omit<PushSession, 'stopFollowing'>): { token: string; session: PushSession } {
    const token = `slp_push_${randomBytes(32).toString('base64url')}`;
    const entry: PushSession = { ...session, stopFollowing: null };
    this.sessions.set(token, entry);
    return { token, session: entry };
  }

  find(token: string): PushSession | undefined {
    return this.sessions.get(token);
  }

  close(token: string): void {
    this.sessions.delete(token);
  }

  /** Asks every hook in flight to stop following builds (server shutdown). */
  stopAll(): void {
    for (const session of this.sessions.values()) session.stopFollowing ??= 'shutdown';
  }
}
