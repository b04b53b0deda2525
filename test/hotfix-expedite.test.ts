import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { recordPush } from '../src/server/services/pushes.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { buildCommit, commit, declarePipeline, projectIdOf, releaseOf, runnerClient, waitCodes, waitForLive } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** A deploy window that is closed now and for days: one minute, three days from today (UTC). */
function closedWindow(): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(new Date().getUTCDay() + 3) % 7];
  return `${day} 00:00-00:01 UTC`;
}

const PAT = { name: 'pat', role: 'deployer' as const, trigger: 'user' as const };

for (const backend of backends) {
  describe(`hotfixes: expedited through the pipeline on ${backend.name}`, () => {
    let t: TestServer;
    let runner: SlipwayClient;
    before(async () => {
      t = await startTestServer(backend);
      runner = await runnerClient(t);
    });
    after(() => t.dispose());

    test('a hotfix skips the queue and windows that allow it, supersedes what it overtook, and is warned about until main has it', async () => {
      await t.client.createProject('rush');
      await declarePipeline(t.client, 'rush', {
        dev: { follows: 'main', auto: true },
        staging: { from: 'dev', auto: true },
        production: { from: 'staging', auto: true },
      });
      const c1 = commit('rush c1');
      const first = await buildCommit(t, 'rush', runner, { sha: c1, branch: 'main' });
      assert.equal((await t.client.getEnvironment('rush', 'production')).deployment, first.deployment);
      await t.client.setPolicy('rush', 'production', { windows: [closedWindow()], expedite: 'allow' });

      // A feature reaches staging and waits for production, outside the window.
      const c2 = commit('rush c2');
      const feature = await buildCommit(t, 'rush', runner, { sha: c2, branch: 'main', before: c1 });
      assert.equal((await t.client.getEnvironment('rush', 'staging')).deployment, feature.deployment);
      const queued = await releaseOf(t.client, 'rush', 'production', feature.deployment);
      assert.equal(queued?.state, 'waiting');
      assert.deepEqual(waitCodes(queued), ['OUTSIDE_WINDOW']);
      assert.equal(queued?.expedited, false);

      // hotfix/login at production's commit: nothing proposed anywhere but its preview.
      await recordPush(t.server.deps, PAT, 'rush', { updates: [{ ref: 'refs/heads/hotfix/login', before: '0'.repeat(40), after: c1 }], trigger: 'git-push', sourceUrl: null });
      assert.equal((await t.client.getEnvironment('rush', 'dev')).deployment, feature.deployment, 'a hotfix at what dev contains does not move dev back');

      const h1 = commit('rush h1');
      const fix = await buildCommit(t, 'rush', runner, { sha: h1, branch: 'hotfix/login', before: c1 });
      for (const env of ['dev', 'staging', 'production']) {
        const release = await releaseOf(t.client, 'rush', env, fix.deployment);
        assert.equal(release?.state, 'live', `${env}: ${JSON.stringify(release?.gates)}`);
        assert.equal(release?.expedited, true);
        assert.equal(release?.branch, 'hotfix/login');
      }
      const overtaken = await releaseOf(t.client, 'rush', 'production', feature.deployment);
      assert.equal(overtaken?.state, 'superseded');
      assert.match(overtaken?.stateReason ?? '', /hotfix v\d+ \(hotfix\/login\) went live after it was queued/);

      const status = await t.client.getProjectStatus('rush');
      const warning = status.warnings.find((w) => w.environment === 'production');
      assert.equal(warning?.branch, 'hotfix/login');
      assert.match(warning?.message ?? '', /production runs hotfix\/login @[0-9a-f]{7}, not in main/);

      // main merges the hotfix: the warning ends, though production still runs the hotfix (the window holds the merge).
      const m3 = commit('rush m3');
      const projectId = await projectIdOf(t, 'rush');
      const at = new Date().toISOString();
      await t.server.deps.store.insertCommits(projectId, [{ sha: m3, parents: [c2, h1], authorName: 'Pat', authorEmail: 'pat@example.com', message: 'Merge hotfix/login', committedAt: at }], at);
      const merged = await buildCommit(t, 'rush', runner, { sha: m3, branch: 'main', before: c2 });
      assert.equal((await t.client.getEnvironment('rush', 'staging')).deployment, merged.deployment);
      const after = await t.client.getProjectStatus('rush');
      assert.deepEqual(after.warnings.filter((w) => w.environment === 'production'), []);
    });

    test('a hotfix that does not contain what production runs enters nowhere: going live it would undo that', async () => {
      await t.client.createProject('twofix');
      await declarePipeline(t.client, 'twofix', { dev: { follows: 'main', auto: true }, production: { from: 'dev', auto: true } });
      const c1 = commit('twofix c1');
      await buildCommit(t, 'twofix', runner, { sha: c1, branch: 'main' });
      const start = (branch: string) =>
        recordPush(t.server.deps, PAT, 'twofix', { updates: [{ ref: `refs/heads/${branch}`, before: '0'.repeat(40), after: c1 }], trigger: 'git-push', sourceUrl: null });
      await start('hotfix/a');
      await start('hotfix/b');
      const a = await buildCommit(t, 'twofix', runner, { sha: commit('twofix a'), branch: 'hotfix/a', before: c1 });
      assert.equal((await t.client.getEnvironment('twofix', 'production')).deployment, a.deployment);

      // hotfix/b started at c1 too: it lacks hotfix/a, which production runs now.
      const hb = commit('twofix b');
      const b = await buildCommit(t, 'twofix', runner, { sha: hb, branch: 'hotfix/b', before: c1 });
      assert.equal(await releaseOf(t.client, 'twofix', 'dev', b.deployment), undefined, 'not proposed where main enters');
      assert.equal((await t.client.getEnvironment('twofix', 'production')).deployment, a.deployment);

      // Merged with what production runs, it goes.
      const hb2 = commit('twofix b2');
      const at = new Date().toISOString();
      await t.server.deps.store.insertCommits(await projectIdOf(t, 'twofix'), [{ sha: hb2, parents: [hb, commit('twofix a')], authorName: 'Pat', authorEmail: 'pat@example.com', message: 'Merge hotfix/a', committedAt: at }], at);
      const b2 = await buildCommit(t, 'twofix', runner, { sha: hb2, branch: 'hotfix/b', before: hb });
      assert.equal((await t.client.getEnvironment('twofix', 'production')).deployment, b2.deployment);
    });

    test('windows hold a hotfix unless the policy says expedite: allow; freezes hold it either way', async () => {
      await t.client.createProject('held');
      await declarePipeline(t.client, 'held', { dev: { follows: 'main', auto: true }, production: { from: 'dev', auto: true } });
      const c1 = commit('held c1');
      await buildCommit(t, 'held', runner, { sha: c1, branch: 'main' });
      await t.client.setPolicy('held', 'production', { soak: '1h', windows: [closedWindow()] });
      const h1 = commit('held h1');
      const fix = await buildCommit(t, 'held', runner, { sha: h1, branch: 'hotfix/a', before: c1 });
      const held = await releaseOf(t.client, 'held', 'production', fix.deployment);
      assert.equal(held?.expedited, true);
      assert.deepEqual(waitCodes(held), ['OUTSIDE_WINDOW'], 'no soak for a hotfix (1h here); the window holds it');

      await t.client.freeze('held', 'production', { until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'audit' });
      await t.client.setPolicy('held', 'production', { expedite: 'allow' });
      // The policy change wakes the pipeline: the window lets the hotfix by now, the freeze does not.
      await eventually('the hotfix to wait for the freeze alone', async () => {
        const frozen = await releaseOf(t.client, 'held', 'production', fix.deployment);
        return waitCodes(frozen).join() === 'FROZEN' ? true : undefined;
      });
      await t.client.unfreeze('held', 'production');
      await waitForLive(t.client, 'held', 'production', fix.deployment);
    });
  });
}
