import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenOf } from './git-routes.ts';
import { parseCgiHead } from './http-backend.ts';

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

test('the token comes from a bearer header or from Basic credentials', () => {
  assert.equal(tokenOf('Bearer slw_abc'), 'slw_abc');
  assert.equal(tokenOf('bearer  slw_abc '), 'slw_abc');
  assert.equal(tokenOf(basic('anyone:slw_abc')), 'slw_abc');
  // A password may contain colons; only the first separates the user name.
  assert.equal(tokenOf(basic('x:slw_a:b')), 'slw_a:b');
  // A token as the user name with no password, as GitHub allows.
  assert.equal(tokenOf(basic('slw_abc:')), 'slw_abc');
  assert.equal(tokenOf(basic('slw_abc')), 'slw_abc');
  assert.equal(tokenOf(basic(':')), undefined);
  assert.equal(tokenOf(undefined), undefined);
  assert.equal(tokenOf('Digest foo'), undefined);
  assert.equal(tokenOf('Basic !!!'), undefined);
});

test('a CGI header block gives the status and the response headers', () => {
  assert.deepEqual(parseCgiHead('Expires: Fri, 01 Jan 1980 00:00:00 GMT\r\nContent-Type: application/x-git-upload-pack-advertisement'), {
    status: 200,
    headers: { Expires: 'Fri, 01 Jan 1980 00:00:00 GMT', 'Content-Type': 'application/x-git-upload-pack-advertisement' },
  });
  assert.deepEqual(parseCgiHead('Status: 404 Not Found\nContent-Type: text/plain\nVary: a\nVary: b'), {
    status: 404,
    headers: { 'Content-Type': 'text/plain', Vary: ['a', 'b'] },
  });
  assert.throws(() => parseCgiHead('Status: nope'));
  assert.throws(() => parseCgiHead('no colon here'));
});
