import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FreshLookup } from './fresh-lookup.ts';

/** Reads the test settles by hand, recording when each one started. */
function controlledReads() {
  const started: { key: string; resolve: (v: number) => void; reject: (err: Error) => void }[] = [];
  const lookup = new FreshLookup<string, number>(
    (key) =>
      new Promise((resolve, reject) => {
        started.push({ key, resolve, reject });
      }),
  );
  return { lookup, started };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('FreshLookup', () => {
  it('shares one read among requests that arrive in the same turn', async () => {
    const { lookup, started } = controlledReads();
    const answers = [lookup.get('env'), lookup.get('env'), lookup.get('env')];
    assert.equal(started.length, 0, 'the read waits for the turn to end');
    await turn();
    assert.equal(started.length, 1);
    started[0]?.resolve(1);
    assert.deepEqual(await Promise.all(answers), [1, 1, 1]);
  });

  it('never answers a request from a read that started before it arrived', async () => {
    const { lookup, started } = controlledReads();
    const first = lookup.get('env');
    await turn();
    assert.equal(started.length, 1);
    // These arrive while the first read is in flight: it may predate a repoint they must see.
    const second = lookup.get('env');
    const third = lookup.get('env');
    await turn();
    assert.equal(started.length, 1);
    started[0]?.resolve(1);
    assert.equal(await first, 1);
    await turn();
    assert.equal(started.length, 2, 'one new read serves both queued requests');
    started[1]?.resolve(2);
    assert.deepEqual(await Promise.all([second, third]), [2, 2]);
  });

  it('reads again for a request after the previous read settled, and keeps keys apart', async () => {
    const { lookup, started } = controlledReads();
    const a = lookup.get('a');
    const b = lookup.get('b');
    await turn();
    assert.deepEqual(
      started.map((s) => s.key),
      ['a', 'b'],
    );
    started[0]?.resolve(1);
    started[1]?.resolve(2);
    assert.deepEqual(await Promise.all([a, b]), [1, 2]);
    const again = lookup.get('a');
    await turn();
    assert.equal(started.length, 3);
    started[2]?.resolve(3);
    assert.equal(await again, 3);
  });

  it('passes a failed read to the requests sharing it, and recovers', async () => {
    const { lookup, started } = controlledReads();
    const first = lookup.get('env');
    await turn();
    const queued = lookup.get('env');
    started[0]?.reject(new Error('db down'));
    await assert.rejects(first, /db down/);
    await turn();
    started[1]?.reject(new Error('still down'));
    await assert.rejects(queued, /still down/);
    const later = lookup.get('env');
    await turn();
    started[2]?.resolve(7);
    assert.equal(await later, 7);
  });

  it('turns a read that throws at once into a rejection', async () => {
    const lookup = new FreshLookup<string, number>(() => {
      throw new Error('sync failure');
    });
    await assert.rejects(lookup.get('x'), /sync failure/);
  });
});
