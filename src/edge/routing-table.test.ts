import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from './instance-proxy.ts';
import { RoutingTable } from './routing-table.ts';

const one: Instance = { agentId: 'a1', address: '127.0.0.1', port: 1 };
const two: Instance = { agentId: 'a2', address: '127.0.0.1', port: 2 };

describe('RoutingTable', () => {
  it('reads an environment once per window however many requests ask, and again once the window passed', async () => {
    let reads = 0;
    let instances = [one];
    const table = new RoutingTable(async () => {
      reads++;
      await sleep(5);
      return instances;
    }, 100);
    const pools = await Promise.all([table.get('k'), table.get('k'), table.get('k')]);
    assert.equal(reads, 1);
    assert.deepEqual(pools[0]?.instances, [one]);
    instances = [one, two];
    await sleep(120);
    const pool = await table.get('k');
    assert.equal(reads, 2);
    assert.deepEqual(pool?.instances, [one, two]);
    // The same pool object: its round-robin position survives the re-read.
    assert.equal(pool, pools[0]);
  });

  it('reads again at once after invalidate, and keeps no read that began before it', async () => {
    let reads = 0;
    let instances = [one];
    let gate: Promise<void> = Promise.resolve();
    const table = new RoutingTable(async () => {
      reads++;
      const seen = instances;
      await gate;
      return seen;
    }, 10_000);
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const early = table.get('k');
    table.invalidate();
    instances = [two];
    open();
    assert.deepEqual((await early)?.instances, [one]);
    assert.deepEqual((await table.get('k'))?.instances, [two]);
    assert.equal(reads, 2);
  });

  it('answers undefined for an environment with nothing to route, and lets a failed read fail only its own requests', async () => {
    let fail = true;
    const table = new RoutingTable(async (key) => {
      if (key === 'none') return undefined;
      if (fail) throw new Error('store down');
      return [one];
    }, 10_000);
    assert.equal(await table.get('none'), undefined);
    await assert.rejects(table.get('k'), /store down/);
    fail = false;
    assert.deepEqual((await table.get('k'))?.instances, [one]);
  });
});
