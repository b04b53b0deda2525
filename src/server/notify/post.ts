import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { ParsedNotifyUrl } from '../../core/notify-url.ts';

/** What a receiver answered: its status and the first bytes of its body (nothing more is read). */
export interface PostAnswer {
  status: number;
  excerpt: string;
}

/** Bytes of an answer kept; the rest is not read. */
export const EXCERPT_BYTES = 512;
/** A send that has not been answered by then is a failed attempt. */
export const POST_TIMEOUT_MS = 10_000;

/**
 * POSTs `body` to a checked URL, connected to `address` — an address the URL's host was
 * resolved to and checked against (core/notify-url.ts), never a lookup of its own, so an answer
 * that changes after the check (DNS rebinding) reaches nothing new. The Host header and TLS's
 * server name stay the URL's host, so virtual hosts and certificates work as usual. No
 * redirect is followed (a 3xx is the answer), no proxy, no keep-alive; the whole exchange has
 * `timeoutMs`. Throws on a network failure, a timeout or `signal`.
 */
export function postPinned(
  target: ParsedNotifyUrl,
  address: string,
  body: Buffer,
  headers: Record<string, string>,
  options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<PostAnswer> {
  const timeoutMs = options.timeoutMs ?? POST_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  const url = new URL(target.url);
  const send = target.scheme === 'https' ? httpsRequest : httpRequest;
  return new Promise<PostAnswer>((resolve, reject) => {
    const req = send(
      {
        host: address,
        family: isIP(address) === 6 ? 6 : 4,
        port: target.port,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent: false,
        signal,
        // TLS: the certificate is checked against the URL's host name (an address literal has none to send).
        ...(target.scheme === 'https' && !target.literal ? { servername: target.hostname.replace(/\.$/, '') } : {}),
        headers: {
          ...headers,
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'Slipway-Notifications',
          connection: 'close',
        },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const finish = () => {
          resolve({ status: res.statusCode ?? 0, excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8') });
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (kept >= EXCERPT_BYTES) return;
          chunks.push(chunk);
          kept += chunk.length;
          // Enough read: the rest of a large (or endless) answer is not waited for.
          if (kept >= EXCERPT_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', (err) => (kept >= EXCERPT_BYTES ? undefined : reject(err)));
      },
    );
    req.on('error', (err) => reject(signal.aborted && !options.signal?.aborted ? new Error(`no answer within ${timeoutMs} ms`) : err));
    req.end(body);
  });
}
