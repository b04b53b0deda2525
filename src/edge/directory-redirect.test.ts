import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directoryRedirect } from './directory-redirect.ts';
import { parseRequestPath } from './request-path.ts';

const files = new Map<string, true>([
  ['index.html', true],
  ['docs/index.html', true],
  ['docs/guide/index.html', true],
  ['about.html', true],
  ['file', true],
  ['a b/index.html', true],
  ['café/index.html', true],
  ['x?y/index.html', true],
  ['@evil.com/index.html', true],
]);

/** What the edge does: parse the request target, then ask for a redirect. */
function redirectOf(url: string): string | undefined {
  const path = parseRequestPath(url);
  return path === undefined ? undefined : directoryRedirect(files, path, url);
}

describe('directoryRedirect', () => {
  it('redirects a directory named without its trailing slash, keeping the query', () => {
    assert.equal(redirectOf('/docs'), '/docs/');
    assert.equal(redirectOf('/docs?a=1&b=%20'), '/docs/?a=1&b=%20');
    assert.equal(redirectOf('/docs/guide?x'), '/docs/guide/?x');
    assert.equal(redirectOf('/docs#frag'), '/docs/');
  });

  it('leaves alone what needs no redirect', () => {
    for (const url of ['/', '/docs/', '/docs/index.html', '/about', '/about.html', '/file', '/missing', '/docs/guide/']) {
      assert.equal(redirectOf(url), undefined, url);
    }
  });

  it('percent-encodes the path it rebuilds from the manifest', () => {
    assert.equal(redirectOf('/a%20b'), '/a%20b/');
    assert.equal(redirectOf('/caf%C3%A9?q=%C3%A9'), '/caf%C3%A9/?q=%C3%A9');
    assert.equal(redirectOf('/x%3Fy'), '/x%3Fy/');
    assert.equal(redirectOf('/@evil.com'), '/@evil.com/');
  });

  it('encodes raw bytes and spaces of the query', () => {
    assert.equal(directoryRedirect(files, 'docs', '/docs?q=\u00e9 x'), '/docs/?q=%E9%20x');
  });

  it('never answers with an off-site Location', () => {
    const hostile = new Map<string, true>([['evil.com/index.html', true], ['docs/index.html', true]]);
    for (const url of ['//evil.com', '//evil.com/', '/%2Fevil.com', '/%2F%2Fevil.com', '/\\evil.com', '/%5Cevil.com', '/\\/evil.com', '///evil.com', '/docs?//evil.com']) {
      const path = parseRequestPath(url);
      const location = path === undefined ? undefined : directoryRedirect(hostile, path, url);
      if (location === undefined) continue;
      assert.match(location, /^\/[^/\\]/, `${url} → ${location}`);
      assert.equal(new URL(location, 'http://site.example/').host, 'site.example', `${url} → ${location}`);
    }
    // A request path with an empty segment names no manifest entry, so it is never redirected.
    assert.equal(directoryRedirect(new Map([['/evil.com/index.html', true]]), '/evil.com', '//evil.com'), undefined);
    assert.equal(directoryRedirect(new Map([['a//b/index.html', true]]), 'a//b', '/a//b'), undefined);
  });
});
