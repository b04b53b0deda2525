import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestPath, resolveFile } from './request-path.ts';

describe('parseRequestPath', () => {
  it('drops the leading slash, the query and the fragment', () => {
    assert.equal(parseRequestPath('/'), '');
    assert.equal(parseRequestPath('/a/b.js?v=1#x'), 'a/b.js');
    assert.equal(parseRequestPath('/a/?x'), 'a/');
  });

  it('percent-decodes', () => {
    assert.equal(parseRequestPath('/hello%20world.txt'), 'hello world.txt');
    assert.equal(parseRequestPath('/caf%C3%A9'), 'café');
  });

  it('rejects NUL, malformed escapes, .. segments and targets that are not paths', () => {
    for (const url of ['/a%00b', '/%E0%A4%A', '/../etc/passwd', '/a/%2e%2e/b', '/a/..', '/..%2fsecret', '/a\\..\\b', '*', 'http://x/']) {
      assert.equal(parseRequestPath(url), undefined, url);
    }
    assert.equal(parseRequestPath('/a..b/c...'), 'a..b/c...');
  });
});

describe('resolveFile', () => {
  const files = new Map(['index.html', 'docs/index.html', 'about.html', 'app.js', 'blog/index.html', 'blog.html'].map((p) => [p, p]));

  it('serves index.html for the root and for directories', () => {
    assert.equal(resolveFile(files, ''), 'index.html');
    assert.equal(resolveFile(files, 'docs/'), 'docs/index.html');
  });

  it('resolves pretty URLs: the file, else its index.html, else .html', () => {
    assert.equal(resolveFile(files, 'app.js'), 'app.js');
    assert.equal(resolveFile(files, 'docs'), 'docs/index.html');
    assert.equal(resolveFile(files, 'about'), 'about.html');
    assert.equal(resolveFile(files, 'blog'), 'blog/index.html');
    assert.equal(resolveFile(files, 'nope'), undefined);
    assert.equal(resolveFile(files, 'about/'), undefined);
  });
});
