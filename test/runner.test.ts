import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import type { Build, BuildLogLine } from '../src/protocol/builds.ts';
import type { Project } from '../src/protocol/api.ts';
import { startRunner } from '../src/runner/runner.ts';
import type { Runner } from '../src/runner/runner.ts';
import { recordPush, ZERO_SHA } from '../src/server/services/pushes.ts';
import { eventually } from './support/eventually.ts';
import { backends } from './support/backends.ts';
import { hostProcessesWith, uniqueSeconds } from './support/processes.ts';
import { edgeGet, hostOf, startTestServer } from './support/server.ts';
import type { TestServer } from './support/server.ts';
import { git } from './support/git-repo.ts';

/**
 * The build runner against a real server over HTTP: real git repositories (an external one on
 * local disk, and Slipway's own over smart HTTP), real build processes, real uploads, the
 * deployment served by the edge. The runner is the same code the server starts in-process.
 */

/** Must never reach a build: a secret in the runner's own environment. */
const RUNNER_SECRET = `leak-${randomBytes(8).toString('hex')}`;
process.env.SLIPWAY_TEST_RUNNER_SECRET = RUNNER_SECRET;
// The push hook would wait for the build it queued; these tests watch builds through the API.
process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';

const WEBHOOK_SECRET = 'runner-test-webhook-secret';

const sqlite = backends.find((b) => b.name === 'sqlite');
if (!sqlite) throw new Error('no sqlite backend');

describe('build runner against a real server', () => {
  let t: TestServer;
  let base: string;
  let work: string;
  let remote: string;
  let workDir: string;
  let runnerToken: string;
  /** Pushes and the CLI's other commands: a runner token may do nothing else than build. */
  let deployerToken: string;
  let runner: Runner;
  const runnerLog: string[] = [];
  let branchCount = 0;

  /** Commits `files` on a new branch of the external repo, pushes it there, and records the push as a webhook would. */
  const pushAndNotify = async (files: Record<string, string>): Promise<{ sha: string; branch: string }> => {
    branchCount += 1;
    const branch = `b${branchCount}`;
    await git(work, ['checkout', '-q', '-B', branch, 'root']);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), body);
    }
    await git(work, ['add', '-A']);
    await git(work, ['commit', '-q', '--allow-empty', '-m', `Build ${branch}`]);
    const sha = await git(work, ['rev-parse', 'HEAD']);
    await git(work, ['push', '-q', remote, `${branch}:refs/heads/${branch}`]);
    // What a webhook delivery records (the webhook itself is tested in webhooks.test.ts).
    await recordPush(t.server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'web', {
      updates: [{ ref: `refs/heads/${branch}`, before: ZERO_SHA, after: sha }],
      trigger: 'generic',
      sourceUrl: remote,
    });
    return { sha, branch };
  };

  const buildOf = (project: string, sha: string): Promise<Build> =>
    eventually(`the build of ${sha.slice(0, 7)}`, async () => (await t.client.listBuilds(project)).builds.find((b) => b.commit === sha));

  const finished = (project: string, id: string, ms?: number): Promise<Build> =>
    eventually(
      `build ${id} to finish`,
      async () => {
        const build = await t.client.getBuild(project, id);
        return build.state === 'queued' || build.state === 'running' ? undefined : build;
      },
      ms,
    );

  const logsOf = async (project: string, id: string): Promise<BuildLogLine[]> => (await t.client.getBuildLogs(project, id)).lines;

  const buildCommit = async (files: Record<string, string>): Promise<{ build: Build; lines: BuildLogLine[]; text: string }> => {
    const { sha } = await pushAndNotify(files);
    const build = await finished('web', (await buildOf('web', sha)).id);
    const lines = await logsOf('web', build.id);
    return { build, lines, text: lines.map((l) => l.text).join('\n') };
  };

  before(async () => {
    t = await startTestServer(sqlite);
    base = await mkdtemp(join(tmpdir(), 'slipway-runner-'));
    work = join(base, 'work');
    remote = join(base, 'remote.git');
    workDir = join(base, 'builds');
    await mkdir(work);
    await git(base, ['init', '-q', '--bare', remote]);
    await git(work, ['init', '-q', '-b', 'root']);
    await writeFile(join(work, 'README.md'), 'a repository');
    await git(work, ['add', '-A']);
    await git(work, ['commit', '-q', '-m', 'root']);
    await t.client.createProject('web', { repo: remote, webhookSecret: WEBHOOK_SECRET });
    runnerToken = (await t.client.createToken({ name: 'runner', role: 'runner' })).secret;
    deployerToken = (await t.client.createToken({ name: 'dev', role: 'deployer' })).secret;
    runner = startRunner({
      serverUrl: `http://127.0.0.1:${t.server.port}`,
      allowLocalRepos: true,
      token: runnerToken,
      name: 'test-runner',
      concurrency: 2,
      pollMs: 100,
      leaseSeconds: 5,
      heartbeatMs: 200,
      killGraceMs: 500,
      workDir,
      log: (line) => runnerLog.push(line),
    });
  });

  after(async () => {
    await runner.stop();
    await t.dispose();
    await rm(base, { recursive: true, force: true });
  });

  test('a successful build becomes a deployment whose URL serves the output', async () => {
    const { build, lines } = await buildCommit({
      'slipway.yaml': 'build:\n  command: mkdir -p dist && echo "<h1>$SLIPWAY_COMMIT on $SLIPWAY_BRANCH</h1>" > dist/index.html && echo built\nserve:\n  spa: true\n',
      'src/app.txt': 'source',
    });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.ok(build.deployment && build.deploymentUrl);
    assert.equal(build.author, 'Grace Hopper');
    assert.equal(build.message, `Build b${branchCount}`);
    assert.equal(build.runner, 'test-runner');

    const page = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/');
    assert.equal(page.status, 200);
    assert.equal(page.body.trim(), `<h1>${build.commit} on ${build.branch}</h1>`);
    const spa = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/some/route');
    assert.equal(spa.status, 200, 'serve.spa reaches the deployment');

    const deployment = await t.client.getDeployment('web', build.deployment);
    assert.equal(deployment.fileCount, 1);
    assert.deepEqual(deployment.meta, {
      source: 'build',
      build: build.id,
      commit: build.commit,
      branch: build.branch ?? undefined,
      author: 'Grace Hopper',
      message: `Build b${branchCount}`,
      spa: true,
    });

    const system = lines.filter((l) => l.stream === 'system').map((l) => l.text);
    assert.ok(system.some((l) => l.startsWith(`Fetching ${build.commit.slice(0, 12)}`)), system.join('\n'));
    assert.ok(system.includes('Running: mkdir -p dist && echo "<h1>$SLIPWAY_COMMIT on $SLIPWAY_BRANCH</h1>" > dist/index.html && echo built'));
    assert.ok(system.some((l) => /^Uploading .* files/.test(l)));
    assert.ok(system.some((l) => l === `Deployed ${build.deployment}: ${build.deploymentUrl}`));
    assert.ok(lines.some((l) => l.stream === 'stdout' && l.text === 'built'));
    const seqs = lines.map((l) => l.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  test('without slipway.yaml the repository itself is the site', async () => {
    const { build } = await buildCommit({ 'index.html': '<p>plain</p>' });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.ok(build.deploymentUrl);
    const page = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/index.html');
    assert.equal(page.body, '<p>plain</p>');
    const readme = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/README.md');
    assert.equal(readme.body, 'a repository');
  });

  test('a build uploads its manifest as changes against the latest deployment of its branch, and makes the deployment a full upload makes', async () => {
    // Two commits on one branch: the second build goes against the first one's deployment.
    const branch = 'delta-base';
    await git(work, ['checkout', '-q', '-B', branch, 'root']);
    const commit = async (files: Record<string, string>, before: string): Promise<Build> => {
      for (const [path, body] of Object.entries(files)) {
        await mkdir(join(work, path, '..'), { recursive: true });
        await writeFile(join(work, path), body);
      }
      await git(work, ['add', '-A']);
      await git(work, ['commit', '-q', '--allow-empty', '-m', `on ${branch}`]);
      const sha = await git(work, ['rev-parse', 'HEAD']);
      await git(work, ['push', '-q', '-f', remote, `${branch}:refs/heads/${branch}`]);
      await recordPush(t.server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'web', {
        updates: [{ ref: `refs/heads/${branch}`, before, after: sha }],
        trigger: 'generic',
        sourceUrl: remote,
      });
      const build = await finished('web', (await buildOf('web', sha)).id);
      assert.equal(build.state, 'succeeded', build.error ?? '');
      return build;
    };
    const system = async (build: Build): Promise<string[]> => (await logsOf('web', build.id)).filter((l) => l.stream === 'system').map((l) => l.text);
    const pages = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`pages/${i}.html`, `<p>page ${i}</p>`]));
    const first = await commit(pages, ZERO_SHA);
    assert.ok(!(await system(first)).some((l) => l.startsWith('Manifest as changes')), 'the first build of a branch has no base');
    const second = await commit({ 'pages/3.html': '<p>page three</p>', 'pages/new.html': '<p>new</p>' }, first.commit);
    assert.ok(first.deployment && second.deployment && second.deploymentUrl);
    const lines = await system(second);
    assert.ok(lines.includes(`Manifest as changes against ${first.deployment} (1 added, 1 changed, 0 removed)`), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('Uploading 2 new of 22 files')), lines.join('\n'));
    // The same tree uploaded whole makes the same manifest.
    const manifest = await t.client.getDeploymentManifest('web', second.deployment);
    const whole = await t.client.createUpload('web', { files: manifest.files });
    assert.deepEqual(whole.missing, []);
    assert.equal((await t.client.finalizeUpload('web', whole.id)).manifestDigest, manifest.manifestDigest);
    assert.equal((await edgeGet(t.server.port, hostOf(second.deploymentUrl), '/pages/3.html')).body, '<p>page three</p>');
    assert.equal((await edgeGet(t.server.port, hostOf(second.deploymentUrl), '/pages/4.html')).body, '<p>page 4</p>');
    // An unchanged tree: nothing to send, and the deployment is made with the upload.
    const third = await commit({ 'README.md': 'a repository' }, second.commit);
    const again = await system(third);
    assert.ok(again.includes(`Manifest as changes against ${second.deployment} (0 added, 0 changed, 0 removed)`), again.join('\n'));
    assert.ok(again.some((l) => l.startsWith('Uploading no new of 22 files')), again.join('\n'));
    // Another branch has its own base: none yet.
    const { build: other } = await buildCommit({ 'index.html': '<p>elsewhere</p>' });
    assert.ok(!(await system(other)).some((l) => l.startsWith('Manifest as changes')));
  });

  test('a failing command fails the build with its exit code, its output in the log', async () => {
    const { build, lines } = await buildCommit({ 'slipway.yaml': 'build:\n  command: echo oops >&2; exit 3\n' });
    assert.equal(build.state, 'failed');
    assert.equal(build.error, 'build command exited with code 3');
    assert.equal(build.deployment, null);
    assert.ok(lines.some((l) => l.stream === 'stderr' && l.text === 'oops'));
    assert.equal(lines.at(-1)?.text, 'Build failed: build command exited with code 3');
  });

  test('a build that outlives its timeout is killed and fails', async () => {
    const { build } = await buildCommit({ 'slipway.yaml': 'build:\n  command: sleep 30\n  timeout: 1s\n' });
    assert.equal(build.state, 'failed');
    assert.equal(build.error, 'build timed out after 1s');
  });

  test('cancel kills every process of the build and the build ends canceled', async () => {
    const marker = uniqueSeconds(100);
    const { sha } = await pushAndNotify({ 'slipway.yaml': `build:\n  command: sleep ${marker} & sleep ${marker} & echo started; wait\n` });
    const queued = await buildOf('web', sha);
    await eventually('both sleeps to start', async () => (hostProcessesWith(`sleep ${marker}`).length === 2 ? true : undefined));
    const canceling = await t.client.cancelBuild('web', queued.id);
    assert.equal(canceling.cancelRequested, true);
    const build = await finished('web', queued.id, 15_000);
    assert.equal(build.state, 'canceled');
    await eventually('the sleeps to die', async () => (hostProcessesWith(`sleep ${marker}`).length === 0 ? true : undefined), 5000);
    assert.equal((await logsOf('web', build.id)).at(-1)?.text, 'Build canceled');
  });

  test('a bad slipway.yaml fails the build naming the field and line', async () => {
    const { build, lines } = await buildCommit({ 'slipway.yaml': 'build:\n  command: make\n  timeout: soon\n' });
    assert.equal(build.state, 'failed');
    assert.equal(build.error, 'slipway.yaml:3:12 build.timeout: invalid duration "soon": use forms like 90s, 10m, 2h, 1d');
    assert.ok(lines.some((l) => l.stream === 'system' && l.text === build.error));
  });

  test('invalid YAML fails with its line too', async () => {
    const { build } = await buildCommit({ 'slipway.yaml': 'build:\n  command: [make\n' });
    assert.equal(build.state, 'failed');
    assert.match(build.error ?? '', /^slipway\.yaml:\d+:\d+ /);
  });

  test('an output symlink that leaves the checkout fails the build, and nothing is deployed', async () => {
    const secret = join(base, 'runner-secret.txt');
    await writeFile(secret, RUNNER_SECRET);
    const { build } = await buildCommit({ 'slipway.yaml': `build:\n  command: mkdir -p dist && echo ok > dist/index.html && ln -s ${secret} dist/leak.txt\n` });
    assert.equal(build.state, 'failed');
    assert.match(build.error ?? '', /^dist\/leak\.txt is a symlink to outside the checkout/);
    assert.equal(build.deployment, null);
  });

  test('an output outside the checkout is refused', async () => {
    const { build } = await buildCommit({ 'slipway.yaml': 'build:\n  command: "true"\n  output: ../..\n' });
    assert.equal(build.state, 'failed');
    assert.match(build.error ?? '', /escapes the checkout/);
  });

  test('the build sees its own variables, never the runner’s environment or token', async () => {
    const { build, lines } = await buildCommit({
      'slipway.yaml': 'build:\n  command: env | sort && mkdir -p dist && echo x > dist/x\n  env:\n    GREETING: hello\n',
    });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    const env = new Map(lines.filter((l) => l.stream === 'stdout').map((l) => [l.text.slice(0, l.text.indexOf('=')), l.text.slice(l.text.indexOf('=') + 1)]));
    assert.equal(env.get('GREETING'), 'hello');
    assert.equal(env.get('CI'), 'true');
    assert.equal(env.get('SLIPWAY_PROJECT'), 'web');
    assert.equal(env.get('SLIPWAY_COMMIT'), build.commit);
    assert.equal(env.get('SLIPWAY_BRANCH'), build.branch);
    assert.equal(env.get('SLIPWAY_REF'), build.ref);
    assert.equal(env.get('SLIPWAY_BUILD_ID'), build.id);
    assert.equal(env.has('SLIPWAY_TEST_RUNNER_SECRET'), false);
    const all = lines.map((l) => l.text).join('\n');
    assert.ok(!all.includes(RUNNER_SECRET), 'the runner’s environment leaked into the build');
    assert.ok(!all.includes(runnerToken), 'the runner token leaked into the build');
    assert.ok(env.get('HOME')?.startsWith(workDir), `HOME is ${env.get('HOME')}`);
  });

  test('a push to Slipway’s own git is fetched back over HTTP with the runner’s token and built', async () => {
    await t.client.createProject('own');
    const dir = join(base, 'own');
    await mkdir(dir);
    await git(dir, ['init', '-q', '-b', 'main']);
    await writeFile(join(dir, 'slipway.yaml'), 'build:\n  command: mkdir -p out && cp page.html out/index.html\n  output: out\n');
    await writeFile(join(dir, 'page.html'), '<h1>own git</h1>');
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '-m', 'first']);
    const first = await git(dir, ['rev-parse', 'HEAD']);
    await writeFile(join(dir, 'page.html'), '<h1>second</h1>');
    await git(dir, ['commit', '-q', '-am', 'second']);
    await git(dir, ['push', '-q', `http://x:${deployerToken}@127.0.0.1:${t.server.port}/git/own.git`, `${first}:refs/heads/main`]);
    const build = await finished('own', (await buildOf('own', first)).id);
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.equal(build.sourceUrl, null);
    assert.ok(build.deploymentUrl);
    const page = await edgeGet(t.server.port, hostOf(build.deploymentUrl), '/');
    assert.equal(page.body, '<h1>own git</h1>');
  });

  describe('from the CLI', () => {
    const cli = async (...argv: string[]) => {
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: deployerToken, XDG_CONFIG_HOME: base });
      const code = await run(argv, ctx);
      return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
    };

    test('builds lists them; logs prints the log; --follow exits 0 for a success and 8 for a failure', async () => {
      const ok = await buildCommit({ 'slipway.yaml': 'build:\n  command: mkdir -p dist && echo hi > dist/i.html && echo from-the-build\n' });
      const bad = await buildCommit({ 'slipway.yaml': 'build:\n  command: exit 7\n' });

      const list = await cli('builds', '--project', 'web', '--json');
      assert.equal(list.code, 0, list.stderr);
      const ids = (JSON.parse(list.stdout) as { builds: Build[] }).builds.map((b) => b.id);
      assert.ok(ids.includes(ok.build.id) && ids.includes(bad.build.id));
      const table = await cli('builds', '-p', 'web');
      assert.match(table.stdout, /^ID\s+STATE\s+COMMIT\s+BRANCH/);
      assert.ok(table.stdout.includes(`${bad.build.id}  failed`), table.stdout);

      const log = await cli('logs', ok.build.id, '-p', 'web');
      assert.equal(log.code, 0);
      const printed = log.stdout.trimEnd().split('\n');
      assert.ok(printed.includes('from-the-build'));
      assert.ok(printed.includes(`-----> Deployed ${ok.build.deployment}: ${ok.build.deploymentUrl}`), log.stdout);

      const followed = await cli('logs', ok.build.id, '-p', 'web', '--follow');
      assert.equal(followed.code, 0);
      assert.equal(followed.stdout, log.stdout);
      assert.match(followed.stderr, new RegExp(`Build ${ok.build.id} succeeded: `));
      const failed = await cli('logs', bad.build.id, '-p', 'web', '--follow', '--timestamps');
      assert.equal(failed.code, 8);
      assert.match(failed.stdout, /^\d\d:\d\d:\d\d\.\d{3} -----> /m);
      assert.match(failed.stderr, /failed: build command exited with code 7/);
      const ndjson = await cli('logs', bad.build.id, '-p', 'web', '--follow', '--json');
      const objects = ndjson.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(Object.keys(objects.at(-1) ?? {}), ['build']);
      assert.ok(objects.slice(0, -1).every((o) => typeof o.seq === 'number' && typeof o.text === 'string'));

      const late = await cli('builds', 'cancel', ok.build.id, '-p', 'web');
      assert.equal(late.code, 4, late.stderr);
      assert.match(late.stderr, /\(BUILD_FINISHED\)/);
    });

    test('logs --follow streams a running build until it ends', async () => {
      const { sha } = await pushAndNotify({ 'slipway.yaml': 'build:\n  command: for i in 1 2 3; do echo tick $i; sleep 0.3; done; mkdir dist; echo x > dist/x\n' });
      const build = await buildOf('web', sha);
      const followed = await cli('logs', build.id, '-p', 'web', '-f');
      assert.equal(followed.code, 0, followed.stderr);
      assert.match(followed.stdout, /tick 1\ntick 2\ntick 3\n/);
    });

    test('git-remote prints a ready remote, with the token or without', async () => {
      const withToken = await cli('git-remote', '-p', 'web');
      assert.equal(withToken.code, 0, withToken.stderr);
      const url = new URL(withToken.stdout.trim().split('\n').at(-1) ?? '');
      assert.equal(url.username, 'slipway');
      assert.equal(url.password, deployerToken);
      assert.match(url.pathname, /^\/git\/web\.git$/);
      const bare = await cli('git-remote', '-p', 'web', '--no-token');
      assert.equal(bare.code, 0);
      assert.ok(!bare.stdout.includes(deployerToken));
      assert.match(bare.stdout.trim(), /\/git\/web\.git$/);
    });

    test('projects create takes an external repository and a webhook secret', async () => {
      const created = await cli('projects', 'create', 'ext', '--repo', remote, '--webhook-secret', 'a-long-secret', '--json');
      assert.equal(created.code, 0, created.stderr);
      const project = JSON.parse(created.stdout) as Project;
      // The server keeps the repository in its normal form (no trailing .git).
      assert.equal(project.repo?.replace(/\.git$/, ''), remote.replace(/\.git$/, ''));
      assert.equal(project.hasWebhookSecret, true);
      const human = await cli('projects', 'create', 'ext2', '--repo', remote);
      assert.match(human.stdout, /\/hooks\/github/);
      assert.match(human.stderr, /no --webhook-secret/);
      assert.match(human.stdout.trimEnd().split('\n').at(-1) ?? '', /^http:\/\/ext2\./);
    });

    test('runner refuses a bad token at start', async () => {
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: 'slw_wrong', XDG_CONFIG_HOME: base });
      assert.equal(await run(['runner'], ctx), 6);
      const deployer = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: deployerToken, XDG_CONFIG_HOME: base });
      assert.equal(await run(['runner'], deployer), 6, 'a deployer token does not run builds');
      assert.match(deployer.stderr(), /runner token.*--role runner/);
      const good = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: runnerToken, XDG_CONFIG_HOME: base });
      assert.equal(await run(['runner', '--name', 'cli-runner', '--work-dir', join(base, 'cli-builds'), '--allow-local-repos'], good), 0);
      assert.match(good.stderr(), /Runner cli-runner is building for/);
    });
  });

  test('every build’s temp dir is gone once it is done; the project’s cache stays', async () => {
    await eventually('temp dirs to be removed', async () => ((await readdir(workDir)).every((name) => name === 'cache') ? true : undefined), 10_000);
    assert.deepEqual((await readdir(join(workDir, 'cache'))).sort(), ['own', 'web']);
  });
});

describe('stopping a runner', () => {
  let t: TestServer;
  let base: string;

  before(async () => {
    t = await startTestServer(sqlite);
    base = await mkdtemp(join(tmpdir(), 'slipway-runner-stop-'));
  });
  after(async () => {
    await t.dispose();
    await rm(base, { recursive: true, force: true });
  });

  test('a running build gets a grace period, then is killed and fails with "runner stopped"', async () => {
    const dir = join(base, 'repo');
    await mkdir(dir);
    await git(dir, ['init', '-q', '-b', 'main']);
    const marker = uniqueSeconds(100);
    await writeFile(join(dir, 'slipway.yaml'), `build:\n  command: sleep ${marker} & echo started; wait\n`);
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '-m', 'slow']);
    const sha = await git(dir, ['rev-parse', 'HEAD']);
    await t.client.createProject('slow', { repo: dir });
    const runner = startRunner({
      serverUrl: `http://127.0.0.1:${t.server.port}`,
      allowLocalRepos: true,
      token: (await t.client.createToken({ name: 'runner', role: 'runner' })).secret,
      pollMs: 100,
      heartbeatMs: 200,
      killGraceMs: 300,
      stopGraceMs: 300,
      workDir: join(base, 'builds'),
      log: () => undefined,
    });
    try {
      await recordPush(t.server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'slow', {
        updates: [{ ref: 'refs/heads/main', before: ZERO_SHA, after: sha }],
        trigger: 'generic',
        sourceUrl: dir,
      });
      const id = (await eventually('the build', async () => (await t.client.listBuilds('slow')).builds.find((b) => b.commit === sha))).id;
      await eventually('the build command', async () => ((await t.client.getBuildLogs('slow', id)).lines.some((l) => l.text === 'started') ? true : undefined));
      assert.equal(hostProcessesWith(`sleep ${marker}`).length, 1);
      await runner.stop();
      const build = await t.client.getBuild('slow', id);
      assert.equal(build.state, 'failed');
      assert.equal(build.error, 'runner stopped');
      await eventually('the build command to die', async () => (hostProcessesWith(`sleep ${marker}`).length === 0 ? true : undefined), 5000);
      assert.deepEqual(await readdir(join(base, 'builds')), ['cache']);
    } finally {
      await runner.stop();
    }
  });
});
