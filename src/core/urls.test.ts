import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deploymentUrl, environmentUrl, parseEdgeHost } from './urls.ts';

test('edge hosts are classified by their left label', () => {
  assert.deepEqual(parseEdgeHost('dpl-abc--shop.localhost:7070', 'localhost'), { kind: 'deployment', project: 'shop', deploymentId: 'dpl-abc' });
  assert.deepEqual(parseEdgeHost('staging--shop.localhost', 'localhost'), { kind: 'environment', project: 'shop', environment: 'staging' });
  assert.deepEqual(parseEdgeHost('Shop.LOCALHOST:7070', 'localhost'), { kind: 'environment', project: 'shop', environment: 'production' });
  assert.deepEqual(parseEdgeHost('localhost:7070', 'localhost'), { kind: 'other', hostname: 'localhost' });
  assert.deepEqual(parseEdgeHost('www.shop.test', 'localhost'), { kind: 'other', hostname: 'www.shop.test' });
  assert.deepEqual(parseEdgeHost('a.b.localhost', 'localhost'), { kind: 'other', hostname: 'a.b.localhost' });
  assert.deepEqual(parseEdgeHost('a--b--c.localhost', 'localhost'), { kind: 'other', hostname: 'a--b--c.localhost' });
  assert.deepEqual(parseEdgeHost('[::1]:7070', 'localhost'), { kind: 'other', hostname: '[::1]' });
});

test('URLs are built the way hosts are parsed', () => {
  const urls = { baseDomain: 'localhost', scheme: 'http' as const, port: 7070 };
  assert.equal(deploymentUrl(urls, 'shop', 'dpl-x'), 'http://dpl-x--shop.localhost:7070/');
  assert.equal(environmentUrl(urls, 'shop', 'production'), 'http://shop.localhost:7070/');
  assert.equal(environmentUrl({ ...urls, port: null }, 'shop', 'staging'), 'http://staging--shop.localhost/');
});
