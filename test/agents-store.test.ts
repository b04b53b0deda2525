import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/store/open-store.ts';
import { newEnvironmentRow, newReleaseRow, type AgentAssignment, type AgentRow, type RolloutRow, type Store } from '../src/store/store.ts';
import { backends, TEST_SECRET_KEY } from './support/backends.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:01:00.000Z';

function agentRow(id: string, fields: Partial<AgentRow> = {}): AgentRow {
  return {
    id,
    projectId: 'prj-1',
    environmentId: 'env-1',
    name: `host-${id}`,
    address: '127.0.0.1',
    port: 8080,
    version: '0.1.0',
    tokenId: `tok-${id}`,
    state: 'idle',
    currentReleaseId: null,
    currentDeploymentId: null,
    prepared: [],
    healthy: false,
    pid: null,
    error: null,
    rotation: 'out',
    drainingSince: null,
    rev: 1,
    run: null,
    prepare: null,
    releasePhase: null,
    lastSeenAt: NOW,
    lostAt: null,
    enrolledAt: NOW,
    retiredAt: null,
    ...fields,
  };
}

for (const backend of backends) {
  describe(`agents store on ${backend.name}`, () => {
    let store: Store;
    let db: { url: string; dispose(): Promise<void> };
    before(async () => {
      db = await backend.create();
      store = await openStore(db.url, { secretKey: TEST_SECRET_KEY });
      await store.insertProject({ id: 'prj-1', name: 'shop', createdAt: NOW, createdBy: 'test', repoUrl: null, webhookSecret: null });
      await store.ensureEnvironment(newEnvironmentRow({ id: 'env-1', projectId: 'prj-1', name: 'production', createdAt: NOW }));
      await store.insertDeployment({ id: 'dpl-a', projectId: 'prj-1', manifestDigest: 'm', fileCount: 1, totalBytes: 1, meta: {}, createdAt: NOW, createdBy: 'test' });
      for (const id of ['a1', 'a2', 'a3']) {
        await store.insertToken({ id: `tok-${id}`, name: `agent ${id}`, role: 'agent', hash: `hash-${id}`, createdAt: NOW, createdBy: 'test', lastUsedAt: null, revokedAt: null, userId: null, projectId: 'prj-1', expiresAt: null, agentId: id });
      }
    });
    after(async () => {
      await store.close();
      await db.dispose();
    });

    test('an agent token keeps the agent it speaks for', async () => {
      const token = await store.findTokenByHash('hash-a1');
      assert.equal(token?.role, 'agent');
      assert.equal(token?.agentId, 'a1');
    });

    test('an enrollment is used once, and never after it expired', async () => {
      await store.insertEnrollment({ id: 'enr-1', projectId: 'prj-1', environmentId: 'env-1', tokenHash: 'e1', createdBy: 'test', createdAt: NOW, expiresAt: LATER, usedAt: null, agentId: null });
      await store.insertAgent(agentRow('a1'));
      const uses = await Promise.all([store.useEnrollment('enr-1', 'a1', NOW), store.useEnrollment('enr-1', 'a1', NOW)]);
      assert.deepEqual(uses.sort(), [false, true]);
      assert.equal((await store.findEnrollmentByHash('e1'))?.usedAt, NOW);
      await store.insertEnrollment({ id: 'enr-2', projectId: 'prj-1', environmentId: 'env-1', tokenHash: 'e2', createdBy: 'test', createdAt: NOW, expiresAt: LATER, usedAt: null, agentId: null });
      assert.equal(await store.useEnrollment('enr-2', 'a1', LATER), false, 'expired at LATER');
    });

    test('an assignment bumps rev, keeps what it leaves out, and is heard of after the commit only', async () => {
      let heard = 0;
      const stop = store.onAgentsChanged(() => heard++);
      try {
        const rev = await store.setAgentAssignment('a1', { run: { releaseId: 'rel-1', releaseNumber: 1, deploymentId: 'dpl-a' } });
        assert.equal(rev, 2);
        assert.equal(heard, 1);
        await store.transaction(async (tx) => {
          assert.equal(await tx.setAgentAssignment('a1', { prepare: { deploymentId: 'dpl-b' } }), 3);
          assert.equal(heard, 1, 'not before the commit');
        });
        assert.equal(heard, 2);
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.setAgentAssignment('a1', { prepare: null });
            throw new Error('rolled back');
          }),
        );
        assert.equal(heard, 2, 'never for a rollback');
        const agent = await store.findAgent('a1');
        assert.equal(agent?.rev, 3);
        assert.deepEqual(agent?.run, { releaseId: 'rel-1', releaseNumber: 1, deploymentId: 'dpl-a' });
        assert.deepEqual(agent?.prepare, { deploymentId: 'dpl-b' });
        assert.equal(agent?.releasePhase, null);
      } finally {
        stop();
      }
    });

    test('reports, lost agents, the routable list and retiring', async () => {
      await store.insertAgent(agentRow('a2', { enrolledAt: LATER }));
      await store.insertAgent(agentRow('a3', { enrolledAt: LATER }));
      const reported = await store.recordAgentReport(
        'a1',
        { state: 'idle', currentReleaseId: 'rel-1', currentDeploymentId: 'dpl-a', prepared: ['dpl-a'], healthy: true, pid: 42, error: null, version: '0.1.1', port: 9090 },
        LATER,
      );
      assert.equal(reported?.port, 9090);
      assert.equal(reported?.address, '127.0.0.1');
      assert.deepEqual(reported?.prepared, ['dpl-a']);
      await store.setAgentRotation('a1', 'in', null);
      await store.recordAgentReport('a2', { state: 'idle', currentReleaseId: null, currentDeploymentId: null, prepared: [], healthy: true, pid: null, error: null, version: '0.1.0' }, LATER);
      assert.deepEqual((await store.listRoutableAgents('env-1')).map((a) => a.id), ['a1'], 'a2 is out of rotation');

      const lost = await store.markLostAgents('2026-01-01T00:00:30.000Z', LATER);
      assert.deepEqual(lost.map((a) => a.id), ['a3']);
      assert.equal((await store.findAgent('a3'))?.lostAt, LATER);
      assert.deepEqual(await store.markLostAgents('2026-01-01T00:00:30.000Z', LATER), [], 'once');
      await store.touchAgent('a3', LATER);
      assert.equal((await store.findAgent('a3'))?.lostAt, null, 'found again');

      assert.equal(await store.retireAgent('a1', LATER), true);
      assert.equal(await store.retireAgent('a1', LATER), false);
      assert.equal(await store.setAgentAssignment('a1', { run: null }), undefined, 'a retired agent gets nothing');
      assert.deepEqual((await store.listAgents('env-1')).map((a) => a.id), ['a2', 'a3']);
      assert.deepEqual((await store.listProjectAgents('prj-1', { retired: true })).map((a) => a.id), ['a1', 'a2', 'a3']);
      assert.deepEqual(await store.listRoutableAgents('env-1'), []);
    });

    test("a rollout's writes to many agents at once, and many polls seen at once", async () => {
      await store.ensureEnvironment(newEnvironmentRow({ id: 'env-2', projectId: 'prj-1', name: 'staging', createdAt: NOW }));
      const ids = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      for (const id of ids) {
        await store.insertToken({ id: `tok-${id}`, name: `agent ${id}`, role: 'agent', hash: `hash-${id}`, createdAt: NOW, createdBy: 'test', lastUsedAt: null, revokedAt: null, userId: null, projectId: 'prj-1', expiresAt: null, agentId: id });
        await store.insertAgent(agentRow(id, { environmentId: 'env-2' }));
      }
      await store.retireAgent('m11', NOW);
      const heard: string[][] = [];
      const stop = store.onAgentsChanged((agentIds) => heard.push([...agentIds]));
      try {
        const prepare = { deploymentId: 'dpl-a' };
        const run = { releaseId: 'rel-1', releaseNumber: 1, deploymentId: 'dpl-a' };
        const revs = await store.transaction(async (tx) => {
          const out = await tx.setAgentChanges({
            rotations: new Map([
              ['m00', { rotation: 'draining', since: LATER }],
              ['m01', { rotation: 'in', since: null }],
            ]),
            assignments: new Map<string, AgentAssignment>([
              ...ids.slice(2).map((id): [string, AgentAssignment] => [id, { prepare }]),
              ['m00', { run, prepare: null }],
              ['m01', { releasePhase: { releaseId: 'rel-1', deploymentId: 'dpl-a', command: 'migrate' } }],
            ]),
          });
          assert.deepEqual(heard, [], 'not before the commit');
          return out;
        });
        assert.deepEqual([...revs.keys()].sort(), ids.slice(0, 11), 'the retired agent gets nothing');
        assert.ok([...revs.values()].every((rev) => rev === 2));
        assert.equal(heard.length, 1, 'one call for all');
        assert.deepEqual([...(heard[0] ?? [])].sort(), ids.slice(0, 11));
        const [m00, m01, m05, m11] = await Promise.all(['m00', 'm01', 'm05', 'm11'].map((id) => store.findAgent(id)));
        assert.deepEqual([m00?.rotation, m00?.drainingSince, m00?.run, m00?.prepare], ['draining', LATER, run, null]);
        assert.deepEqual([m01?.rotation, m01?.releasePhase?.command, m01?.prepare], ['in', 'migrate', null]);
        assert.deepEqual([m05?.prepare, m05?.run, m05?.rev], [prepare, null, 2]);
        assert.equal(m11?.rev, 2, 'retired (rev bumped once, by retiring)');
        assert.equal(m11?.prepare, null);
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.setAgentChanges({ assignments: new Map([['m02', { prepare: null }]]) });
            throw new Error('rolled back');
          }),
        );
        assert.equal(heard.length, 1, 'never for a rollback');
        assert.deepEqual(await store.setAgentChanges({}), new Map());
      } finally {
        stop();
      }

      await store.markLostAgents(LATER, LATER);
      assert.ok((await store.findAgent('m03'))?.lostAt !== null);
      // Unknown ids and duplicates are left out; more than one statement's worth of ids.
      const asked = [...ids, 'm03', ...Array.from({ length: 600 }, (_, i) => `nobody-${i}`)];
      const seen = await store.touchAgents(asked, '2026-01-01T00:02:00.000Z');
      assert.deepEqual(seen.map((a) => a.id).sort(), ids.slice(0, 11));
      assert.ok(seen.every((a) => a.lastSeenAt === '2026-01-01T00:02:00.000Z' && a.lostAt === null && a.rev === 2));
      assert.equal((await store.findAgent('m03'))?.lostAt, null, 'found again');
      assert.deepEqual(await store.touchAgents([], LATER), []);

      // Batched heartbeats and a rollout's batched writes, at once and in opposite orders: neither waits forever for the other.
      const reversed = [...ids].reverse();
      await Promise.all([
        ...Array.from({ length: 4 }, (_, i) => store.touchAgents(i % 2 ? ids : reversed, LATER)),
        ...Array.from({ length: 4 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.setAgentChanges({ assignments: new Map((i % 2 ? reversed : ids).map((id): [string, AgentAssignment] => [id, { prepare: { deploymentId: `dpl-${i}` } }])) });
            await tx.setAgentChanges({ rotations: new Map(ids.map((id) => [id, { rotation: 'out' as const, since: null }])) });
          }),
        ),
      ]);
      assert.equal((await store.findAgent('m04'))?.rev, 6);
    });

    test('rollouts: one row per release, moved by compare-and-set', async () => {
      const releaseId = 'rel-9';
      await store.insertRelease(
        newReleaseRow({ id: releaseId, projectId: 'prj-1', environmentId: 'env-1', number: 9, kind: 'promote', state: 'rolling_out', deploymentId: 'dpl-a', createdAt: NOW, createdBy: 'test' }),
      );
      const rollout: RolloutRow = {
        id: 'rol-1',
        releaseId,
        projectId: 'prj-1',
        environmentId: 'env-1',
        deploymentId: 'dpl-a',
        previousDeploymentId: null,
        previousReleaseId: null,
        state: 'preparing',
        maxUnavailable: '25%',
        drainMs: 10_000,
        healthTimeoutMs: 60_000,
        releasePhaseAgentId: null,
        releasePhaseState: null,
        releasePhaseExitCode: null,
        releasePhaseLog: null,
        reason: null,
        startedAt: NOW,
        updatedAt: NOW,
        endedAt: null,
        steps: [],
      };
      await store.insertRollout(rollout);
      await assert.rejects(store.insertRollout({ ...rollout, id: 'rol-2' }), 'one rollout per release');
      assert.equal((await store.findRolloutByRelease(releaseId))?.maxUnavailable, '25%');
      assert.equal((await store.findOpenRollout('env-1'))?.id, 'rol-1');
      const moves = await Promise.all([
        store.updateRollout('rol-1', 'preparing', { state: 'switching', updatedAt: LATER, steps: [{ agent: 'a2', name: 'web-2', step: 'draining', from: null, since: LATER }] }),
        store.updateRollout('rol-1', 'preparing', { state: 'failed', updatedAt: LATER }),
      ]);
      assert.equal(moves.filter(Boolean).length, 1);
      assert.equal(await store.updateRollout('rol-1', 'preparing', { reason: 'stale' }), false);
      const moved = await store.findRollout('rol-1');
      assert.ok(moved?.state === 'switching' || moved?.state === 'failed');
      await store.updateRollout('rol-1', moved.state, { state: 'done', endedAt: LATER, maxUnavailable: 2 });
      assert.deepEqual(await store.listOpenRollouts(), []);
      assert.equal((await store.findRollout('rol-1'))?.maxUnavailable, 2);
    });
  });
}
