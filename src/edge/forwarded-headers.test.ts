import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.ts';

describe('forwarded headers', () => {
  it('passes end-to-end request headers, repeated ones as arrays, and sets the forwarding headers from what the edge saw', () => {
    const headers = upstreamRequestHeaders({
      rawHeaders: ['Host', 'shop.localhost', 'Accept', 'text/html', 'Cookie', 'a=1', 'cookie', 'b=2', 'X-Forwarded-For', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'Expect', '100-continue'],
      host: 'shop.localhost',
      contentLength: undefined,
      remoteAddress: '::ffff:10.1.2.3',
      scheme: 'https',
    });
    assert.deepEqual({ ...headers }, {
      accept: 'text/html',
      cookie: ['a=1', 'b=2'],
      host: 'shop.localhost',
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.localhost',
    });
  });

  it('drops hop-by-hop headers and those Connection names, but never the Host or the length it framed the body by', () => {
    const headers = upstreamRequestHeaders({
      rawHeaders: ['Connection', 'close, X-Private', 'connection', 'Host, Content-Length', 'X-Private', '1', 'TE', 'trailers', 'Upgrade', 'websocket', 'Proxy-Authorization', 'Basic x', 'Content-Length', '3', 'Host', 'a.localhost'],
      host: 'a.localhost',
      contentLength: '3',
      remoteAddress: '::1',
      scheme: 'http',
    });
    assert.deepEqual({ ...headers }, { host: 'a.localhost', 'content-length': '3', 'x-forwarded-for': '::1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.localhost' });
  });

  it('keeps every response header line but the hop-by-hop ones', () => {
    assert.deepEqual(
      downstreamResponseHeaders(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'keep-alive, X-Internal', 'X-Internal', 'x', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Content-Type', 'text/plain']),
      ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain'],
    );
  });
});
