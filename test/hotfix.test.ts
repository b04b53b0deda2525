import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { backends } from './support/backends.ts';
import { ensureDashboardBuilt, launchBrowser, NO_BROWSER, openPage, signIn } from './support/dashboard.ts';
import { eventually } from './support/eventually.ts';
import { gitOk, remoteLines } from './support/git-client.ts';
import { slipway, waitCodes, waitForLive, waitForState } from './support/pipeline.ts';
import { ADMIN_TOKEN, edgeGet, startTestServer, type TestServer } from './support/server.ts';

/**
 * Essay 002 end to end: production runs main; a feature waits in line for production's
 * checks; `slipway hotfix start` branches at production's commit in Slipway's own git; the
 * commands it prints fetch, and push the fix with real git; the fix goes through dev and
 * staging to production — the same checks, ahead of the queued feature — and status, pushes
 * and the pipeline warn until main contains it.
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
  production:
    from: staging
    auto: true
    checks: [ci/test]
`;

for (const backend of backends) {
  describe(`a hotfix from hotfix start to production on ${backend.name}`, () => {
    let t: TestServer;
    let base: string;
    let work: string;
    let browser: Browser | undefined;
    let page: Page | undefined;
    const project = 'shop';
    // The project page is looked at in Chromium on the first backend (the page is the same on both).
    const withBrowser = backend === backends[0] && NO_BROWSER === false;
    const remote = () => `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/${project}.git`;

    before(async () => {
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '120';
      t = await startTestServer(backend, { runners: 1 });
      await t.client.createProject(project);
      base = await mkdtemp(join(tmpdir(), 'slipway-hotfix-'));
      work = join(base, 'work');
      await mkdir(work);
      await gitOk(base, work, ['init', '-q', '-b', 'main']);
      await gitOk(base, work, ['remote', 'add', 'slipway', remote()]);
      if (withBrowser) {
        await ensureDashboardBuilt();
        browser = await launchBrowser();
        page = (await openPage(browser)).page;
        await signIn(page, t.server.url, ADMIN_TOKEN);
      }
    });
    after(async () => {
      await browser?.close();
      await t.dispose();
      await rm(base, { recursive: true, force: true });
    });

    /** Commits index.html (and slipway.yaml) and pushes the branch checked out; the push's `remote:` lines and the built deployment. */
    async function commitAndPush(body: string, branch: string, message: string): Promise<{ sha: string; deployment: string; lines: string[] }> {
      await writeFile(join(work, 'index.html'), body);
      await writeFile(join(work, 'slipway.yaml'), SLIPWAY_YAML);
      await gitOk(base, work, ['add', '-A']);
      await gitOk(base, work, ['commit', '-q', '-m', message]);
      const sha = (await gitOk(base, work, ['rev-parse', 'HEAD'])).stdout.trim();
      const pushed = await gitOk(base, work, ['push', 'slipway', branch]);
      return { sha, deployment: await deploymentOf(sha), lines: remoteLines(pushed.stderr) };
    }

    async function deploymentOf(sha: string): Promise<string> {
      const build = await eventually(`the build of ${sha.slice(0, 7)} to succeed`, async () => {
        const found = (await t.client.listBuilds(project)).builds.find((b) => b.commit === sha);
        if (found?.state === 'failed') assert.fail(`the build failed: ${found.error ?? ''}`);
        return found?.state === 'succeeded' ? found : undefined;
      });
      assert.ok(build.deployment);
      return build.deployment;
    }

    const card = (p: Page, environment: string): Locator => p.locator(`[data-environment="${environment}"]`);

    /** The project page, loaded afresh. */
    async function projectPage(): Promise<Page | undefined> {
      if (!page) return undefined;
      await page.goto(`${t.server.url}/`);
      await page.getByRole('link', { name: project, exact: true }).click();
      await page.getByRole('heading', { name: project, level: 1 }).waitFor();
      await card(page, 'production').waitFor();
      return page;
    }

    const green = (commit: string) => t.client.reportCheck(project, { commit, name: 'ci/test', state: 'success', url: 'https://ci.example.com/run' });

    test('hotfix start, push the fix, ahead of the queued feature to production; warned about until main contains it', async () => {
      // Production runs main's first commit.
      const first = await commitAndPush('<h1>login v1</h1>', 'main', 'first');
      await green(first.sha);
      await waitForLive(t.client, project, 'production', first.deployment);

      // A feature reaches staging and queues for production: its checks are still running.
      const feature = await commitAndPush('<h1>login v1</h1><p>new feature</p>', 'main', 'feature');
      await waitForLive(t.client, project, 'staging', feature.deployment);
      const queued = await waitForState(t.client, project, 'production', feature.deployment, 'waiting');
      assert.deepEqual(waitCodes(queued), ['CHECKS_PENDING']);

      // Nothing to fix in an environment that runs nothing; a name git would trip over.
      const nothing = await slipway(t, ['hotfix', 'start', '--project', project, '--env', 'qa']);
      assert.notEqual(nothing.code, 0);
      const hostile = await slipway(t, ['hotfix', 'start', '--project', project, '--name', '../../main', '--json']);
      assert.notEqual(hostile.code, 0);
      assert.match(hostile.stderr, /INVALID_NAME/);

      // hotfix start: the branch at production's commit, in Slipway's git, and what to run.
      const started = await slipway(t, ['hotfix', 'start', '--project', project, '--name', 'login-fix']);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, new RegExp(`Started hotfix/login-fix at ${first.sha.slice(0, 7)}, what production runs`));
      const commands = started.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('git ') || l.startsWith('# '));
      assert.deepEqual(commands, ['git fetch slipway hotfix/login-fix', 'git switch -c hotfix/login-fix FETCH_HEAD', '# commit the fix, then:', 'git push -u slipway hotfix/login-fix']);
      const again = await slipway(t, ['hotfix', 'start', '--project', project, '--name', 'login-fix', '--json']);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /HOTFIX_EXISTS/);
      assert.equal(await waitForLive(t.client, project, 'dev', feature.deployment).then((r) => r.deployment), feature.deployment, 'starting a hotfix moves nothing');

      // Run the printed commands, with the fix committed where they say.
      const [fetch, sw, , push] = commands;
      await gitOk(base, work, (fetch ?? '').split(' ').slice(1));
      await gitOk(base, work, (sw ?? '').split(' ').slice(1));
      assert.equal((await gitOk(base, work, ['rev-parse', 'HEAD'])).stdout.trim(), first.sha);
      await writeFile(join(work, 'index.html'), '<h1>login v1, fixed</h1>');
      await gitOk(base, work, ['commit', '-q', '-am', 'Fix the login']);
      const fixSha = (await gitOk(base, work, ['rev-parse', 'HEAD'])).stdout.trim();
      const pushed = await gitOk(base, work, (push ?? '').split(' ').slice(1));
      const fix = await deploymentOf(fixSha);
      const fixLines = remoteLines(pushed.stderr);
      assert.ok(fixLines.some((l) => /^\s+dev: http/.test(l)), fixLines.join('\n'));

      // The same path: dev, staging, then production's checks — expedited, so not behind the feature.
      await waitForLive(t.client, project, 'staging', fix);
      const atProduction = await waitForState(t.client, project, 'production', fix, 'waiting');
      assert.equal(atProduction.expedited, true);
      assert.deepEqual(waitCodes(atProduction), ['CHECKS_PENDING'], 'the hotfix needs ci/test too, but waits in no line');
      const waitingPage = await projectPage();
      if (waitingPage) {
        const waiting = waitingPage.getByRole('region', { name: 'Waiting to enter production' }).locator(`li.waiting-release[data-release="${atProduction.number}"]`);
        assert.equal(await waiting.locator('.badge-hotfix').innerText(), 'HOTFIX');
      }
      await green(fixSha);
      const live = await waitForLive(t.client, project, 'production', fix);
      assert.equal(live.expedited, true);
      assert.equal(live.branch, 'hotfix/login-fix');
      const overtaken = await waitForState(t.client, project, 'production', feature.deployment, 'superseded');
      assert.match(overtaken.stateReason ?? '', /hotfix v\d+ \(hotfix\/login-fix\) went live after it was queued/);
      assert.equal((await edgeGet(t.server.port, `production--${project}.localhost:${t.server.port}`)).body, '<h1>login v1, fixed</h1>');
      const shown = await slipway(t, ['releases', 'show', live.id, '--project', project]);
      assert.match(shown.stdout, /hotfix: expedited/);

      // Warned about until main contains it: status, the pipeline, every push.
      const warning = `production runs hotfix/login-fix @${fixSha.slice(0, 7)}, not in main`;
      const status = await slipway(t, ['status', '--project', project]);
      assert.match(status.stdout, new RegExp(`WARNING: ${warning}`));
      const order = [...status.stdout.matchAll(/WARNING: (\S+) runs/g)].map((m) => m[1]);
      assert.deepEqual(order, ['dev', 'staging', 'production'], 'in pipeline order');
      const stage = (await t.client.getPipeline(project)).stages.find((s) => s.name === 'production');
      assert.ok(stage?.warnings.some((w) => w.startsWith(warning)), JSON.stringify(stage?.warnings));
      const livePage = await projectPage();
      if (livePage) assert.match(await card(livePage, 'production').getByRole('note').innerText(), new RegExp(`^Warning: ${warning}`));
      await gitOk(base, work, ['switch', '-q', '-c', 'docs', 'main']);
      const docs = await commitAndPush('<h1>login v1</h1><p>new feature</p><p>docs</p>', 'docs', 'docs');
      assert.ok(docs.lines.some((l) => l.includes(`WARNING: ${warning}`)), docs.lines.join('\n'));

      // main merges the hotfix: from that push on, no warning about production.
      await gitOk(base, work, ['switch', '-q', 'main']);
      await gitOk(base, work, ['merge', '-q', '--no-edit', '-X', 'theirs', 'hotfix/login-fix']);
      const mergeSha = (await gitOk(base, work, ['rev-parse', 'HEAD'])).stdout.trim();
      const merged = await gitOk(base, work, ['push', 'slipway', 'main']);
      const mergeLines = remoteLines(merged.stderr);
      assert.ok(!mergeLines.some((l) => l.includes('WARNING: production')), mergeLines.join('\n'));
      await deploymentOf(mergeSha);
      const clear = await slipway(t, ['status', '--project', project]);
      assert.doesNotMatch(clear.stdout, /WARNING: production/);
      const clearPage = await projectPage();
      if (clearPage) assert.equal(await card(clearPage, 'production').getByRole('note').count(), 0);
    });
  });
}
