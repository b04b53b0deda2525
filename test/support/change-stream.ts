import { request, type Agent, type IncomingMessage } from 'node:http';
import { ChangeMessage } from '../../src/protocol/changes.ts';
import { SseParser } from '../../src/protocol/sse.ts';

/** A change message as a client got it, and when (performance.now()). */
export interface Received {
  message: ChangeMessage;
  at: number;
}

/** One `GET /api/v1/stream` read with a raw HTTP client, as a browser's fetch would. */
export interface ChangeStreamClient {
  status: number;
  /** The body of a refusal (an error envelope); empty for a stream. */
  body: string;
  received: Received[];
  comments: string[];
  /** Resolves with the first message (from now on, or already received when `since` is given) that `match` accepts. */
  next(match?: (message: ChangeMessage) => boolean, ms?: number, since?: number): Promise<Received>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export interface ChangeStreamOptions {
  token?: string;
  cookie?: string;
  project?: string;
  agent?: Agent;
}

export function openChangeStream(baseUrl: string, options: ChangeStreamOptions = {}): Promise<ChangeStreamClient> {
  const url = new URL('/api/v1/stream', baseUrl);
  if (options.project !== undefined) url.searchParams.set('project', options.project);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, ...(options.agent ? { agent: options.agent } : {}) }, (res: IncomingMessage) => {
      const received: Received[] = [];
      const comments: string[] = [];
      const waiters = new Set<() => void>();
      let body = '';
      let endedResolve!: () => void;
      const ended = new Promise<void>((r) => (endedResolve = r));
      const parser = new SseParser(
        (m) => {
          if (m.event !== 'change') return;
          received.push({ message: ChangeMessage.parse(JSON.parse(m.data)), at: performance.now() });
          for (const wake of [...waiters]) wake();
        },
        { onComment: (text) => comments.push(text) },
      );
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode === 200) parser.push(chunk);
        else body += chunk;
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      resolve({
        status: res.statusCode ?? 0,
        get body() {
          return body;
        },
        received,
        comments,
        ended,
        next(match = () => true, ms = 5_000, since = received.length) {
          return new Promise((resolveNext, rejectNext) => {
            let from = since;
            const look = (): boolean => {
              for (; from < received.length; from++) {
                const r = received[from]!;
                if (match(r.message)) {
                  finish();
                  resolveNext(r);
                  return true;
                }
              }
              return false;
            };
            const finish = () => {
              clearTimeout(timer);
              waiters.delete(wake);
            };
            const wake = () => void look();
            const timer = setTimeout(() => {
              finish();
              rejectNext(new Error(`no matching change message within ${ms} ms (got ${JSON.stringify(received.map((r) => r.message))})`));
            }, ms);
            waiters.add(wake);
            look();
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
