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
      trusted: false,
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
      trusted: false,
    });
    assert.deepEqual({ ...headers }, { host: 'a.localhost', 'content-length': '3', 'x-forwarded-for': '::1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.localhost' });
  });

  it('extends a trusted proxy\'s X-Forwarded-For chain and keeps the scheme and host it names', () => {
    const rawHeaders = ['Host', 'shop.localhost', 'X-Forwarded-For', '203.0.113.7', 'X-Forwarded-For', '10.0.0.2', 'X-Forwarded-Proto', 'HTTPS', 'X-Forwarded-Host', 'shop.example.com'];
    const trusted = upstreamRequestHeaders({ rawHeaders, host: 'shop.localhost', contentLength: undefined, remoteAddress: '127.0.0.1', scheme: 'http', trusted: true });
    assert.equal(trusted['x-forwarded-for'], '203.0.113.7, 10.0.0.2, 127.0.0.1');
    assert.equal(trusted['x-forwarded-proto'], 'https');
    assert.equal(trusted['x-forwarded-host'], 'shop.example.com');
    const untrusted = upstreamRequestHeaders({ rawHeaders, host: 'shop.localhost', contentLength: undefined, remoteAddress: '127.0.0.1', scheme: 'http', trusted: false });
    assert.equal(untrusted['x-forwarded-for'], '127.0.0.1');
    assert.equal(untrusted['x-forwarded-proto'], 'http');
    assert.equal(untrusted['x-forwarded-host'], 'shop.localhost');
    const odd = upstreamRequestHeaders({ rawHeaders: ['X-Forwarded-Proto', 'gopher'], host: 'a.localhost', contentLength: undefined, remoteAddress: '::1', scheme: 'http', trusted: true });
    assert.equal(odd['x-forwarded-proto'], 'http');
  });

  it('keeps every response header line but the hop-by-hop ones', () => {
    assert.deepEqual(
      downstreamResponseHeaders(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Connection', 'keep-alive, X-Internal', 'X-Internal', 'x', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Content-Type', 'text/plain']),
      ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain'],
    );
  });
});
