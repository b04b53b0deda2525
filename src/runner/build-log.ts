import type { AppendLogsRequest } from '../protocol/builds.ts';
import { isRetryable } from '../publish/upload.ts';

type LogLine = AppendLogsRequest['lines'][number];
export type LogStream = LogLine['stream'];

/** The part of SlipwayClient a build log needs (a fake in unit tests). */
export interface LogTransport {
  appendBuildLogs(buildId: string, body: AppendLogsRequest): Promise<{ appended: number }>;
}

export interface BuildLogOptions {
  flushMs?: number;
  /** Flush at once when this many lines wait. */
  batchLines?: number;
  /** After this many lines the rest of the build's output is dropped (with one note saying so). */
  maxLines?: number;
  /** The runner's own log, for send failures. */
  log?: (line: string) => void;
  /** A send the server refused for good (a 4xx answer: LEASE_LOST, …). */
  onRefused?: (err: unknown) => void;
}

const MAX_PER_REQUEST = 1000;
/** Lines kept while the server cannot be reached; older ones are dropped beyond this. */
const MAX_BUFFERED = 20_000;

/**
 * A build's log on its way to the server: lines are batched (every `flushMs`, or at once when
 * `batchLines` wait) and sent in order, one request at a time. A failed send keeps its lines
 * for the next try when the failure is transient, and never fails the build; `close` sends
 * what is left before the build is completed, so every line lands before the build ends.
 */
export class BuildLog {
  readonly #transport: LogTransport;
  readonly #buildId: string;
  readonly #runner: string;
  readonly #flushMs: number;
  readonly #batchLines: number;
  readonly #maxLines: number;
  readonly #log: (line: string) => void;
  readonly #onRefused: (err: unknown) => void;
  #buffer: LogLine[] = [];
  #accepted = 0;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;

  constructor(transport: LogTransport, buildId: string, runner: string, options: BuildLogOptions = {}) {
    this.#transport = transport;
    this.#buildId = buildId;
    this.#runner = runner;
    this.#flushMs = options.flushMs ?? 200;
    this.#batchLines = options.batchLines ?? 200;
    this.#maxLines = options.maxLines ?? 100_000;
    this.#log = options.log ?? (() => undefined);
    this.#onRefused = options.onRefused ?? (() => undefined);
  }

  line(stream: LogStream, text: string, at: Date = new Date()): void {
    if (this.#closed) return;
    this.#accepted += 1;
    if (this.#accepted > this.#maxLines) {
      if (this.#accepted === this.#maxLines + 1) {
        this.#push({ at: at.toISOString(), stream: 'system', text: `Log truncated: the build printed more than ${this.#maxLines} lines` });
      }
      return;
    }
    this.#push({ at: at.toISOString(), stream, text });
  }

  system(text: string): void {
    // Slipway's own lines are never truncated away: the reader needs to see how the build ended.
    if (this.#closed) return;
    this.#push({ at: new Date().toISOString(), stream: 'system', text });
  }

  /** Sends every buffered line (a few tries), then stops accepting lines. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let attempt = 0; attempt < 3 && this.#buffer.length > 0; attempt += 1) {
      await this.#flush();
      if (this.#buffer.length > 0) await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
    }
    await this.#sending;
    if (this.#buffer.length > 0) this.#log(`build ${this.#buildId}: ${this.#buffer.length} log lines could not be sent`);
  }

  #push(line: LogLine): void {
    this.#buffer.push(line);
    if (this.#buffer.length > MAX_BUFFERED) {
      const excess = this.#buffer.length - MAX_BUFFERED;
      this.#buffer.splice(0, excess);
      this.#dropped += excess;
    }
    if (this.#buffer.length >= this.#batchLines) void this.#flush();
    else this.#timer ??= setTimeout(() => void this.#flush(), this.#flushMs);
  }

  #flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#send().finally(() => {
      this.#sending = undefined;
      if (this.#buffer.length > 0 && !this.#closed) this.#timer ??= setTimeout(() => void this.#flush(), this.#flushMs);
    });
    return this.#sending;
  }

  async #send(): Promise<void> {
    while (this.#buffer.length > 0) {
      if (this.#dropped > 0) {
        const note = { at: new Date().toISOString(), stream: 'system' as const, text: `${this.#dropped} log lines were lost while the server was unreachable` };
        this.#dropped = 0;
        this.#buffer.unshift(note);
      }
      // Taken out while in flight, so trimming an overfull buffer never touches it.
      const batch = this.#buffer.splice(0, MAX_PER_REQUEST);
      try {
        await this.#transport.appendBuildLogs(this.#buildId, { runner: this.#runner, lines: batch });
      } catch (err) {
        this.#log(`build ${this.#buildId}: sending ${batch.length} log lines failed: ${err instanceof Error ? err.message : String(err)}`);
        // A 4xx answer will not change on retry (the build is no longer ours): drop the batch.
        if (isRetryable(err)) this.#buffer.unshift(...batch);
        else this.#onRefused(err);
        return;
      }
    }
  }
}
