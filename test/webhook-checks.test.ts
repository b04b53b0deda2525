import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signHex } from '../src/server/webhooks/signatures.ts';
import { backends } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { githubCheckRun, githubStatus, gitlabPipeline, postHook, type Repo } from './support/webhook-payloads.ts';

/**
 * GitHub `status` and `check_run` events and GitLab pipeline events on the existing hooks
 * become checks of their commit, for every project of the repository, with signed bodies over
 * real HTTP.
 */

const sha = () => randomBytes(20).toString('hex');

for (const backend of backends) {
  describe(`CI results by webhook on ${backend.name}`, () => {
    let t: TestServer;
    let counter = 0;

    before(async () => {
      t = await startTestServer(backend, { runners: 0 });
    });
    after(() => t.dispose());

    async function project(host: 'github' | 'gitlab', options: { repo?: Repo; secret?: string } = {}) {
      const name = `shop-${++counter}`;
      const repo = options.repo ?? { owner: 'acme', name };
      const secret = options.secret ?? `whsec-${randomBytes(12).toString('hex')}`;
      const url = host === 'github' ? `https://github.com/${repo.owner}/${repo.name}.git` : `https://gitlab.example.com/${repo.owner}/${repo.name}`;
      await t.client.createProject(name, { repo: url, webhookSecret: secret });
      return { name, repo, secret };
    }

    function sendGithub(event: string, payload: unknown, secret: string, delivery: string = randomUUID()) {
      const body = JSON.stringify(payload);
      return postHook(t.server.port, '/hooks/github', body, {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/f1aeb32',
        'x-github-event': event,
        'x-github-delivery': delivery,
        'x-github-hook-id': '512345678',
        'x-github-hook-installation-target-type': 'repository',
        'x-hub-signature-256': signHex(secret, body),
      });
    }

    const current = async (projectName: string, commit: string) =>
      Object.fromEntries((await t.client.listChecks(projectName, commit)).checks.map((c) => [c.name, { state: c.state, url: c.url, description: c.description, by: c.reportedBy, source: c.source }]));

    test('commit statuses become checks: context is the name, error is a failure, target_url the link', async () => {
      const p = await project('github');
      const commit = sha();
      const pending = await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'pending', context: 'ci/circleci: test', target_url: 'https://circleci.com/gh/acme/x/1', description: 'Your tests are queued behind your running builds' }), p.secret);
      assert.equal(pending.status, 200, JSON.stringify(pending.body));
      assert.deepEqual(pending.body.projects, [p.name]);
      assert.deepEqual(await current(p.name, commit), {
        'ci/circleci: test': { state: 'pending', url: 'https://circleci.com/gh/acme/x/1', description: 'Your tests are queued behind your running builds', by: 'github', source: 'github' },
      });
      await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'error', context: 'ci/circleci: test', description: 'Could not start' }), p.secret);
      assert.equal((await current(p.name, commit))['ci/circleci: test']?.state, 'failure');
      await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'success', context: 'ci/circleci: test', target_url: 'javascript:alert(1)' }), p.secret);
      // A link that is not http(s) is dropped; the state is kept.
      assert.deepEqual((await current(p.name, commit))['ci/circleci: test'], { state: 'success', url: null, description: null, by: 'github', source: 'github' });
      assert.deepEqual(
        (await t.client.checkHistory(p.name, commit)).reports.map((r) => r.state),
        ['success', 'failure', 'pending'],
      );
    });

    test('check runs: queued and in progress are pending; conclusions map to success or failure; re-requests record nothing', async () => {
      const p = await project('github');
      const commit = sha();
      const run = (fields: { action: string; status: string; conclusion?: string | null; title?: string | null; details_url?: string | null; name?: string }) =>
        sendGithub('check_run', githubCheckRun(p.repo, { sha: commit, name: 'test (ubuntu-latest)', ...fields }), p.secret);

      assert.equal((await run({ action: 'created', status: 'queued' })).status, 200);
      assert.equal((await current(p.name, commit))['test (ubuntu-latest)']?.state, 'pending');
      await run({ action: 'completed', status: 'completed', conclusion: 'failure', title: '3 tests failed\u001b[0m' });
      assert.deepEqual((await current(p.name, commit))['test (ubuntu-latest)'], {
        state: 'failure',
        url: `https://github.com/acme/${p.repo.name}/actions/runs/1/job/128620228`,
        description: '3 tests failed[0m',
        by: 'github',
        source: 'github',
      });
      const expected: [string, string][] = [
        ['success', 'success'],
        ['neutral', 'success'],
        ['skipped', 'success'],
        ['cancelled', 'failure'],
        ['timed_out', 'failure'],
        ['action_required', 'failure'],
        ['stale', 'failure'],
      ];
      for (const [conclusion, state] of expected) {
        await run({ action: 'completed', status: 'completed', conclusion, name: `c/${conclusion}` });
        assert.equal((await current(p.name, commit))[`c/${conclusion}`]?.state, state, conclusion);
      }
      const before = (await t.client.checkHistory(p.name, commit)).reports.length;
      const rerequested = await run({ action: 'rerequested', status: 'completed', conclusion: 'success' });
      assert.equal(rerequested.status, 202);
      assert.equal(rerequested.body.ignored, true);
      const weird = await run({ action: 'completed', status: 'completed', conclusion: 'exploded' });
      assert.equal(weird.status, 202);
      assert.equal((await t.client.checkHistory(p.name, commit)).reports.length, before);
    });

    test('a bad signature records nothing; a redelivery records once; every project of the repository gets the check', async () => {
      const repo: Repo = { owner: 'acme', name: `shared-${randomBytes(3).toString('hex')}` };
      const secret = `whsec-${randomBytes(12).toString('hex')}`;
      const a = await project('github', { repo, secret });
      const b = await project('github', { repo, secret });
      const stranger = await project('github', { repo, secret: `whsec-${randomBytes(12).toString('hex')}` });
      const commit = sha();
      const payload = githubStatus(repo, { sha: commit, state: 'success', context: 'ci/test' });

      const forged = await sendGithub('status', payload, 'not-the-secret');
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error?.code, 'WEBHOOK_SIGNATURE_INVALID');
      const tampered = JSON.stringify({ ...payload, state: 'failure' });
      const swapped = await postHook(t.server.port, '/hooks/github', tampered, {
        'content-type': 'application/json',
        'x-github-event': 'status',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signHex(secret, JSON.stringify(payload)),
      });
      assert.equal(swapped.status, 401);
      for (const p of [a, b, stranger]) assert.deepEqual((await t.client.checkHistory(p.name, commit)).reports, []);

      const delivery = randomUUID();
      const first = await sendGithub('status', payload, secret, delivery);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body.projects, [a.name, b.name]);
      const again = await sendGithub('status', payload, secret, delivery);
      assert.equal(again.body.duplicate, true);
      for (const p of [a, b]) assert.equal((await t.client.checkHistory(p.name, commit)).reports.length, 1);
      // The project whose secret did not sign it hears nothing.
      assert.deepEqual((await t.client.checkHistory(stranger.name, commit)).reports, []);
    });

    test('hostile names: Slipway’s own are ignored, unprintable or oversized ones refused', async () => {
      const p = await project('github');
      const commit = sha();
      const own = await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'success', context: 'slipway/test' }), p.secret);
      assert.equal(own.status, 202);
      assert.equal(own.body.ignored, true);
      for (const context of ['x'.repeat(10 * 1024), 'ci/\u001b[2Jtest', 'ci\u202e/test', '']) {
        const bad = await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'success', context }), p.secret);
        assert.equal(bad.status, 400, JSON.stringify(bad.body).slice(0, 200));
        assert.equal(bad.body.error?.code, 'INVALID_REQUEST');
      }
      const badSha = await sendGithub('status', githubStatus(p.repo, { sha: 'HEAD~1', state: 'success', context: 'ci/test' }), p.secret);
      assert.equal(badSha.status, 400);
      const badState = await sendGithub('status', githubStatus(p.repo, { sha: commit, state: 'green', context: 'ci/test' }), p.secret);
      assert.equal(badState.status, 400);
      assert.deepEqual((await t.client.checkHistory(p.name, commit)).reports, []);
      // Events that carry no check are acknowledged as before.
      const suite = await sendGithub('check_suite', { action: 'completed', repository: githubCheckRun(p.repo, { action: 'x', sha: commit, name: 'x', status: 'queued' }).repository }, p.secret);
      assert.equal(suite.status, 202);
    });

    test('a GitLab pipeline becomes the gitlab/pipeline check', async () => {
      const p = await project('gitlab');
      const commit = sha();
      const send = (status: string) =>
        postHook(t.server.port, '/hooks/gitlab', JSON.stringify(gitlabPipeline(p.repo, { sha: commit, status })), {
          'content-type': 'application/json',
          'x-gitlab-event': 'Pipeline Hook',
          'x-gitlab-token': p.secret,
          'idempotency-key': randomUUID(),
        });
      assert.equal((await send('running')).status, 200);
      assert.equal((await current(p.name, commit))['gitlab/pipeline']?.state, 'pending');
      await send('failed');
      assert.deepEqual((await current(p.name, commit))['gitlab/pipeline'], {
        state: 'failure',
        url: `https://gitlab.example.com/acme/${p.repo.name}/-/pipelines/31`,
        description: 'pipeline failed',
        by: 'gitlab',
        source: 'gitlab',
      });
      const wrongToken = await postHook(t.server.port, '/hooks/gitlab', JSON.stringify(gitlabPipeline(p.repo, { sha: commit, status: 'success' })), {
        'content-type': 'application/json',
        'x-gitlab-event': 'Pipeline Hook',
        'x-gitlab-token': 'wrong',
      });
      assert.equal(wrongToken.status, 401);
      assert.equal((await current(p.name, commit))['gitlab/pipeline']?.state, 'failure');
    });
  });
}
