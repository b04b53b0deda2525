import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import type { ProjectStatus } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import { commitFiles, gitOk, remoteLines, runGit } from './support/git-client.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * Promotion by `git push <commit>:refs/environments/<env>`: the real git client against a real
 * server whose in-process runner builds what is pushed, so the deployments promoted are real
 * builds' (no rebuild happens on promotion). Also the `slipway status` warning for an
 * environment that runs a commit the default branch does not contain.
 */

const SITE_YAML = 'build:\n  command: mkdir -p dist && cp index.html dist/\n  output: dist\n';
const BROKEN_YAML = 'build:\n  command: echo broken && exit 3\n  output: dist\n';
const ZERO = '0'.repeat(40);

function pkt(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/** A pack of no objects: what git sends when the server has every object a push needs. */
function emptyPack(): Buffer {
  const header = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  return Buffer.concat([header, createHash('sha1').update(header).digest()]);
}

/**
 * Speaks receive-pack by hand, for commands the git client refuses to send (`..` in a ref, control
 * characters): returns git's report-status lines (`unpack ok`, `ok <ref>`, `ng <ref> <reason>`).
 */
async function rawPush(port: number, project: string, token: string, commands: { before: string; after: string; ref: string }[]): Promise<string[]> {
  const lines = commands.map((c, i) => pkt(`${c.before} ${c.after} ${c.ref}${i === 0 ? '\0report-status' : ''}\n`));
  const body = Buffer.concat([...lines, Buffer.from('0000'), emptyPack()]);
  const response = await fetch(`http://127.0.0.1:${port}/git/${project}.git/git-receive-pack`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-git-receive-pack-request' },
    body,
  });
  assert.equal(response.status, 200);
  const bytes = Buffer.from(await response.arrayBuffer());
  const report: string[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const length = Number.parseInt(bytes.subarray(at, at + 4).toString('latin1'), 16);
    if (length === 0) break;
    report.push(bytes.subarray(at + 4, at + length).toString('utf8').replace(/\n$/, ''));
    at += length;
  }
  return report;
}

for (const backend of backends) {
  describe(`promote by git push (in-process runner) on ${backend.name}`, () => {
    let t: TestServer;
    let home: string;
    let dir: string;
    let deployer: string;
    let viewer: string;
    let first: string;
    const url = (token = ADMIN_TOKEN) => `http://x:${token}@127.0.0.1:${t.server.port}/git/shop.git`;
    const push = (args: string[], token = ADMIN_TOKEN) => runGit(home, dir, ['push', url(token), ...args]);
    const envUrl = (env: string) => `http://${env}--shop.localhost:${t.server.port}/`;
    const deploymentOf = async (commit: string) => {
      const build = (await t.client.listBuilds('shop', { limit: 100 })).builds.find((b) => b.commit === commit);
      assert.equal(build?.state, 'succeeded', `build of ${commit}: ${build?.state ?? 'none'}`);
      return build?.deployment ?? '';
    };
    const runsNow = async (env: string) => (await t.client.getEnvironment('shop', env)).deployment;
    const status = async (json: boolean): Promise<string> => {
      const ctx = createMemoryContext({ HOME: home, SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN });
      const code = await run(['status', '--project', 'shop', ...(json ? ['--json'] : [])], ctx);
      assert.equal(code, 0, ctx.stderr());
      return ctx.stdout();
    };

    before(async () => {
      // Branch pushes follow their build to the end, so a commit is built when its push returns.
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '120';
      t = await startTestServer(backend, { runners: 1 });
      home = await mkdtemp(join(tmpdir(), 'slipway-git-promote-'));
      dir = join(home, 'shop');
      await mkdir(dir);
      await t.client.createProject('shop');
      deployer = (await t.client.createToken({ name: 'dan', role: 'deployer' })).secret;
      viewer = (await t.client.createToken({ name: 'vera', role: 'viewer' })).secret;
      await gitOk(home, dir, ['init', '--quiet', '-b', 'main']);
      first = await commitFiles(home, dir, { 'index.html': 'one', 'slipway.yaml': SITE_YAML }, 'first');
      const pushed = await push(['main']);
      assert.ok(remoteLines(pushed.stderr).some((l) => l.startsWith('-----> Deployed: ')), pushed.stderr);
    });
    after(async () => {
      await t.dispose();
      await rm(home, { recursive: true, force: true });
    });

    test('a built commit pushed to refs/environments/staging goes live there; no ref, build or preview is made of it', async () => {
      const deployment = await deploymentOf(first);
      const buildsBefore = (await t.client.listBuilds('shop')).builds.length;
      const pushed = await push([`${first}:refs/environments/staging`], deployer);
      assert.equal(pushed.code, 0, pushed.stderr);
      const lines = remoteLines(pushed.stderr);
      assert.ok(lines.includes(`-----> staging v1 live: ${deployment} (was nothing)`), lines.join('\n'));
      assert.ok(lines.includes(`       ${envUrl('staging')}`), lines.join('\n'));
      assert.ok(!lines.some((l) => l.includes('Nothing new to build')), lines.join('\n'));
      assert.match(pushed.stderr, / \* \[new reference\] +[0-9a-f]+ -> refs\/environments\/staging/);

      assert.equal(await runsNow('staging'), deployment);
      const [release] = (await t.client.listReleases('shop', 'staging', { limit: 1 })).releases;
      assert.equal(release?.createdBy, 'dan');
      assert.equal(release?.trigger, 'user');
      assert.equal(release?.commit, first);
      assert.equal((await t.client.listBuilds('shop')).builds.length, buildsBefore, 'a promotion never builds');
      const refs = (await gitOk(home, dir, ['ls-remote', url()])).stdout;
      assert.ok(!refs.includes('refs/environments'), refs);
      const stored = (await gitOk(home, home, ['--git-dir', join(t.dataDir, 'repos', 'shop.git'), 'for-each-ref'])).stdout;
      assert.ok(!stored.includes('refs/environments'), stored);
      const envs = (await t.client.listEnvironments('shop')).environments.map((e) => e.name);
      assert.deepEqual(envs.sort(), ['preview-main', 'staging']);

      // The same push again has nothing to do, and says so without failing a script.
      const again = await push(['main:refs/environments/staging'], deployer);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(remoteLines(again.stderr).includes(`-----> staging already runs ${first.slice(0, 7)} (${deployment}): nothing to promote`), again.stderr);
    });

    test('lineage: production refuses what staging has not run, the push fails for that ref only, and production is unchanged', async () => {
      await t.client.setPolicy('shop', 'production', { from: 'staging' });
      await gitOk(home, dir, ['checkout', '--quiet', '-b', 'feature/x']);
      const feature = await commitFiles(home, dir, { 'index.html': 'feature' }, 'feature');
      await gitOk(home, dir, ['push', url(), 'feature/x']);
      const deployment = await deploymentOf(feature);

      // In one push with a branch: the branch lands, the promotion is refused.
      const refused = await push(['feature/x:refs/environments/production', 'feature/x:refs/heads/also'], deployer);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, / ! \[remote rejected\] feature\/x -> refs\/environments\/production \(LINEAGE_VIOLATION\)/);
      const lines = remoteLines(refused.stderr);
      assert.ok(
        lines.some((l) => l.startsWith(`-----> LINEAGE_VIOLATION: staging has not run ${feature.slice(0, 7)}`)),
        lines.join('\n'),
      );
      assert.equal(await runsNow('production'), null);
      assert.match((await gitOk(home, dir, ['ls-remote', url()])).stdout, /refs\/heads\/also/);

      const staged = await push(['feature/x:refs/environments/staging'], deployer);
      assert.equal(staged.code, 0, staged.stderr);
      assert.ok(remoteLines(staged.stderr).includes(`-----> staging v2 live: ${deployment} (was ${await deploymentOf(first)})`), staged.stderr);
      const promoted = await push(['feature/x:refs/environments/production'], deployer);
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.ok(remoteLines(promoted.stderr).includes(`-----> production v1 live: ${deployment} (was nothing)`), promoted.stderr);
      assert.equal(await runsNow('production'), deployment);
    });

    test('status warns while production runs a branch main does not contain, and stops once main has it', async () => {
      const feature = (await gitOk(home, dir, ['rev-parse', 'feature/x'])).stdout.trim();
      const text = await status(false);
      if (process.env.SHOW) console.log(text);
      const warning = `WARNING: production runs feature/x @${feature.slice(0, 7)}, not in main: merge it or it will be lost on the next deploy`;
      assert.ok(text.includes(warning), text);
      assert.ok(text.includes(`WARNING: staging runs feature/x @${feature.slice(0, 7)}, not in main`), text);
      assert.ok(text.includes('preview-feature-x'), text);
      assert.ok(!text.split('\n').some((l) => l.startsWith('WARNING: preview-')), 'previews run their branch by design and are never warned about');
      const json = JSON.parse(await status(true)) as ProjectStatus;
      assert.deepEqual(
        json.warnings.map((w) => [w.environment, w.commit, w.branch]).sort(),
        [
          ['production', feature, 'feature/x'],
          ['staging', feature, 'feature/x'],
        ],
      );
      // The pipeline view says the same, from the same rule.
      const stage = (await t.client.getPipeline('shop')).stages.find((s) => s.name === 'production');
      assert.deepEqual(stage?.warnings, [warning.slice('WARNING: '.length)]);

      await gitOk(home, dir, ['checkout', '--quiet', 'main']);
      await gitOk(home, dir, ['merge', '--quiet', '--no-ff', '-m', 'merge feature/x', 'feature/x']);
      await gitOk(home, dir, ['push', url(), 'main']);
      const merged = await status(false);
      assert.ok(!merged.includes('WARNING'), merged);
      assert.deepEqual((JSON.parse(await status(true)) as ProjectStatus).warnings, []);
    });

    test('a release held by its gates: the push succeeds and says what it waits for', async () => {
      await t.client.setPolicy('shop', 'qa', { checks: ['ci/test'] });
      const pushed = await push([`${first}:refs/environments/qa`], deployer);
      assert.equal(pushed.code, 0, pushed.stderr);
      const lines = remoteLines(pushed.stderr);
      const waiting = lines.find((l) => l.startsWith('-----> qa v1 waiting: '));
      assert.ok(waiting?.includes('ci/test'), lines.join('\n'));
      assert.ok(lines.some((l) => l.includes('slipway releases show rel-') && l.includes('--project shop')), lines.join('\n'));
      assert.equal(await runsNow('qa'), null);
      const [release] = (await t.client.listReleases('shop', 'qa', { limit: 1 })).releases;
      assert.equal(release?.state, 'waiting');
      // The check turning green lets it in, with no second push.
      await t.client.reportCheck('shop', { commit: first, name: 'ci/test', state: 'success' });
      const deployment = await deploymentOf(first);
      await eventually('qa to go live once ci/test passed', async () => ((await runsNow('qa')) === deployment ? true : undefined), 10_000);
    });

    test('a commit never built, or whose build failed, is COMMIT_NOT_FOUND with what to do', async () => {
      const before = await runsNow('staging');
      // Never pushed: git sends the commit with the promotion, and Slipway has no build of it.
      await gitOk(home, dir, ['checkout', '--quiet', '-b', 'local-only']);
      const local = await commitFiles(home, dir, { 'index.html': 'local' }, 'local only');
      const unbuilt = await push([`${local}:refs/environments/staging`], deployer);
      assert.notEqual(unbuilt.code, 0);
      assert.match(unbuilt.stderr, /\[remote rejected\] .* -> refs\/environments\/staging \(COMMIT_NOT_FOUND\)/);
      assert.ok(
        remoteLines(unbuilt.stderr).some((l) => l.startsWith('-----> COMMIT_NOT_FOUND: ') && l.includes('push it to a branch first')),
        unbuilt.stderr,
      );

      const broken = await commitFiles(home, dir, { 'slipway.yaml': BROKEN_YAML }, 'broken build');
      const built = await gitOk(home, dir, ['push', url(), 'local-only']);
      assert.ok(remoteLines(built.stderr).some((l) => l.startsWith('-----> Build failed')), built.stderr);
      const failed = await push([`${broken}:refs/environments/staging`], deployer);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /\(COMMIT_NOT_FOUND\)/);
      assert.ok(remoteLines(failed.stderr).some((l) => l.includes(`the build of ${broken.slice(0, 7)} failed`)), failed.stderr);
      assert.equal(await runsNow('staging'), before);
      await gitOk(home, dir, ['checkout', '--quiet', 'main']);
    });

    test('a lock refuses the push; an admin breaks glass with -o force -o reason=…, a deployer cannot', async () => {
      const before = await runsNow('staging');
      await t.client.lock('shop', 'staging', { reason: 'release freeze' });
      try {
        const locked = await push([`${first}:refs/environments/staging`], deployer);
        assert.notEqual(locked.code, 0);
        assert.match(locked.stderr, /\(ENVIRONMENT_LOCKED\)/);
        assert.ok(remoteLines(locked.stderr).some((l) => l.startsWith('-----> ENVIRONMENT_LOCKED: ') && l.includes('release freeze')), locked.stderr);
        const notAdmin = await push(['-o', 'force', '-o', 'reason=hotfix', `${first}:refs/environments/staging`], deployer);
        assert.match(notAdmin.stderr, /\(FORBIDDEN\)/);
        const noReason = await push(['-o', 'force', `${first}:refs/environments/staging`]);
        assert.match(noReason.stderr, /\(REASON_REQUIRED\)/);
        const tooLong = await push(['-o', 'force', '-o', `reason=${'x'.repeat(2000)}`, `${first}:refs/environments/staging`]);
        assert.match(tooLong.stderr, /\(INVALID_REQUEST\)/);
        assert.equal(await runsNow('staging'), before);

        const forced = await push(['-o', 'force', '-o', 'reason=hotfix verified by hand', '-o', 'ci.skip', `${first}:refs/environments/staging`]);
        assert.equal(forced.code, 0, forced.stderr);
        const lines = remoteLines(forced.stderr);
        assert.ok(lines.some((l) => l.startsWith('-----> staging v3 live: ')), lines.join('\n'));
        assert.ok(lines.includes('       forced by admin: hotfix verified by hand'), lines.join('\n'));
        assert.ok(lines.some((l) => l.includes('ignored push option "ci.skip"')), lines.join('\n'));
        assert.equal(await runsNow('staging'), await deploymentOf(first));
        const events = (await t.client.listEvents({ project: 'shop', environment: 'staging' })).events;
        assert.ok(events.some((e) => e.action === 'lock.break_glass' && e.reason === 'hotfix verified by hand'));
      } finally {
        await t.client.unlock('shop', 'staging', {});
      }
    });

    test('deleting refs/environments/<env> by push is refused; a viewer cannot promote', async () => {
      const before = await runsNow('staging');
      const production = await runsNow('production');
      const deleted = await push([':refs/environments/staging'], deployer);
      assert.notEqual(deleted.code, 0);
      assert.match(deleted.stderr, /\[remote rejected\] refs\/environments\/staging \(INVALID_REQUEST\)/);
      assert.ok(remoteLines(deleted.stderr).some((l) => l.includes('an environment is not deleted by push')), deleted.stderr);
      assert.equal(await runsNow('staging'), before);

      const asViewer = await push([`${first}:refs/environments/production`], viewer);
      assert.notEqual(asViewer.code, 0);
      assert.match(asViewer.stderr, /FORBIDDEN/);
      assert.equal(await runsNow('production'), production);
    });

    test('hostile refs and sources: bad names, `..`, very long names, tags, non-commits, --atomic', async () => {
      const before = { staging: await runsNow('staging'), production: await runsNow('production') };
      const main = (await gitOk(home, dir, ['rev-parse', 'main'])).stdout.trim();
      for (const ref of ['refs/environments/a/b', 'refs/environments/Staging', 'refs/environments/dpl-abc', 'refs/environments/-x', 'refs/environments', `refs/environments/${'e'.repeat(5000)}`]) {
        const pushed = await push([`${first}:${ref}`], deployer);
        assert.notEqual(pushed.code, 0, ref);
        assert.match(pushed.stderr, /\(INVALID_NAME\)/, ref);
        assert.ok(remoteLines(pushed.stderr).every((l) => l.length < 600), 'a refusal echoes a bounded name');
      }
      // The git client refuses `..` itself; sent by hand it reaches Slipway, which refuses it
      // before anything is written, so refs/heads/main cannot be reached through it.
      const dots = await push([`${first}:refs/environments/../heads/main`], deployer);
      assert.notEqual(dots.code, 0);
      const report = await rawPush(t.server.port, 'shop', deployer, [
        { before: ZERO, after: first, ref: 'refs/environments/../heads/main' },
        { before: ZERO, after: first, ref: 'refs/environments/\u001b[31mred' },
      ]);
      assert.deepEqual(report, ['unpack ok', 'ng refs/environments/../heads/main INVALID_NAME', 'ng refs/environments/\u001b[31mred INVALID_NAME']);
      assert.equal((await gitOk(home, dir, ['ls-remote', url(), 'refs/heads/main'])).stdout.split('\t')[0], main);

      // An annotated tag promotes the commit it tags; a tag of a tree has nothing to promote.
      await gitOk(home, dir, ['tag', '-a', 'v1', '-m', 'release 1', first]);
      const tagged = await push(['v1:refs/environments/tagged'], deployer);
      assert.equal(tagged.code, 0, tagged.stderr);
      assert.equal(await runsNow('tagged'), await deploymentOf(first));
      await gitOk(home, dir, ['tag', '-a', 'tree-tag', '-m', 'a tree', `${first}^{tree}`]);
      const tree = await push(['tree-tag:refs/environments/tagged'], deployer);
      assert.match(tree.stderr, /\(INVALID_REQUEST\)/);
      assert.ok(remoteLines(tree.stderr).some((l) => l.includes('is not a commit')), tree.stderr);

      // --atomic: all or nothing, and a promotion cannot be taken back, so the push is refused whole.
      const atomic = await push(['--atomic', `${first}:refs/environments/production`, 'main:refs/heads/atomic'], deployer);
      assert.notEqual(atomic.code, 0);
      assert.match(atomic.stderr, /\(INVALID_REQUEST\)/);
      assert.ok(!(await gitOk(home, dir, ['ls-remote', url()])).stdout.includes('refs/heads/atomic'));
      assert.deepEqual({ staging: await runsNow('staging'), production: await runsNow('production') }, before);
      const stored = (await gitOk(home, home, ['--git-dir', join(t.dataDir, 'repos', 'shop.git'), 'for-each-ref'])).stdout;
      assert.ok(!stored.includes('refs/environments'), stored);
    });
  });
}
