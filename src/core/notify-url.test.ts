import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSlipwayError } from './errors.ts';
import { notifyUrlOrigin, parseNotifyUrl, resolveNotifyHost } from './notify-url.ts';
import type { LookupAll } from './repo-url.ts';

const strict = { allowPrivate: false };
const allow = { allowPrivate: true };

const refused = (url: string, policy = strict) =>
  assert.throws(
    () => parseNotifyUrl(url, policy),
    (err: unknown) => isSlipwayError(err, 'URL_FORBIDDEN'),
    `${url} should be refused`,
  );

/** A resolver that answers from a table, as dns.lookup({ all: true }) would. */
const table =
  (answers: Record<string, string[]>): LookupAll =>
  (hostname) => {
    const list = answers[hostname];
    if (!list) return Promise.reject(new Error(`ENOTFOUND ${hostname}`));
    return Promise.resolve(list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };

describe('parseNotifyUrl', () => {
  test('only http and https, with a host and no credentials', () => {
    for (const url of [
      '',
      '   ',
      'ftp://example.com/hook',
      'file:///etc/passwd',
      'gopher://example.com/',
      'javascript:alert(1)',
      'data:text/plain,hi',
      'example.com/hook',
      '//example.com/hook',
      'http:/example.com',
      'http://',
      'https://user:pass@example.com/hook',
      'https://token@example.com/hook',
      'https://exa mple.com/',
      'https://example.com/\\..\\',
      'https://example.com/\u0000',
      'https://example.com/\nX-Injected: 1',
      `https://example.com/${'a'.repeat(2100)}`,
      'https://exa$mple.com/',
    ]) {
      refused(url);
      refused(url, allow);
    }
  });

  test('refuses loopback, private, link-local, unspecified, multicast and reserved IPv4 in every spelling', () => {
    for (const url of [
      'http://127.0.0.1/',
      'http://127.0.0.1:7070/api',
      'http://127.1/',
      'http://127.0.0.1./',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0x7f.0.0.1/',
      'http://0177.0.0.1/',
      'http://017700000001/',
      'http://0/',
      'http://0.0.0.0/',
      'http://10.0.0.1/',
      'http://10.255.255.255/',
      'http://172.16.0.1/',
      'http://172.31.255.254/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/',
      'http://224.0.0.1/',
      'http://239.255.255.250/',
      'http://255.255.255.255/',
      'http://198.18.0.1/',
      'http://192.0.2.10/',
      'HTTP://127.0.0.1/',
    ]) {
      refused(url);
    }
  });

  test('refuses IPv6 loopback, unspecified, unique-local, link-local, multicast, and IPv4 inside IPv6', () => {
    for (const url of [
      'http://[::1]/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://[::]/',
      'http://[fc00::1]/',
      'http://[fd12:3456:789a::1]/',
      'http://[fe80::1]/',
      'http://[fe80::1%25eth0]/',
      'http://[ff02::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::ffff:10.0.0.1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::127.0.0.1]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[2002:7f00:1::]/',
      'http://[2001:db8::1]/',
    ]) {
      refused(url);
    }
  });

  test('refuses names of this machine', () => {
    for (const url of ['http://localhost/', 'http://LOCALHOST:8080/', 'http://localhost./', 'http://api.localhost/', 'http://localhost.localdomain/']) refused(url);
  });

  test('takes public hosts and addresses, normalized', () => {
    assert.deepEqual(parseNotifyUrl(' https://Hooks.Example.com/services/T1/B2/x?y=1#frag ', strict), {
      url: 'https://hooks.example.com/services/T1/B2/x?y=1',
      scheme: 'https',
      hostname: 'hooks.example.com',
      port: 443,
      literal: false,
    });
    assert.equal(parseNotifyUrl('http://93.184.216.34:8080/x', strict).literal, true);
    assert.equal(parseNotifyUrl('http://93.184.216.34:8080/x', strict).port, 8080);
    assert.equal(parseNotifyUrl('http://[2606:4700::1111]/', strict).hostname, '2606:4700::1111');
    // 8.8.8.8 written as one number is a public address, and taken as such.
    assert.equal(parseNotifyUrl('http://134744072/', strict).hostname, '8.8.8.8');
  });

  test('with allowPrivate (an admin), loopback and private hosts are taken', () => {
    for (const url of ['http://127.0.0.1:9/', 'http://[::1]/', 'http://localhost:3000/hook', 'http://10.1.2.3/', 'http://169.254.169.254/']) {
      assert.doesNotThrow(() => parseNotifyUrl(url, allow), url);
    }
  });

  test('a shown URL is its origin only: a token in the path stays hidden', () => {
    assert.equal(notifyUrlOrigin('https://hooks.slack.com/services/T000/B000/XXXXSECRET'), 'https://hooks.slack.com/…');
    assert.equal(notifyUrlOrigin('http://10.0.0.1:8080/x?token=abc'), 'http://10.0.0.1:8080/…');
  });
});

describe('resolveNotifyHost', () => {
  const lookup = table({
    'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'rebind.example.com': ['93.184.216.34', '127.0.0.1'],
    'internal.example.com': ['10.0.0.7'],
    'metadata.example.com': ['169.254.169.254'],
    'v6-loop.example.com': ['::1'],
    'mapped.example.com': ['::ffff:192.168.0.1'],
    'ula.example.com': ['fd00::5'],
    'zero.example.com': ['0.0.0.0'],
    'weird.example.com': ['not-an-address'],
    'empty.example.com': [],
  });
  const check = (url: string, policy = strict) => resolveNotifyHost(parseNotifyUrl(url, policy), policy, lookup);

  test('a name resolving to public addresses only: all of them, for the send to connect to', async () => {
    assert.deepEqual(await check('https://hooks.example.com/x'), ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']);
    assert.deepEqual(await check('https://hooks.example.com./x'), ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']);
  });

  test('a name resolving to any private, loopback, link-local or unparsable address is refused', async () => {
    for (const host of ['rebind', 'internal', 'metadata', 'v6-loop', 'mapped', 'ula', 'zero', 'weird']) {
      await assert.rejects(check(`https://${host}.example.com/x`), (err: unknown) => isSlipwayError(err, 'URL_FORBIDDEN'), host);
    }
  });

  test('an address literal is its own answer; a failed or empty lookup is an error, not a refusal', async () => {
    assert.deepEqual(await check('http://93.184.216.34/'), ['93.184.216.34']);
    await assert.rejects(check('https://nowhere.example.com/'), (err: unknown) => !isSlipwayError(err) && /ENOTFOUND/.test(String(err)));
    await assert.rejects(check('https://empty.example.com/'), /no address/);
  });

  test('allowPrivate takes private answers', async () => {
    assert.deepEqual(await check('https://internal.example.com/x', allow), ['10.0.0.7']);
  });
});
