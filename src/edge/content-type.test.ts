import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentTypeOf } from './content-type.ts';

describe('contentTypeOf', () => {
  it('adds a charset to textual types only', () => {
    assert.equal(contentTypeOf('index.html'), 'text/html; charset=utf-8');
    assert.equal(contentTypeOf('assets/app.js'), 'text/javascript; charset=utf-8');
    assert.equal(contentTypeOf('data.json'), 'application/json; charset=utf-8');
    assert.equal(contentTypeOf('logo.svg'), 'image/svg+xml; charset=utf-8');
    assert.equal(contentTypeOf('logo.png'), 'image/png');
    assert.equal(contentTypeOf('font.woff2'), 'font/woff2');
  });

  it('falls back to octet-stream', () => {
    assert.equal(contentTypeOf('LICENSE'), 'application/octet-stream');
    assert.equal(contentTypeOf('x.unknownext'), 'application/octet-stream');
  });
});
