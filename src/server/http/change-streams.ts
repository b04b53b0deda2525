import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeTopic } from '../../core/change-topics.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { CHANGE_EVENT, type ChangeMessage } from '../../protocol/changes.ts';
import type { Principal } from '../services/access.ts';
import type { Change, ChangeFeed } from '../services/change-feed.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { principalOf } from './guard.ts';

/** Streams open at once on one process: each holds a socket and a few hundred bytes. */
export const DEFAULT_MAX_STREAMS = 1_000;
/** Per token or session: a person's tabs, not a client that opens streams until the server gives out. */
export const DEFAULT_MAX_STREAMS_PER_CREDENTIAL = 32;
/** A comment line this often keeps proxies from closing a quiet stream, and shows the client it is alive. */
export const PING_MS = 15_000;
/** The credentials of an open stream are checked again this often: a revoked token or ended session stops hearing. */
const REAUTH_MS = 60_000;
/** A client that has read nothing for this long (its socket buffer full) is cut off. */
const STALLED_MS = 60_000;
/** What the client waits before reconnecting after the stream ends (SSE `retry:`). */
const RETRY_HINT_MS = 3_000;

/** Where one stream listens: a project, or every project its principal reaches. */
export interface StreamTarget {
  projectId: string | null;
}

/**
 * Every change stream open on this process: admits new ones under the limits, writes the
 * feed's changes to them, pings them, checks their credentials again from time to time, and
 * ends them when the feed closes (the server stopping).
 *
 * One stream's states: open (writing) ⇄ blocked (its socket buffer is full: changes are merged
 * into one pending message, written on `drain`) → ended (client gone, credentials no longer
 * valid, stalled, or server stopping). One ping timer serves all streams, and runs only while
 * one is open.
 */
export class ChangeStreams {
  readonly #deps: ServiceDeps;
  readonly #feed: ChangeFeed;
  readonly #max: number;
  readonly #perCredential: number;
  readonly #open = new Set<OpenStream>();
  readonly #byCredential = new Map<string, number>();
  #ping: NodeJS.Timeout | undefined;

  constructor(deps: ServiceDeps, feed: ChangeFeed) {
    this.#deps = deps;
    this.#feed = feed;
    this.#max = deps.limits.streams?.max ?? DEFAULT_MAX_STREAMS;
    this.#perCredential = deps.limits.streams?.perCredential ?? DEFAULT_MAX_STREAMS_PER_CREDENTIAL;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Turns the request into a stream of the changes of `target`; refuses with TOO_MANY_STREAMS over a limit. */
  open(request: FastifyRequest, reply: FastifyReply, principal: Principal, target: StreamTarget): void {
    if (this.#open.size >= this.#max) {
      throw new SlipwayError(ErrorCode.TOO_MANY_STREAMS, `this server has ${this.#max} change streams open, its limit; try again later`, {
        limit: this.#max,
        retryAfterSeconds: 10,
      });
    }
    const credential = principal.credentialId;
    const mine = this.#byCredential.get(credential) ?? 0;
    if (mine >= this.#perCredential) {
      throw new SlipwayError(ErrorCode.TOO_MANY_STREAMS, `this token or session has ${this.#perCredential} change streams open, its limit; close a tab`, {
        limit: this.#perCredential,
        retryAfterSeconds: 10,
      });
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    request.raw.socket.setNoDelay(true);
    res.write(`retry: ${RETRY_HINT_MS}\n: connected\n\n`);
    const stream = new OpenStream(res, request, Date.now());
    this.#open.add(stream);
    this.#byCredential.set(credential, mine + 1);
    const unsubscribe = this.#feed.subscribe({
      projectId: target.projectId,
      reaches: (projectId) => principal.scope === null || principal.scope === projectId,
      send: (change) => stream.send(change),
      end: () => stream.end(),
    });
    res.once('close', () => {
      unsubscribe();
      this.#open.delete(stream);
      const left = (this.#byCredential.get(credential) ?? 1) - 1;
      if (left <= 0) this.#byCredential.delete(credential);
      else this.#byCredential.set(credential, left);
      if (this.#open.size === 0) {
        clearInterval(this.#ping);
        this.#ping = undefined;
      }
    });
    this.#ping ??= setInterval(() => this.#pingAll(), PING_MS);
  }

  #pingAll(): void {
    // Wall time, not the service clock: these are the transport's own timers.
    const now = Date.now();
    for (const stream of this.#open) {
      if (stream.stalledSince !== undefined && now - stream.stalledSince >= STALLED_MS) {
        stream.destroy();
        continue;
      }
      stream.ping();
      if (now - stream.authenticatedAt >= REAUTH_MS) {
        stream.authenticatedAt = now;
        principalOf(this.#deps, stream.request).then(
          () => undefined,
          // Whatever the reason (revoked, expired, disabled), the stream ends; the client's reconnect hears why.
          () => stream.end(),
        );
      }
    }
  }
}

class OpenStream {
  readonly #res: ServerResponse;
  readonly request: FastifyRequest;
  authenticatedAt: number;
  /** Set while the socket buffer is full. */
  stalledSince: number | undefined;
  /** What changed while blocked: one message per project, written on drain. */
  #pending = new Map<string, { topics: Set<ChangeTopic>; at: string }>();

  constructor(res: ServerResponse, request: FastifyRequest, now: number) {
    this.#res = res;
    this.request = request;
    this.authenticatedAt = now;
  }

  send(change: Change): void {
    if (this.#res.writableEnded) return;
    if (this.stalledSince !== undefined) {
      const pending = this.#pending.get(change.project);
      if (pending === undefined) this.#pending.set(change.project, { topics: new Set(change.topics), at: change.at });
      else {
        for (const topic of change.topics) pending.topics.add(topic);
        pending.at = change.at;
      }
      return;
    }
    this.#write(messageOf({ project: change.project, topics: change.topics, at: change.at }));
  }

  ping(): void {
    if (this.stalledSince === undefined && !this.#res.writableEnded) this.#write(': ping\n\n');
  }

  end(): void {
    if (!this.#res.writableEnded) this.#res.end();
  }

  destroy(): void {
    this.#res.destroy();
  }

  #write(text: string): void {
    if (this.#res.write(text)) return;
    this.stalledSince = Date.now();
    this.#res.once('drain', () => {
      this.stalledSince = undefined;
      const pending = this.#pending;
      this.#pending = new Map();
      for (const [project, { topics, at }] of pending) {
        if (this.stalledSince !== undefined) {
          // Blocked again mid-way: keep the rest for the next drain.
          this.#pending.set(project, { topics, at });
          continue;
        }
        this.#write(messageOf({ project, topics: [...topics], at }));
      }
    });
  }
}

function messageOf(message: ChangeMessage): string {
  return `event: ${CHANGE_EVENT}\ndata: ${JSON.stringify(message)}\n\n`;
}
