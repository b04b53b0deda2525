import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** `slipway env set --max-unavailable/--drain/--health-timeout/--prepare-timeout/--release-timeout`: a service's rollout settings without slipway.yaml. */

const sqlite = backends.find((b) => b.name === 'sqlite');
assert.ok(sqlite, 'the sqlite test backend exists');

describe('env set: rollout settings', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(sqlite);
    await t.client.createProject('shop');
  });
  after(async () => {
    await t?.dispose();
  });

  it('sets a count or a percentage, a drain and a health deadline; fields not given keep their value', async () => {
    const set = await slipway(t, ['env', 'set', 'production', '-p', 'shop', '--max-unavailable', '25%', '--drain', '5s', '--health-timeout', '2m']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /rollout 25% at a time, drain 5s, health 2m/);
    assert.deepEqual((await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy.rollout, {
      maxUnavailable: '25%',
      drainMs: 5_000,
      healthTimeoutMs: 120_000,
      prepareTimeoutMs: 600_000,
      releaseTimeoutMs: 1_800_000,
    });
    const again = await slipway(t, ['env', 'set', 'production', '-p', 'shop', '--max-unavailable', '2', '--prepare-timeout', '20m', '--release-timeout', '1h', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as { rollout: unknown }).rollout, {
      maxUnavailable: 2,
      drainMs: 5_000,
      healthTimeoutMs: 120_000,
      prepareTimeoutMs: 1_200_000,
      releaseTimeoutMs: 3_600_000,
    });
    const shown = await slipway(t, ['env', 'set', 'production', '-p', 'shop', '--drain', '5s']);
    assert.match(shown.stdout, /rollout 2 at a time, drain 5s, health 2m, prepare 20m, release phase 1h/);
  });

  it('refuses a count that is not one, a percentage out of range and a duration that does not parse, changing nothing', async () => {
    const before = (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy.rollout;
    for (const [flag, value, code] of [
      ['--max-unavailable', 'half', 2],
      ['--max-unavailable', '0', 2],
      ['--max-unavailable', '150%', 2],
      ['--drain', 'soon', 2],
      ['--release-timeout', '8d', 2],
      ['--prepare-timeout', '99999999999999d', 2],
      ['--prepare-timeout', '0s', 2],
    ] as const) {
      const run = await slipway(t, ['env', 'set', 'production', '-p', 'shop', flag, value]);
      assert.equal(run.code, code, `${flag} ${value}: ${run.stderr}`);
    }
    assert.deepEqual((await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production')?.policy.rollout, before);
  });
});
