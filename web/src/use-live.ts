import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChangeTopic } from '../../src/core/change-topics.ts';
import type { ApiError, SlipwayClient } from '../../src/protocol/client.ts';
import type { ChangeMessage } from '../../src/protocol/changes.ts';
import { SseParser } from '../../src/protocol/sse.ts';
import { asApiError, useSession } from './session.ts';

export type { ChangeTopic } from '../../src/core/change-topics.ts';

/** What a view shows of a load. */
export interface Poll<T> {
  /** The last successful answer; kept while a later load fails, so the view does not blank. */
  data: T | undefined;
  /** The error of the last load, cleared by the next success. */
  error: ApiError | undefined;
  /** Loads now; resolves when the view shows the answer (or the error). */
  refresh: () => Promise<void>;
}

/** A view reloads at most this often, however many changes arrive. */
const COALESCE_MS = 250;
/** While the stream is down, views load this often instead. */
const FALLBACK_MS = 10_000;
/** Reconnecting waits 1 s, 2 s, 4 s … up to this. */
const MAX_BACKOFF_MS = 30_000;
/** The server pings every 15 s: this long without a byte and the stream is taken for dead. */
const SILENCE_MS = 45_000;
/** The last view leaving keeps the stream this long: the next page's views take it over. */
const LINGER_MS = 2_000;

export interface LiveOptions {
  /** The project the view shows; without it, a change of any project reloads it (the projects page). */
  project?: string | undefined;
  /** What the view shows; without it, any change of its project reloads it. */
  topics?: readonly ChangeTopic[] | undefined;
}

interface Listener {
  project: string | undefined;
  topics: readonly ChangeTopic[] | undefined;
  /** A change it shows. */
  changed(): void;
  /** It may have missed changes (the stream came back, the tab is visible again, a fallback tick): load. */
  resync(): void;
}

/**
 * The page's one change stream, shared by every view of the page (module-level, one per API
 * client). It follows the project all its listeners show, or every project when they differ.
 *
 * States: idle (no listener) → connecting → open → (ended, failed, silent) down: fallback
 * loads every FALLBACK_MS, reconnect after a backoff → connecting … ; hidden tab: paused (no
 * stream, no loads) → visible: connecting, every view loads. The stream coming back after being
 * down makes every view load once (what changed meanwhile was not heard).
 */
class LiveStream {
  readonly #client: SlipwayClient;
  readonly #listeners = new Set<Listener>();
  #target: string | null | undefined;
  #abort: AbortController | undefined;
  #state: 'idle' | 'connecting' | 'open' | 'down' | 'paused' = 'idle';
  #backoff = 1_000;
  #retry: number | undefined;
  #fallback: number | undefined;
  #linger: number | undefined;
  #silence: number | undefined;
  #wasOpen = false;

  constructor(client: SlipwayClient) {
    this.#client = client;
  }

  add(listener: Listener): () => void {
    this.#listeners.add(listener);
    window.clearTimeout(this.#linger);
    if (this.#listeners.size === 1) document.addEventListener('visibilitychange', this.#onVisibility);
    this.#follow();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) {
        this.#follow();
        return;
      }
      window.clearTimeout(this.#linger);
      this.#linger = window.setTimeout(() => {
        if (this.#listeners.size > 0) return;
        document.removeEventListener('visibilitychange', this.#onVisibility);
        this.#stop('idle');
      }, LINGER_MS);
    };
  }

  /** Opens the stream of what the listeners show, unless that one is open already. */
  #follow(): void {
    const projects = new Set([...this.#listeners].map((l) => l.project));
    const target = projects.size === 1 ? ([...projects][0] ?? null) : null;
    if (target === this.#target && this.#state !== 'idle') return;
    this.#target = target;
    if (document.hidden) {
      this.#stop('paused');
      return;
    }
    this.#connect();
  }

  readonly #onVisibility = (): void => {
    if (document.hidden) {
      this.#stop('paused');
      return;
    }
    if (this.#state !== 'paused') return;
    this.#connect();
    // What changed while hidden was not heard.
    this.#resyncAll();
  };

  #stop(state: 'idle' | 'paused'): void {
    this.#abort?.abort();
    this.#abort = undefined;
    window.clearTimeout(this.#retry);
    window.clearInterval(this.#fallback);
    window.clearTimeout(this.#silence);
    this.#fallback = undefined;
    this.#state = state;
    if (state === 'idle') this.#wasOpen = false;
  }

  #connect(): void {
    this.#abort?.abort();
    window.clearTimeout(this.#retry);
    const abort = new AbortController();
    this.#abort = abort;
    this.#state = 'connecting';
    void this.#run(abort).then(
      () => this.#down(abort, 0),
      (err: unknown) => this.#down(abort, retryAfterOf(err)),
    );
  }

  async #run(abort: AbortController): Promise<void> {
    const { url, headers } = this.#client.changeStreamRequest(this.#target ?? undefined);
    const response = await fetch(url, { headers, signal: abort.signal, cache: 'no-store', credentials: 'same-origin' });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new StreamRefused(response.status, Number(response.headers.get('retry-after')) * 1000 || 0);
    }
    if (abort.signal.aborted) return;
    this.#state = 'open';
    this.#backoff = 1_000;
    window.clearInterval(this.#fallback);
    this.#fallback = undefined;
    if (this.#wasOpen) this.#resyncAll();
    this.#wasOpen = true;
    const parser = new SseParser((message) => {
      if (message.event === 'change') this.#dispatch(message.data);
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    this.#heard(abort);
    for (;;) {
      const { value, done } = await reader.read();
      if (done || abort.signal.aborted) return;
      this.#heard(abort);
      parser.push(value);
    }
  }

  /** The stream said something (a ping at least): it is alive for another SILENCE_MS. */
  #heard(abort: AbortController): void {
    window.clearTimeout(this.#silence);
    this.#silence = window.setTimeout(() => abort.abort(), SILENCE_MS);
  }

  #down(abort: AbortController, retryAfterMs: number): void {
    window.clearTimeout(this.#silence);
    // A stream replaced or stopped on purpose is not down.
    if (this.#abort !== abort || this.#state === 'idle' || this.#state === 'paused') return;
    this.#abort = undefined;
    this.#state = 'down';
    this.#fallback ??= window.setInterval(() => this.#resyncAll(), FALLBACK_MS);
    const wait = Math.max(retryAfterMs, this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    this.#retry = window.setTimeout(() => this.#connect(), wait * (0.8 + Math.random() * 0.4));
  }

  #dispatch(data: string): void {
    let message: ChangeMessage;
    try {
      message = JSON.parse(data) as ChangeMessage;
    } catch {
      // Not a change this page can read; the next one (or the fallback) covers it.
      return;
    }
    if (typeof message.project !== 'string' || !Array.isArray(message.topics)) return;
    for (const listener of this.#listeners) {
      if (listener.project !== undefined && listener.project !== message.project) continue;
      if (listener.topics !== undefined && !listener.topics.some((t) => message.topics.includes(t))) continue;
      listener.changed();
    }
  }

  #resyncAll(): void {
    if (document.hidden) return;
    for (const listener of this.#listeners) listener.resync();
  }
}

class StreamRefused extends Error {
  readonly retryAfterMs: number;
  constructor(status: number, retryAfterMs: number) {
    super(`the change stream answered ${status}`);
    this.retryAfterMs = retryAfterMs;
  }
}

function retryAfterOf(err: unknown): number {
  return err instanceof StreamRefused ? err.retryAfterMs : 0;
}

const streams = new WeakMap<SlipwayClient, LiveStream>();

function streamOf(client: SlipwayClient): LiveStream {
  let stream = streams.get(client);
  if (stream === undefined) streams.set(client, (stream = new LiveStream(client)));
  return stream;
}

/**
 * Loads `load()` now, and again whenever the page's change stream says something it shows
 * changed (`project`, `topics`): at most every COALESCE_MS, never two loads at once. While the
 * stream is down it loads every FALLBACK_MS; in a hidden tab it waits, and loads on return.
 * It answers the last data (kept while a later load fails), the last error, and `refresh` for
 * an action to load now. A rejected token signs the session out.
 */
export function useLive<T>(load: () => Promise<T>, options: LiveOptions = {}): Poll<T> {
  const { client, signOut } = useSession();
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | undefined }>({ data: undefined, error: undefined });
  const loadRef = useRef(load);
  loadRef.current = load;
  const sequence = useRef(0);

  const refresh = useCallback(async () => {
    const mine = ++sequence.current;
    try {
      const data = await loadRef.current();
      if (mine === sequence.current) setState({ data, error: undefined });
    } catch (err) {
      const error = asApiError(err);
      if (error.code === 'UNAUTHENTICATED') {
        signOut(`The server rejected the token (${error.code}): ${error.message}`);
        return;
      }
      if (mine === sequence.current) setState((previous) => ({ data: previous.data, error }));
    }
  }, [signOut]);

  const { project } = options;
  const topicsKey = options.topics?.join(',');
  useEffect(() => {
    // Reload states: quiet → (change) scheduled → loading → quiet, or → loading with another
    // change heard meanwhile → scheduled again; never closer than COALESCE_MS after the last start.
    let stopped = false;
    let loading = false;
    let again = false;
    let lastStart = 0;
    let timer: number | undefined;
    const start = () => {
      timer = undefined;
      if (stopped) return;
      loading = true;
      again = false;
      lastStart = performance.now();
      void refresh().finally(() => {
        loading = false;
        if (again && !stopped) schedule();
      });
    };
    const schedule = () => {
      if (loading) {
        again = true;
        return;
      }
      if (timer !== undefined) return;
      timer = window.setTimeout(start, Math.max(0, lastStart + COALESCE_MS - performance.now()));
    };
    start();
    const remove = streamOf(client).add({ project, topics: topicsKey === undefined ? undefined : (topicsKey.split(',') as ChangeTopic[]), changed: schedule, resync: schedule });
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      remove();
      // Answers still in flight belong to a view that is gone.
      sequence.current += 1;
    };
  }, [client, refresh, project, topicsKey]);

  return { ...state, refresh };
}
