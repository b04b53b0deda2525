import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { ApiError } from '../src/protocol/client.ts';
import { backends } from './support/backends.ts';
import { createPerson, recordAuthoredChain } from './support/people.ts';
import { commit, declarePipeline, deployCommit } from './support/pipeline.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * `dryRun: true` on a promotion or a rollback: the plan a confirmation shows ("production v1 →
 * v2, clears its pin, carries 2 commits by 2 authors") and nothing written — no release, no
 * audit event, no environment created — and every refusal with the code the real call answers.
 */

async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return 'OK';
}

/** What a dry run must leave as it was: every environment, its releases and the audit log. */
async function snapshot(client: SlipwayClient, project: string): Promise<string> {
  const { environments } = await client.listEnvironments(project);
  const releases = await Promise.all(environments.map(async (e) => (await client.listReleases(project, e.name, { limit: 100 })).releases));
  const { events } = await client.listEvents({ project, limit: 200 });
  return JSON.stringify({ environments, releases, events });
}

for (const backend of backends) {
  describe(`promote and rollback dry runs (${backend.name})`, () => {
    let t: TestServer;
    const base = commit('plan-0');
    const c1 = commit('plan-1');
    const c2 = commit('plan-2');
    let d0: { id: string };
    let d2: { id: string };

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await declarePipeline(t.client, 'shop', { staging: { auto: false }, production: { from: 'staging', auto: false } });
      await recordAuthoredChain(t, 'shop', [
        { sha: base, email: 'grace@example.com', name: 'Grace' },
        { sha: c1, email: 'ana@example.com', name: 'Ana' },
        { sha: c2, email: 'bo@example.com', name: 'Bo' },
      ]);
      d0 = await deployCommit(t.client, 'shop', base);
      d2 = await deployCommit(t.client, 'shop', c2);
      await t.client.promote('shop', 'staging', { deployment: d0.id });
      await t.client.promote('shop', 'production', { deployment: d0.id });
      await t.client.promote('shop', 'staging', { deployment: d2.id });
    });
    after(async () => {
      await t?.dispose();
    });

    it('plans a promotion — from, to, the batch and its authors — and changes nothing', async () => {
      const before = await snapshot(t.client, 'shop');
      const plan = await t.client.planPromote('shop', 'production', { deployment: d2.id, reason: 'ship it' });
      assert.equal(plan.dryRun, true);
      assert.deepEqual(plan.from, { release: 1, deployment: d0.id });
      assert.equal(plan.release.number, 2);
      assert.equal(plan.release.deployment, d2.id);
      assert.equal(plan.release.state, 'live');
      assert.equal(plan.createsEnvironment, false);
      assert.equal(plan.clearsPin, null);
      assert.equal(plan.release.batchSize, 2);
      assert.deepEqual(plan.release.batch?.commits.map((c) => c.sha), [c2, c1]);
      assert.deepEqual([...plan.authors].sort(), ['Ana', 'Bo']);
      assert.equal(await snapshot(t.client, 'shop'), before, 'a dry run writes nothing');
      // A plan is an answer, not something made: 200, where the real call answers 201.
      const res = await fetch(`${t.server.url}/api/v1/projects/shop/environments/production/promote`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ deployment: d2.id, dryRun: true }),
      });
      assert.equal(res.status, 200, await res.text());
      assert.equal(await snapshot(t.client, 'shop'), before, 'nor does that one');
    });

    it('says it clears a pin after a rollback, and a rollback plan says it pins; neither writes', async () => {
      await t.client.promote('shop', 'production', { deployment: d2.id });
      const before = await snapshot(t.client, 'shop');
      const back = await t.client.planRollback('shop', 'production', {});
      assert.equal(back.pins, true);
      assert.deepEqual(back.from, { release: 2, deployment: d2.id });
      assert.equal(back.release.deployment, d0.id);
      assert.equal(back.release.kind, 'rollback');
      assert.equal(await snapshot(t.client, 'shop'), before);

      await t.client.rollback('shop', 'production', { reason: 'errors' });
      const pinned = await snapshot(t.client, 'shop');
      const forward = await t.client.planPromote('shop', 'production', { deployment: d2.id });
      assert.equal(forward.clearsPin?.by, 'admin');
      assert.equal(forward.clearsPin?.reason, 'errors');
      assert.equal(await snapshot(t.client, 'shop'), pinned);
    });

    it('plans a promotion into an environment that does not exist yet without creating it', async () => {
      const plan = await t.client.planPromote('shop', 'qa', { deployment: d2.id });
      assert.equal(plan.createsEnvironment, true);
      assert.deepEqual(plan.from, { release: 0, deployment: null });
      assert.equal(plan.release.number, 1);
      assert.equal(await codeOf(() => t.client.getEnvironment('shop', 'qa')), 'ENVIRONMENT_NOT_FOUND');
    });

    it('shows the gates that would hold it: approvals from two people', async () => {
      await t.client.setPolicy('shop', 'production', { approvals: { count: 2 } });
      const before = await snapshot(t.client, 'shop');
      const plan = await t.client.planPromote('shop', 'production', { deployment: d0.id });
      assert.equal(plan.release.state, 'waiting');
      assert.equal(plan.clearsPin?.by, 'admin', 'it unpins once it goes live');
      assert.ok(plan.release.gates?.outcome === 'wait' && plan.release.gates.reasons.some((r) => r.code === 'APPROVALS_PENDING'));
      assert.equal(await snapshot(t.client, 'shop'), before);
      await t.client.setPolicy('shop', 'production', { approvals: null });
    });

    it('refuses bad input with the same code as the real call, and changes nothing', async () => {
      const viewer = (await createPerson(t, 'vic', 'viewer')).client;
      await t.client.lock('shop', 'staging', { reason: 'hold' });
      // Never live in staging: production (from: staging) refuses it.
      const stray = await deployCommit(t.client, 'shop', commit('plan-x'));
      const before = await snapshot(t.client, 'shop');
      const cases: [string, (dryRun: boolean) => Promise<unknown>][] = [
        ['unknown deployment', (dryRun) => t.client.promote('shop', 'production', { deployment: 'dpl_nope', dryRun })],
        ['no deployment', (dryRun) => t.client.promote('shop', 'production', { dryRun })],
        ['bad environment name', (dryRun) => t.client.promote('shop', '../etc', { deployment: d2.id, dryRun })],
        ['unknown project', (dryRun) => t.client.promote('nope', 'production', { deployment: d2.id, dryRun })],
        ['stale expectRelease', (dryRun) => t.client.promote('shop', 'production', { deployment: d2.id, expectRelease: 1, dryRun })],
        ['locked', (dryRun) => t.client.promote('shop', 'staging', { deployment: d0.id, dryRun })],
        ['force without a reason', (dryRun) => t.client.promote('shop', 'staging', { deployment: d0.id, force: true, dryRun })],
        ['a viewer', (dryRun) => viewer.promote('shop', 'production', { deployment: d2.id, dryRun })],
        ['lineage', (dryRun) => t.client.promote('shop', 'production', { deployment: stray.id, dryRun })],
        ['rollback of a new environment', (dryRun) => t.client.rollback('shop', 'qa', { dryRun })],
        ['rollback to an unknown release', (dryRun) => t.client.rollback('shop', 'production', { to: 'v99', dryRun })],
        ['rollback of a locked one', (dryRun) => t.client.rollback('shop', 'staging', { dryRun })],
        ['rollback by a viewer', (dryRun) => viewer.rollback('shop', 'production', { dryRun })],
      ];
      for (const [label, call] of cases) {
        const planned = await codeOf(() => call(true));
        const real = await codeOf(() => call(false));
        assert.notEqual(real, 'OK', `${label}: the real call is refused`);
        assert.equal(planned, real, label);
      }
      assert.equal(await snapshot(t.client, 'shop'), before, 'refusals wrote nothing');
      assert.equal(await codeOf(() => t.client.promote('shop', 'production', { deployment: d2.id, dryRun: 'yes' as unknown as boolean })), 'INVALID_REQUEST');
    });
  });
}
