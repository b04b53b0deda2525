import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import type { HttpRequest, HttpResponse, HttpTransport } from './client.ts';

/**
 * The client's requests over node:http, for the CLI. Node's `fetch` loads undici the first time
 * it is touched, 30–40 ms of a command that otherwise takes a few hundred; node:http is part of
 * Node's startup snapshot. Connections are kept alive and reused (a deploy makes several
 * requests, some at once); idle ones do not hold the process open (Node unrefs them), and
 * `close` ends them.
 */
export interface NodeTransport {
  send: HttpTransport;
  /** Ends every connection, idle or not. */
  close(): void;
}

export function nodeTransport(): NodeTransport {
  const agents = new Map<string, Agent>();
  const agentFor = async (protocol: string): Promise<Agent> => {
    let agent = agents.get(protocol);
    if (agent === undefined) {
      if (protocol === 'https:') {
        // Loaded only for an https server: TLS is not needed on loopback or behind a proxy.
        const https = await import('node:https');
        agent = new https.Agent({ keepAlive: true });
      } else if (protocol === 'http:') {
        agent = new Agent({ keepAlive: true });
      } else {
        throw new Error(`unsupported protocol ${protocol}`, { cause: new Error(`${protocol} is not http: or https:`) });
      }
      agents.set(protocol, agent);
    }
    return agent;
  };

  const send = async (req: HttpRequest): Promise<HttpResponse> => {
    const agent = await agentFor(req.url.protocol);
    const headers: Record<string, string | number> = { ...req.headers };
    let body: readonly (string | Uint8Array)[] = [];
    if (req.parts) {
      const multipart = encodeMultipart(req.parts);
      headers['content-type'] = `multipart/form-data; boundary=${multipart.boundary}`;
      headers['content-length'] = multipart.length;
      body = multipart.chunks;
    } else if (req.body !== undefined) {
      headers['content-length'] = typeof req.body === 'string' ? Buffer.byteLength(req.body) : req.body.byteLength;
      body = [req.body];
    }
    const options: RequestOptions = { method: req.method, headers, agent, ...(req.signal ? { signal: req.signal } : {}) };
    const make = req.url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    const outgoing: ClientRequest = make(req.url, options);
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      outgoing.once('response', resolve);
      // Also after the answer (a connection reset while it is read): never an unhandled 'error'.
      outgoing.on('error', (err) => reject(new Error(`${req.method} ${req.url.pathname} failed`, { cause: err })));
    });
    if (req.stream) {
      // Backpressure as the socket drains; a body that cannot be read aborts the request with
      // that error. A server may answer before the body ends (refusing it): the answer counts.
      pipeline(Readable.from(req.stream, { objectMode: false }), outgoing, () => undefined);
    } else {
      for (const chunk of body) outgoing.write(chunk);
      outgoing.end();
    }
    const response = await answered;
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of response) chunks.push(chunk as Buffer);
    } catch (err) {
      throw new Error(`${req.method} ${req.url.pathname}: the answer was cut short`, { cause: err });
    }
    return { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') };
  };

  return {
    send,
    close: () => {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

/** multipart/form-data as `fetch` writes a FormData of Blobs: one file part per entry, the name also its file name. */
export function encodeMultipart(parts: readonly { name: string; bytes: Uint8Array }[]): { boundary: string; chunks: Uint8Array[]; length: number } {
  const boundary = `slipway-${randomBytes(9).toString('base64url')}`;
  const chunks: Uint8Array[] = [];
  let length = 0;
  const push = (chunk: Uint8Array): void => {
    chunks.push(chunk);
    length += chunk.byteLength;
  };
  for (const part of parts) {
    const name = part.name.replace(/["\r\n]/g, (c) => encodeURIComponent(c));
    push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    push(part.bytes);
    push(Buffer.from('\r\n'));
  }
  push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, chunks, length };
}
