import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrationsRun, waitForFleet } from './support/agent-fleet.ts';
import { disposeStand, edgeAnswers, instanceSays, mark, promote, startStand, waitForRelease, type Stand } from './support/agents-e2e.ts';
import { backends } from './support/backends.ts';

/**
 * The first promotion of agents-e2e.test.ts on PostgreSQL: three real agents enrolled into
 * production, a service deployed with `slipway deploy` and promoted; the rollout (a job, its
 * state in the rollouts row) runs it onto every instance, the release phase once, and the edge
 * answers from all three.
 */

const postgres = backends.find((b) => b.name === 'postgres');
assert.ok(postgres);

describe('agents end to end on postgres: a service promoted onto 3 real agents', () => {
  let stand: Stand | undefined;
  let failed = false;
  let first = '';

  before(async () => {
    const t0 = performance.now();
    const up = await startStand(postgres, { push: false });
    stand = up;
    first = up.first;
    mark('stand up (server, 3 agents enrolled)', t0);
  });

  after(() => disposeStand(stand, failed));

  test('promoted to production: 3 instances healthy on it, the release phase ran once, the edge answers from each', async () => {
    assert.ok(stand);
    const s = stand;
    try {
      const t0 = performance.now();
      const release = await promote(s, first);
      assert.equal(release.state, 'rolling_out');
      await waitForRelease(s, release.id, ['live']);
      const view = await waitForFleet(s.t, s.fleet, first);
      mark('promote → 3 instances healthy', t0);
      for (const a of view.values()) assert.equal(a.current?.releaseId, release.id);
      for (const agent of s.fleet.agents) {
        assert.equal((await instanceSays(agent.port)).release, release.id);
        assert.equal(await readlink(join(agent.dir, 'current')), `releases/${first}`);
      }
      assert.deepEqual((await migrationsRun(s.migrations)).map((l) => l.split(' ')[0]), [release.id]);
      assert.deepEqual(new Set(await edgeAnswers(s, 9)), new Set(s.fleet.agents.map((a) => `1@${a.port}`)));
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
