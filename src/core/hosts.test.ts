import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { controlHostnames, isIpLiteral, isLocalhostName, normalizeHost, reservedDomainReason } from './hosts.ts';

describe('normalizeHost', () => {
  test('lowercases and drops the port, brackets and trailing dots', () => {
    assert.equal(normalizeHost('LocalHost.:7070'), 'localhost');
    assert.equal(normalizeHost('[::1]:7070'), '::1');
    assert.equal(normalizeHost('[::1]'), '::1');
    assert.equal(normalizeHost('::1'), '::1');
    assert.equal(normalizeHost('Slipway.Example.COM..'), 'slipway.example.com');
    assert.equal(normalizeHost(' www.shop.test '), 'www.shop.test');
  });
});

describe('isIpLiteral', () => {
  test('every IPv4 spelling a resolver accepts is an address', () => {
    for (const host of ['127.0.0.1', '127.1', '2130706433', '0x7f.1', '0x7f000001', '0177.0.0.1', '127.0.0.1.', '10.0.0.1:80', '1.2.3.4', '0x', '0.0.0.0']) {
      assert.equal(isIpLiteral(host), true, host);
    }
  });
  test('IPv6 in any form is an address', () => {
    for (const host of ['::1', '[::1]', '[::1]:7070', '[0:0:0:0:0:0:0:1]', '::ffff:127.0.0.1', '[::ffff:7f00:1]', 'fe80::1%25eth0']) {
      assert.equal(isIpLiteral(host), true, host);
    }
  });
  test('DNS names are not, even when they contain numbers', () => {
    for (const host of ['www.shop.test', '1.2.3.4.nip.io', '127-0-0-1.example.com', '0xdead.beef.example', 'a1']) {
      assert.equal(isIpLiteral(host), false, host);
    }
  });
});

describe('isLocalhostName', () => {
  test('localhost in every spelling', () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', 'localhost..', 'x.localhost', 'a.b.LocalHost.', 'localhost:7070']) {
      assert.equal(isLocalhostName(host), true, host);
    }
    for (const host of ['localhost.example.com', 'notlocalhost', 'mylocalhost.test']) assert.equal(isLocalhostName(host), false, host);
  });
});

describe('controlHostnames', () => {
  test('loopback names always, plus the public URLs or the listen address', () => {
    assert.deepEqual(controlHostnames([], '127.0.0.1').sort(), ['127.0.0.1', '::1', 'localhost']);
    assert.deepEqual(controlHostnames([], '10.1.2.3').sort(), ['10.1.2.3', '127.0.0.1', '::1', 'localhost']);
    assert.deepEqual(controlHostnames([], '0.0.0.0').sort(), ['127.0.0.1', '::1', 'localhost']);
    assert.deepEqual(controlHostnames(['https://Slipway.Example.com', 'http://ci.internal:7070/'], '0.0.0.0').sort(), [
      '127.0.0.1',
      '::1',
      'ci.internal',
      'localhost',
      'slipway.example.com',
    ]);
  });
});

describe('reservedDomainReason', () => {
  const control = controlHostnames(['https://slipway.example.com'], '127.0.0.1');
  const reserved = (host: string) => reservedDomainReason(host, 'apps.example.com', control);

  test('the control plane’s hostnames, localhost, IP addresses and names under the base domain are reserved', () => {
    for (const host of [
      'slipway.example.com',
      'SLIPWAY.example.com.',
      'localhost',
      'localhost.',
      'LocalHost',
      'x.localhost',
      'shop.localhost.',
      '127.0.0.1',
      '127.1',
      '2130706433',
      '0x7f.1',
      '0177.0.0.1',
      '[::1]',
      '::1',
      '[::ffff:127.0.0.1]',
      '10.0.0.1',
      'apps.example.com',
      'shop.apps.example.com',
      'a.b.apps.example.com.',
    ]) {
      assert.ok(reserved(host), `${host} should be reserved`);
    }
  });

  test('ordinary domains are not', () => {
    for (const host of ['www.shop.test', 'example.com', 'shop.example.com', 'apps.example.com.evil.test', 'slipway.example.com.evil.test']) {
      assert.equal(reserved(host), undefined, host);
    }
  });
});
