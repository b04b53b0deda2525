import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapSliced } from './sliced.ts';

describe('mapSliced', () => {
  test('maps every item once, in order', async () => {
    const items = Array.from({ length: 103 }, (_, i) => i);
    const seen: number[] = [];
    const out = await mapSliced(items, 10, (n) => {
      seen.push(n);
      return `#${n}`;
    });
    assert.deepEqual(seen, items);
    assert.deepEqual(out, items.map((n) => `#${n}`));
    assert.deepEqual(await mapSliced([], 10, () => assert.fail('no step for no items')), []);
    assert.deepEqual(await mapSliced([1, 2, 3], 100, (n) => n * 2), [2, 4, 6]);
  });

  test('yields to the event loop between slices, a whole slice at a time', async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    let done = 0;
    let finished = false;
    // A ticker queued before the call: it can only run while mapSliced is paused between slices.
    const observed: number[] = [];
    const tick = (): void => {
      if (finished) return;
      observed.push(done);
      setImmediate(tick);
    };
    setImmediate(tick);
    await mapSliced(items, 10, () => {
      done += 1;
    });
    finished = true;
    const between = observed.filter((n) => n > 0 && n < items.length);
    assert.ok(between.length >= 2, `the loop ran between slices only at ${JSON.stringify(observed)}`);
    assert.ok(between.every((n) => n % 10 === 0), `paused mid-slice: ${JSON.stringify(observed)}`);
  });

  test('a throwing step rejects and stops the mapping', async () => {
    const seen: number[] = [];
    const result = mapSliced([1, 2, 3, 4, 5, 6], 2, (n) => {
      seen.push(n);
      if (n === 3) throw new Error('step 3 failed');
      return n;
    });
    await assert.rejects(result, /step 3 failed/);
    assert.deepEqual(seen, [1, 2, 3]);
  });
});
