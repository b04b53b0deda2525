import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyBaseLogger } from 'fastify';

/** What git's CGI needs to know about one request. */
export interface CgiRequest {
  method: string;
  /** `/<project>.git/info/refs`, relative to GIT_PROJECT_ROOT. */
  pathInfo: string;
  query: string;
  headers: IncomingHttpHeaders;
  remoteAddr: string;
  remoteUser: string;
  /** The request body, streamed to git as it arrives; undefined for GET. */
  body: Readable | undefined;
}

export interface BackendOptions {
  request: CgiRequest;
  response: ServerResponse;
  /** PATH, HOME, GIT_PROJECT_ROOT, config and hook variables; the CGI variables are added here. */
  env: Record<string, string>;
  /** Request bodies larger than this (on the wire, before gzip) are cut off. */
  maxBodyBytes: number;
  log: FastifyBaseLogger;
  /** Run git in its own process group (so the caller can stop it and its hooks together). */
  detached?: boolean;
  /** Called once when the client goes away before git has finished. */
  onClientGone?: () => void;
  /** Called with the child as soon as it runs, so the server can stop it on close. */
  onSpawn?: (child: ChildProcess) => void;
}

/** CGI headers larger than this mean git is not speaking CGI; refuse rather than buffer. */
const MAX_HEADER_BYTES = 64 * 1024;

/** Forwarded request headers, named as CGI wants them. */
function cgiEnv(request: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: request.method,
    PATH_INFO: request.pathInfo,
    QUERY_STRING: request.query,
    REMOTE_ADDR: request.remoteAddr,
    // A token's name is free text; an environment variable cannot hold NUL.
    // eslint-disable-next-line no-control-regex
    REMOTE_USER: request.remoteUser.replace(/[\u0000-\u001f\u007f]/g, '?'),
  };
  const { headers } = request;
  if (typeof headers['content-type'] === 'string') env.CONTENT_TYPE = headers['content-type'];
  // Without CONTENT_LENGTH (a chunked push) http-backend reads the body to its end.
  const length = headers['content-length'];
  if (typeof length === 'string' && /^\d+$/.test(length)) env.CONTENT_LENGTH = length;
  // git gzips large request bodies; http-backend inflates them itself.
  const encoding = headers['content-encoding'];
  if (typeof encoding === 'string') env.HTTP_CONTENT_ENCODING = encoding;
  // Protocol v2 is negotiated through this header; its value is git's own `key=value:…` form.
  const protocol = headers['git-protocol'];
  if (typeof protocol === 'string' && /^[A-Za-z0-9=:._-]{1,200}$/.test(protocol)) env.HTTP_GIT_PROTOCOL = protocol;
  return env;
}

/** Parses a CGI header block: an optional `Status:` line and response headers. */
export function parseCgiHead(block: string): { status: number; headers: OutgoingHttpHeaders } {
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed CGI header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const code = Number.parseInt(value, 10);
      if (!Number.isInteger(code) || code < 100 || code > 599) throw new Error(`malformed CGI status: ${JSON.stringify(value)}`);
      status = code;
      continue;
    }
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return { status, headers };
}

/** Index just past the blank line ending the CGI header block, or -1 while it has not arrived. */
function headEnd(buffer: Buffer): { head: number; body: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return undefined;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { head: crlf, body: crlf + 4 };
  return { head: lf, body: lf + 2 };
}

class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(new Error(`request body exceeds ${this.limit} bytes`));
    else callback(null, chunk);
  }
}

function sendPlain(response: ServerResponse, status: number, text: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  response.end(`${text}\n`);
}

/**
 * Runs `git http-backend` for one request: the body streams into its stdin, its stdout streams
 * back as the response once the CGI header block is parsed. Nothing is buffered beyond the
 * header block and the streams' own high-water marks, so a pack of any size passes through.
 * Resolves when git has exited; never rejects (failures become a 500 or a cut response).
 */
export function runHttpBackend(options: BackendOptions): Promise<void> {
  const { request, response, log } = options;
  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn('git', ['http-backend'], {
        env: { ...options.env, ...cgiEnv(request) },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: options.detached ?? false,
      });
    } catch (err) {
      // spawn throws synchronously for arguments it refuses (an environment value it cannot pass).
      log.error({ err }, 'could not start git http-backend');
      sendPlain(response, 500, 'git http-backend failed; see the server log');
      resolve();
      return;
    }
    options.onSpawn?.(child);
    let headerBuffer: Buffer = Buffer.alloc(0);
    let streaming = false;
    let failed = false;
    let clientGone = false;
    const fail = (text: string) => {
      if (failed || streaming || clientGone) return;
      failed = true;
      sendPlain(response, 500, text);
    };
    const stderr: string[] = [];

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.join('').length < 8192) stderr.push(text);
    });

    if (request.body === undefined) {
      child.stdin.end();
    } else {
      pipeline(request.body, new ByteLimit(options.maxBodyBytes), child.stdin).catch((err: unknown) => {
        // git stops reading when it refuses a request (EPIPE); a client that hangs up mid-body
        // or an oversized body ends up here too. Either way git sees a short body and fails.
        log.debug({ err }, 'git request body ended early');
        if (child.exitCode === null && child.signalCode === null && !child.stdin.destroyed) child.stdin.destroy();
      });
    }

    const onHeadData = (chunk: Buffer) => {
      headerBuffer = Buffer.concat([headerBuffer, chunk]);
      const end = headEnd(headerBuffer);
      if (end === undefined) {
        if (headerBuffer.length > MAX_HEADER_BYTES) {
          child.stdout.off('data', onHeadData);
          log.error('git http-backend sent no CGI header block');
          child.kill('SIGTERM');
          fail('git http-backend failed; see the server log');
        }
        return;
      }
      child.stdout.off('data', onHeadData);
      child.stdout.pause();
      let head: ReturnType<typeof parseCgiHead>;
      try {
        head = parseCgiHead(headerBuffer.subarray(0, end.head).toString('latin1'));
      } catch (err) {
        log.error({ err }, 'git http-backend sent a malformed CGI header block');
        child.kill('SIGTERM');
        fail('git http-backend failed; see the server log');
        return;
      }
      if (failed) return;
      streaming = true;
      if (clientGone) {
        child.stdout.resume();
        return;
      }
      response.writeHead(head.status, head.headers);
      const rest = headerBuffer.subarray(end.body);
      headerBuffer = Buffer.alloc(0);
      if (rest.length > 0) response.write(rest);
      child.stdout.pipe(response);
    };
    child.stdout.on('data', onHeadData);

    response.on('close', () => {
      if (child.exitCode !== null || child.signalCode !== null || response.writableFinished) return;
      // The client hung up. git is left to finish (a push whose refs are updated must still be
      // recorded by its hook); its output is drained and dropped.
      clientGone = true;
      child.stdout.unpipe(response);
      child.stdout.resume();
      options.onClientGone?.();
    });

    child.on('error', (err) => {
      log.error({ err }, 'could not run git http-backend');
      fail('git is not available on the server');
      resolve();
    });
    child.on('close', (code, signal) => {
      const errors = stderr.join('').trim();
      if (code !== 0 || errors !== '') log.warn({ code, signal, stderr: errors.slice(0, 4096), path: request.pathInfo }, 'git http-backend reported a problem');
      fail('git http-backend failed; see the server log');
      resolve();
    });
  });
}
