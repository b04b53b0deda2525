import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Maps many small synchronous steps (reading or writing a tiny file), `slice` at a time,
 * yielding to the event loop between slices. For files of a few KB a synchronous call costs a
 * fraction of an asynchronous one (which goes through libuv's four-thread pool and back), and
 * slices keep each pause of the event loop short (a few milliseconds).
 */
export async function mapSliced<T, R>(items: readonly T[], slice: number, step: (item: T) => R): Promise<R[]> {
  if (!Number.isInteger(slice) || slice < 1) throw new RangeError(`slice must be a positive integer, not ${slice}`);
  const results: R[] = [];
  for (let start = 0; start < items.length; start += slice) {
    if (start > 0) await yieldToLoop();
    for (const item of items.slice(start, start + slice)) results.push(step(item));
  }
  return results;
}
