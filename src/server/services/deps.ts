import type { Blobs } from '../../blobs/blobs.ts';
import type { Clock } from '../../core/clock.ts';
import type { ManifestLimits } from '../../core/manifest.ts';
import type { UrlConfig } from '../../core/urls.ts';
import type { Store } from '../../store/store.ts';
import type { ChangeFeed } from './change-feed.ts';
import type { Signal } from './signal.ts';

/** What every service takes: state, blobs, time and settings — never a request or SQL. */
export interface ServiceDeps {
  store: Store;
  blobs: Blobs;
  clock: Clock;
  urls: UrlConfig;
  limits: {
    manifest: ManifestLimits;
    maxBlobBytes: number;
    buildTimeoutSeconds: number;
    /** Change streams open at once on this process, and per token or session (defaults in http/change-streams.ts). */
    streams?: { max?: number | undefined; perCredential?: number | undefined };
  };
  /** Where SQLite, blobs and git repositories live. */
  dataDir: string;
  /**
   * Hash of the token the server's own runner uses; it lives only in memory, for one process
   * lifetime, and acts as a token of the runner role named `runner`.
   */
  internalTokenHash?: string;
  /** Notified after a commit that queued builds, so long-polling claims answer at once. */
  buildsQueued: Signal;
  /**
   * Notified, with the agents' ids, after a commit that changed an agent's run, prepare or
   * release phase (or retired it), so that agent's long-poll answers at once (server.ts wires it
   * to the store's onAgentsChanged); `notify()` without ids wakes every poll.
   */
  agentsChanged: Signal;
  /**
   * When this server process began: a rollout's deadlines count from it at the earliest, so time
   * the server was down (agents could not report) does not fail a phase or batch in flight.
   */
  startedAt?: Date;
  /** How often agents report (and poll); two missed and an agent is lost. Default 15 s (AGENT_HEARTBEAT_MS). */
  agentHeartbeatMs?: number;
  /** The agent bundle this server publishes (/agent/), which agents are asked to run; null when none is built. */
  agentVersion?: () => Promise<{ version: string; sha256: string; url: string } | null>;
  /** Drops what this process's edge keeps in memory of a deleted project's deployments. */
  forgetProject?: (projectId: string) => void;
  /** `--allow-local-repos`: repository URLs may be local paths or name loopback and private hosts. */
  allowLocalRepos?: boolean;
  /** Requests this process's edge has in flight to each agent's instance: a drain waits for 0 (edge/instance-proxy.ts). */
  instanceLoad?: { inFlight(agentId: string): number };
  /**
   * Tells this process's edge that a rotation changed, after the commit: it reads its routes
   * again on the next request instead of within ROUTES_MAX_AGE_MS (200 ms).
   */
  routesChanged?: () => void;
  /**
   * This process's edge is the only one routing requests to instances: the store is one server
   * process's (SQLite). A drain then need not outlast other replicas' routing caches.
   */
  soleEdge?: boolean;
  /**
   * The changes dashboards hear of (GET /api/v1/stream). Services call `changes?.touch(…)` after
   * a change the audit log does not record; audited ones reach it through the log.
   */
  changes?: ChangeFeed;
}
