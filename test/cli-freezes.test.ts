import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Freeze, FreezeList } from '../src/protocol/freezes.ts';
import type { Policy } from '../src/protocol/pipelines.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** `slipway freeze`, `freezes`, `unfreeze` and `env set --windows`: the real bin/slipway against a real server. */


const [sqlite] = backends;

describe('freezes and windows from the CLI', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(sqlite ?? backends[0]!);
    await t.client.createProject('shop');
  });
  after(() => t.dispose());

  test('env set --windows takes windows separated by semicolons; a bad one exits 2 and changes nothing', async () => {
    const set = await slipway(t, ['env', 'set', 'production', '--project', 'shop', '--windows', 'Mon-Thu 09:00-16:00 Europe/Berlin; Fri 09:00-12:00 Europe/Berlin', '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((JSON.parse(set.stdout) as Policy).windows, ['Mon-Thu 09:00-16:00 Europe/Berlin', 'Fri 09:00-12:00 Europe/Berlin']);
    const bad = await slipway(t, ['env', 'set', 'production', '--project', 'shop', '--windows', 'Mon-Thu 09:00-16:00 Berlin']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /POLICY_INVALID/);
    assert.match(bad.stderr, /not an IANA time zone/);
    const pipeline = await slipway(t, ['pipeline', '--project', 'shop']);
    assert.match(pipeline.stdout, /windows Mon-Thu 09:00-16:00 Europe\/Berlin, Fri 09:00-12:00 Europe\/Berlin/);
  });

  test('freeze, freezes and unfreeze; until before from exits 2', async () => {
    const bad = await slipway(t, ['freeze', '--project', 'shop', '--env', 'production', '--from', '2099-01-04T00:00', '--until', '2099-01-01T00:00', '--reason', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /FREEZE_INVALID/);
    const made = await slipway(t, ['freeze', '--project', 'shop', '--env', 'production', '--until', new Date(Date.now() + 86_400_000).toISOString(), '--reason', 'holidays', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const freeze = JSON.parse(made.stdout) as Freeze;
    const listed = await slipway(t, ['freezes', '--project', 'shop']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${freeze.id}\\s+production\\s+.*holidays`));
    const lifted = await slipway(t, ['unfreeze', '--project', 'shop', '--env', 'production']);
    assert.equal(lifted.code, 0, lifted.stderr);
    assert.match(lifted.stdout, new RegExp(`Lifted the freeze of production .*\\(${freeze.id}\\)`));
    const none = await slipway(t, ['freezes', '--project', 'shop', '--json']);
    assert.deepEqual((JSON.parse(none.stdout) as FreezeList).freezes, []);
    const again = await slipway(t, ['unfreeze', '--project', 'shop', '--env', 'production', freeze.id]);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /FREEZE_NOT_FOUND/);
  });
});
