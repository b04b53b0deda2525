import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lru } from './lru.ts';

describe('Lru', () => {
  it('evicts the least recently used entry past its count', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), 1);
    lru.set('c', 3);
    assert.equal(lru.has('b'), false);
    assert.deepEqual([lru.get('a'), lru.get('c')], [1, 3]);
  });

  it('bounds total weight and refuses an entry heavier than the bound', () => {
    const lru = new Lru<string, Buffer>(10, (b) => b.byteLength);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.set('c', Buffer.alloc(4));
    assert.equal(lru.has('a'), false);
    assert.equal(lru.weight, 8);
    lru.set('huge', Buffer.alloc(11));
    assert.equal(lru.has('huge'), false);
    assert.equal(lru.weight, 8);
  });

  it('replacing a key updates its weight', () => {
    const lru = new Lru<string, Buffer>(10, (b) => b.byteLength);
    lru.set('a', Buffer.alloc(4));
    lru.set('a', Buffer.alloc(6));
    assert.equal(lru.weight, 6);
    assert.equal(lru.delete('a'), true);
    assert.equal(lru.weight, 0);
  });
});
