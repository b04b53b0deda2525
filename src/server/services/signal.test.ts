import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Signal } from './signal.ts';

describe('Signal', () => {
  it('wakes a keyed wait for its key or for everyone, not for another key', async () => {
    const signal = new Signal();
    const mine = signal.wait(5_000, undefined, 'agt-a');
    const other = signal.wait(200, undefined, 'agt-b');
    const anyone = signal.wait(5_000);
    signal.notify(['agt-a']);
    assert.equal(await mine, true);
    assert.equal(await anyone, true, 'a wait without a key hears every notify');
    assert.equal(await other, false, 'agt-b timed out');
    const all = signal.wait(5_000, undefined, 'agt-b');
    signal.notify();
    assert.equal(await all, true);
  });

  it('close releases keyed and plain waits with false, and later waits at once', async () => {
    const signal = new Signal();
    const waits = [signal.wait(5_000, undefined, 'agt-a'), signal.wait(5_000)];
    signal.close();
    assert.deepEqual(await Promise.all(waits), [false, false]);
    assert.equal(await signal.wait(5_000, undefined, 'agt-a'), false);
  });

  it('an abort ends a keyed wait', async () => {
    const signal = new Signal();
    const abort = new AbortController();
    const wait = signal.wait(5_000, abort.signal, 'agt-a');
    abort.abort();
    assert.equal(await wait, false);
  });
});
