import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayClient } from '../protocol/client.ts';
import { startRunner } from './runner.ts';

/** A client whose every request is answered by `answer` (no server). */
function clientAnswering(answer: (url: string) => Response | Promise<Response>): { client: SlipwayClient; calls: string[] } {
  const calls: string[] = [];
  const client = new SlipwayClient({
    url: 'http://runner.test',
    token: 't',
    fetch: async (input) => {
      const url = input instanceof URL ? input.pathname : typeof input === 'string' ? new URL(input).pathname : new URL(input.url).pathname;
      calls.push(url);
      return answer(url);
    },
  });
  return { client, calls };
}

/** These runners never get a build to run: skip the probe of bubblewrap. */
const noBuilds = { mode: 'unavailable', reason: 'no builds in these tests' } as const;

describe('startRunner', () => {
  test('keeps polling while the queue is empty', async () => {
    const { client, calls } = clientAnswering(() => new Response(null, { status: 204 }));
    const runner = startRunner({ serverUrl: 'http://runner.test', token: 't', client, sandbox: noBuilds, pollMs: 10, log: () => undefined });
    while (calls.length < 3) await sleep(10);
    await runner.stop();
    assert.ok(calls.every((c) => c === '/api/v1/runner/claim'));
    const after = calls.length;
    await sleep(50);
    assert.equal(calls.length, after, 'no claim after stop');
  });

  test('stop cuts the wait between polls short', async () => {
    const { client, calls } = clientAnswering(() => new Response(null, { status: 204 }));
    const runner = startRunner({ serverUrl: 'http://runner.test', token: 't', client, sandbox: noBuilds, pollMs: 600_000, log: () => undefined });
    while (calls.length < 1) await sleep(10);
    // Waiting out the ten-minute poll would time the test out.
    await runner.stop();
    assert.equal(calls.length, 1);
  });

  test('a failing server never kills the loop: it logs and backs off', async () => {
    const log: string[] = [];
    let n = 0;
    const { client } = clientAnswering(() => {
      n += 1;
      if (n === 1) throw new TypeError('fetch failed');
      if (n === 2) return Response.json({ error: { code: 'INTERNAL', message: 'boom' } }, { status: 500 });
      return new Response(null, { status: 204 });
    });
    const runner = startRunner({ serverUrl: 'http://runner.test', token: 't', client, sandbox: noBuilds, pollMs: 10, log: (l) => log.push(l) });
    while (n < 3) await sleep(50);
    await runner.stop();
    assert.match(log[0] ?? '', /^claiming a build failed: cannot reach http:\/\/runner\.test; retrying in 1s$/);
    assert.match(log[1] ?? '', /^claiming a build failed: boom; retrying in 2s$/);
    assert.ok(n >= 3, 'it claimed again after backing off');
  });

  test('an answer it does not understand is logged, not fatal', async () => {
    const log: string[] = [];
    const { client, calls } = clientAnswering(() => Response.json({ build: { id: 42 } }));
    const runner = startRunner({ serverUrl: 'http://runner.test', token: 't', client, sandbox: noBuilds, pollMs: 10, log: (l) => log.push(l) });
    // Under load the first claim may take a while; what matters is that it backs off after it.
    while (log.length === 0) await sleep(5);
    await sleep(50);
    await runner.stop();
    assert.equal(calls.length, 1, 'it waits before asking again');
    assert.match(log[0] ?? '', /claim answer is not understood/);
  });
});
