import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { basicAuthorization, displayRepoUrl, isForbiddenAddress, parseRepoUrl, redactUrl, resolveRepoHost, type LookupAll } from './repo-url.ts';

const strict = { allowLocal: false };
const local = { allowLocal: true };

const refused = (url: string, policy = strict) =>
  assert.throws(
    () => parseRepoUrl(url, policy),
    (err: unknown) => isSlipwayError(err, 'REPO_URL_FORBIDDEN'),
    `${url} should be refused`,
  );

describe('parseRepoUrl', () => {
  test('refuses every scheme but http and https, local paths and scp-style addresses', () => {
    for (const url of [
      'file:///etc',
      'FILE:///srv/git/app.git',
      '/srv/git/app.git',
      './app',
      '../../data',
      'app.git',
      'ssh://git@github.com/acme/app.git',
      'git@github.com:acme/app.git',
      'git://github.com/acme/app.git',
      'ext::sh -c touch% /tmp/pwned',
      'ext::sh',
      'fd::17',
      'ftp://example.com/app.git',
      'javascript:alert(1)',
      'https:/example.com/app',
      'https:example.com/app',
      'http://',
      '-uhttps://example.com/app',
      '--upload-pack=touch /tmp/x',
      'C:\\repos\\app',
      '',
      '   ',
    ]) {
      refused(url);
    }
  });

  test('refuses loopback, private, link-local and reserved hosts in every spelling', () => {
    for (const url of [
      'http://127.0.0.1:5432/',
      'http://127.0.0.1./x',
      'http://127.1/x',
      'http://127.0.1/x',
      'http://2130706433/x',
      'http://0x7f000001/x',
      'http://0x7f.0.0.1/x',
      'http://0177.0.0.1/x',
      'http://017700000001/x',
      'http://0/x',
      'http://0.0.0.0/x',
      'http://10.1.2.3/x',
      'http://172.16.0.1/x',
      'http://172.31.255.255/x',
      'http://192.168.1.1/x',
      'http://100.64.0.1/x',
      'http://100.127.255.255/x',
      'http://169.254.169.254/latest/meta-data/',
      'http://224.0.0.1/x',
      'http://255.255.255.255/x',
      'http://[::1]/x',
      'http://[::]/x',
      'http://[0:0:0:0:0:0:0:1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[::ffff:7f00:1]/x',
      'http://[::ffff:10.0.0.1]/x',
      'http://[::127.0.0.1]/x',
      'http://[64:ff9b::7f00:1]/x',
      'http://[2002:7f00:1::]/x',
      'http://[fc00::1]/x',
      'http://[fd12:3456::1]/x',
      'http://[fe80::1]/x',
      'http://[febf::1]/x',
      'http://[ff02::1]/x',
      'http://localhost/x',
      'http://LOCALHOST:7070/git/a.git',
      'http://api.localhost/x',
      'https://user:pw@127.0.0.1/x',
      'http://example.com@127.0.0.1/x',
      'http://127.0.0.1#@example.com/x',
      'http://127.0.0.1\\@example.com/x',
      'http://exa mple.com/x',
      'http://example.com/x\ny',
      'http://example.com\t/x',
      'http://a!b.example.com/x',
    ]) {
      refused(url);
    }
  });

  test('accepts public http(s) URLs and splits the credentials off', () => {
    const parsed = parseRepoUrl('https://x-access-token:ghp_s3cr%40t@GitHub.com/acme/shop.git', strict);
    assert.equal(parsed.kind, 'remote');
    assert.equal(parsed.url, 'https://github.com/acme/shop.git');
    assert.deepEqual(parsed.credentials, { username: 'x-access-token', password: 'ghp_s3cr@t' });
    if (parsed.kind !== 'remote') return;
    assert.equal(parsed.hostname, 'github.com');
    assert.equal(parsed.port, 443);
    assert.equal(parsed.literal, false);
    const token = parseRepoUrl('https://glpat-abc@gitlab.example.com:8443/g/p', strict);
    assert.deepEqual(token.credentials, { username: 'glpat-abc', password: '' });
    assert.equal(token.url, 'https://gitlab.example.com:8443/g/p');
    for (const url of ['http://93.184.216.34/x.git', 'http://[2606:4700::1111]/x', 'http://8.8.8.8/', 'http://172.32.0.1/x', 'http://100.128.0.1/x']) {
      assert.equal(parseRepoUrl(url, strict).kind, 'remote', url);
    }
  });

  test('with allowLocal, local paths, file:// and loopback hosts are fetched; other schemes still are not', () => {
    assert.equal(parseRepoUrl('/srv/git/app.git', local).kind, 'local');
    assert.equal(parseRepoUrl('file:///srv/git/app.git', local).kind, 'local');
    assert.equal(parseRepoUrl('http://127.0.0.1:9418/app.git', local).kind, 'remote');
    assert.equal(parseRepoUrl('http://localhost/app.git', local).kind, 'remote');
    for (const url of ['ext::sh -c id', 'ssh://host/x', 'git@host:x', '--upload-pack=x', 'git://host/x']) refused(url, local);
  });
});

describe('isForbiddenAddress', () => {
  test('judges resolver answers, refusing what it cannot read', () => {
    for (const address of ['127.0.0.1', '10.0.0.8', '::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', 'fe80::1%eth0', 'fd00::5', '0.0.0.0', 'nonsense', '1.2.3', '']) {
      assert.equal(isForbiddenAddress(address), true, address);
    }
    for (const address of ['140.82.112.3', '2606:4700:4700::1111', '::ffff:140.82.112.3', '2a00:1450:4001:80b::200e']) {
      assert.equal(isForbiddenAddress(address), false, address);
    }
  });
});

describe('resolveRepoHost', () => {
  const remote = (url: string) => {
    const parsed = parseRepoUrl(url, strict);
    if (parsed.kind !== 'remote') throw new Error(`${url} is not remote`);
    return parsed;
  };
  // What a rebinding resolver answers: a public address and a private one.
  const answers =
    (...addresses: string[]): LookupAll =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  test('every address a name resolves to must be public', async () => {
    assert.deepEqual(await resolveRepoHost(remote('https://git.example.com/a'), strict, answers('93.184.216.34', '2606:2800::1')), ['93.184.216.34', '2606:2800::1']);
    await assert.rejects(resolveRepoHost(remote('https://git.example.com/a'), strict, answers('93.184.216.34', '127.0.0.1')), (err: unknown) =>
      isSlipwayError(err, 'REPO_URL_FORBIDDEN'),
    );
    await assert.rejects(resolveRepoHost(remote('https://git.example.com/a'), strict, answers('::ffff:10.0.0.1')), (err: unknown) =>
      isSlipwayError(err, 'REPO_URL_FORBIDDEN'),
    );
    assert.deepEqual(await resolveRepoHost(remote('https://git.example.com/a'), local, answers('127.0.0.1')), ['127.0.0.1']);
  });
});

describe('redactUrl', () => {
  test('hides whatever stands before the host, in URLs and in text quoting them', () => {
    assert.equal(redactUrl('https://user:ghp_secret@github.com/a/b.git'), 'https://***@github.com/a/b.git');
    assert.equal(redactUrl('https://u:p@ss@host/x'), 'https://***@host/x');
    assert.equal(redactUrl('fatal: could not read from https://tok@host/x and http://a:b@c/'), 'fatal: could not read from https://***@host/x and http://***@c/');
    assert.equal(redactUrl('https://github.com/a/b@c'), 'https://github.com/a/b@c');
    assert.equal(displayRepoUrl('https://github.com/a/b', true), 'https://***@github.com/a/b');
    assert.equal(displayRepoUrl('https://github.com/a/b', false), 'https://github.com/a/b');
  });

  test('credentials become an HTTP Basic authorization', () => {
    assert.equal(basicAuthorization({ username: 'x', password: 'pä' }), `Basic ${Buffer.from('x:pä').toString('base64')}`);
  });
});
