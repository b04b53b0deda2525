import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PipelineStage } from '../src/protocol/pipelines.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { git } from './support/git-repo.ts';
import { releaseOf, runs, waitCodes, waitForLive, waitForState } from './support/pipeline.ts';
import { ADMIN_TOKEN, edgeGet, startTestServer, type TestServer } from './support/server.ts';

/**
 * The path to production from a real `git push`: Slipway's own repository, the in-process
 * runner building in its sandbox, and slipway.yaml on main declaring dev → staging (gate) →
 * production (parallel). Checks come from CI through the API.
 */

const SLIPWAY_YAML = `build:
  command: mkdir -p dist && cp index.html dist/
  output: dist
environments:
  dev:
    follows: main
    auto: true
  staging:
    from: dev
    auto: true
    checks: [ci/test]
    mode: gate
  production:
    from: staging
    auto: true
    checks: [ci/test]
    mode: parallel
`;

for (const backend of backends) {
  describe(`a git push through dev, staging and production on ${backend.name}`, () => {
    let t: TestServer;
    let work: string;
    let base: string;
    const project = 'shop';
    const remote = () => `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/${project}.git`;

    before(async () => {
      // The push waits for its build, so its output says what the build did.
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '120';
      t = await startTestServer(backend, { runners: 1 });
      await t.client.createProject(project);
      base = await mkdtemp(join(tmpdir(), 'slipway-pipeline-push-'));
      work = join(base, 'work');
      await mkdir(work);
      await git(work, ['init', '-q', '-b', 'main']);
    });
    after(async () => {
      await t.dispose();
      await rm(base, { recursive: true, force: true });
    });

    async function pushCommit(body: string): Promise<{ sha: string; deployment: string }> {
      await writeFile(join(work, 'index.html'), body);
      await writeFile(join(work, 'slipway.yaml'), SLIPWAY_YAML);
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-q', '-m', `ship ${body}`]);
      const sha = await git(work, ['rev-parse', 'HEAD']);
      await git(work, ['push', '-q', remote(), 'main']);
      const build = await eventually('the build of the push to succeed', async () => {
        const found = (await t.client.listBuilds(project)).builds.find((b) => b.commit === sha);
        if (found?.state === 'failed') assert.fail(`the build failed: ${found.error ?? ''}`);
        return found?.state === 'succeeded' ? found : undefined;
      });
      assert.ok(build.deployment);
      return { sha, deployment: build.deployment };
    }

    const stage = async (name: string): Promise<PipelineStage> => {
      const found = (await t.client.getPipeline(project)).stages.find((s) => s.name === name);
      assert.ok(found, `the pipeline shows ${name}`);
      return found;
    };

    test('dev goes live, staging waits for ci/test, and a green check carries it through staging and production', async () => {
      const first = await pushCommit('<h1>one</h1>');
      await waitForLive(t.client, project, 'dev', first.deployment);
      const pipeline = await t.client.getPipeline(project);
      assert.deepEqual(
        pipeline.stages.map((s) => s.name),
        ['dev', 'staging', 'production'],
      );
      assert.equal(pipeline.stages[0]?.runs?.commit, first.sha);
      assert.deepEqual([pipeline.stages[1]?.policy.from, pipeline.stages[1]?.policy.mode, pipeline.stages[1]?.policy.checks], ['dev', 'gate', ['ci/test']]);
      assert.equal(pipeline.stages[1]?.policy.source, `commit ${first.sha}`);
      const waiting = pipeline.stages[1]?.waiting[0];
      assert.equal(waiting?.deployment, first.deployment);
      assert.equal(waiting?.state, 'waiting');
      assert.deepEqual(waitCodes(waiting), ['CHECKS_PENDING']);
      assert.equal(pipeline.stages[1]?.runs, null);
      assert.equal(pipeline.stages[2]?.runs, null);
      assert.deepEqual(pipeline.stages[2]?.waiting, []);

      await t.client.reportCheck(project, { commit: first.sha, name: 'ci/test', state: 'success', url: 'https://ci.example.com/1' });
      const staging = await waitForLive(t.client, project, 'staging', first.deployment);
      const production = await waitForLive(t.client, project, 'production', first.deployment);
      assert.equal(staging.trigger, 'automation');
      assert.equal(production.trigger, 'automation');
      assert.ok(staging.liveAt && production.liveAt && staging.liveAt <= production.liveAt);
      for (const name of ['dev', 'staging', 'production']) {
        const s = await stage(name);
        assert.equal(s.runs?.commit, first.sha, name);
        assert.deepEqual(s.waiting, [], name);
      }
      const page = await edgeGet(t.server.port, `production--${project}.localhost:${t.server.port}`);
      assert.equal(page.body, '<h1>one</h1>');
    });

    test('a second push: staging holds it while ci/test runs; green moves it on; a red check later rolls production back and pins it', async () => {
      const first = await runs(t.client, project, 'production');
      const second = await pushCommit('<h1>two</h1>');
      await waitForLive(t.client, project, 'dev', second.deployment);
      assert.equal((await releaseOf(t.client, project, 'staging', second.deployment))?.batchSize, 1);
      await t.client.reportCheck(project, { commit: second.sha, name: 'ci/test', state: 'pending' });
      assert.equal((await stage('staging')).waiting[0]?.deployment, second.deployment);
      await t.client.reportCheck(project, { commit: second.sha, name: 'ci/test', state: 'success' });
      await waitForLive(t.client, project, 'staging', second.deployment);
      await waitForLive(t.client, project, 'production', second.deployment);

      // A re-run of CI turns red: production (parallel) goes back to the first release and is pinned; staging (gate) keeps it.
      const url = 'https://ci.example.com/2/rerun';
      await t.client.reportCheck(project, { commit: second.sha, name: 'ci/test', state: 'failure', url });
      const rolled = await waitForState(t.client, project, 'production', second.deployment, 'rolled_back');
      assert.ok(rolled.stateReason?.includes(url), rolled.stateReason ?? '');
      const production = await stage('production');
      assert.equal(production.runs?.deployment, first);
      assert.ok(production.pin, 'production is pinned');
      assert.equal(production.runs?.commit === second.sha, false);
      assert.equal(await runs(t.client, project, 'staging'), second.deployment);
      const page = await edgeGet(t.server.port, `production--${project}.localhost:${t.server.port}`);
      assert.equal(page.body, '<h1>one</h1>');

      // The next push goes through staging; the pin holds production for a person.
      const third = await pushCommit('<h1>three</h1>');
      await t.client.reportCheck(project, { commit: third.sha, name: 'ci/test', state: 'success' });
      await waitForLive(t.client, project, 'staging', third.deployment);
      const held = await eventually('production to hold the third push behind the pin', async () => {
        const release = await releaseOf(t.client, project, 'production', third.deployment);
        return release?.state === 'waiting' ? release : undefined;
      });
      assert.deepEqual(waitCodes(held), ['ENVIRONMENT_PINNED']);
      assert.equal(held.batchSize, 2, 'it brings the rolled-back commit and its own');
    });
  });
}
