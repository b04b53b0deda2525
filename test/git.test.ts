import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SlipwayClient } from '../src/protocol/client.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { backends } from './support/backends.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * Slipway's git server driven by the real git client: clone, fetch and push (fast-forward,
 * force, tag, delete) over smart HTTP, auth by token in the URL or a bearer header, and the
 * post-receive hook's report of the builds a push queued.
 */

/** Something the hook must never see: a secret in the server's own environment. */
const SERVER_SECRET = `leak-${randomBytes(8).toString('hex')}`;
process.env.SLIPWAY_TEST_SERVER_SECRET = SERVER_SECRET;

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the git client with a clean configuration: a throwaway HOME (no credential helpers or
 * user config), no system config and never a terminal prompt.
 */
function git(home: string, cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<GitResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
    ...extraEnv,
  };
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(result: Promise<GitResult>): Promise<GitResult> {
  const r = await result;
  assert.equal(r.code, 0, `git failed (${r.code}):\n${r.stderr}`);
  return r;
}

/** Refs the server has, as `ref → sha`. */
async function lsRemote(home: string, url: string): Promise<Map<string, string>> {
  const { stdout } = await ok(git(home, home, ['ls-remote', url]));
  return new Map(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const [sha, ref] = line.split('\t');
        return [ref ?? '', sha ?? ''];
      }),
  );
}

/** Lines the hook printed, as git shows them (`remote: …`). */
function remoteLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n|\r/)
    .filter((l) => l.startsWith('remote: '))
    .map((l) => l.slice('remote: '.length).trimEnd());
}

function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pids of live processes git started for repositories under `reposDir` (Linux: read from /proc). */
async function gitProcessesFor(reposDir: string): Promise<number[]> {
  const marker = `GIT_PROJECT_ROOT=${reposDir}\0`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch((err: unknown) => {
      // Gone meanwhile, or someone else's process.
      if (['ENOENT', 'ESRCH', 'EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) return '';
      throw err;
    });
    if (environ.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;

/** A work tree with one commit on main; returns its path. */
async function workRepo(home: string, name: string, files: Record<string, string>): Promise<string> {
  const dir = join(home, name);
  await mkdir(dir);
  await ok(git(home, dir, ['init', '--quiet', '-b', 'main']));
  await commit(home, dir, files, 'first');
  return dir;
}

async function commit(home: string, dir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  await ok(git(home, dir, ['add', '-A']));
  await ok(git(home, dir, ['commit', '--quiet', '-m', message]));
  return (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
}

const SITE_YAML = 'build:\n  command: mkdir -p dist && cp index.html dist/\n  output: dist\n';

for (const backend of backends) {
  describe(`git server on ${backend.name}`, () => {
    let t: TestServer;
    let home: string;
    let base: string;
    let viewerToken: string;
    let deployerToken: string;
    const urlFor = (project: string, token = ADMIN_TOKEN) => `http://x:${token}@127.0.0.1:${t.server.port}/git/${project}.git`;

    before(async () => {
      // No runner here: builds stay queued and the hook, given no time to wait, prints how to follow them.
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
      t = await startTestServer(backend, { runners: 0 });
      base = `http://127.0.0.1:${t.server.port}`;
      home = await mkdtemp(join(tmpdir(), 'slipway-git-'));
      await t.client.createProject('shop');
      viewerToken = (await t.client.createToken({ name: 'vera', role: 'viewer' })).secret;
      deployerToken = (await t.client.createToken({ name: 'dan', role: 'deployer' })).secret;
    });
    after(async () => {
      await t.dispose();
      await rm(home, { recursive: true, force: true });
    });

    test('a push stores the commit, queues its build and clones back identical', async () => {
      const dir = await workRepo(home, 'push-main', { 'index.html': '<h1>hello</h1>', 'slipway.yaml': SITE_YAML });
      const sha = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
      const push = await ok(git(home, dir, ['push', urlFor('shop', deployerToken), 'main']));
      const lines = remoteLines(push.stderr);
      assert.ok(lines.some((l) => l.includes(`Building ${sha.slice(0, 7)} (main)`)), lines.join('\n'));
      const builds = (await t.client.listBuilds('shop')).builds.filter((b) => b.commit === sha);
      assert.equal(builds.length, 1);
      const build = builds[0];
      assert.ok(build);
      assert.equal(build.state, 'queued');
      assert.equal(build.ref, 'refs/heads/main');
      assert.equal(build.trigger, 'git-push');
      // The event says who pushed, and the hook tells how to follow the build it did not wait for.
      assert.equal(build.createdBy, 'dan');
      assert.ok(lines.some((l) => l.includes(`slipway logs ${build.id} --follow --project shop`)), lines.join('\n'));

      const refs = await lsRemote(home, urlFor('shop'));
      assert.equal(refs.get('refs/heads/main'), sha);
      assert.equal(refs.get('HEAD'), sha);
      const clone = join(home, 'clone-main');
      await ok(git(home, home, ['clone', '--quiet', urlFor('shop', viewerToken), clone]));
      assert.equal(await readFile(join(clone, 'index.html'), 'utf8'), '<h1>hello</h1>');
      assert.equal((await ok(git(home, clone, ['rev-parse', 'HEAD']))).stdout.trim(), sha);

      // The same commit on another branch builds once: the push reports the existing build.
      const again = await ok(git(home, dir, ['push', urlFor('shop'), 'main:refs/heads/copy']));
      assert.ok(remoteLines(again.stderr).some((l) => l.includes(sha.slice(0, 7))));
      assert.equal((await t.client.listBuilds('shop')).builds.filter((b) => b.commit === sha).length, 1);
      const envs = (await t.client.listEnvironments('shop')).environments.map((e) => e.name);
      assert.ok(envs.includes('preview-main') && envs.includes('preview-copy'), envs.join(','));
    });

    test('the repository is the truth: a push from a head Slipway missed still moves the branch forward', async () => {
      await t.client.createProject('drift');
      const dir = await workRepo(home, 'drift', { 'index.html': 'one', 'slipway.yaml': SITE_YAML });
      await ok(git(home, dir, ['push', urlFor('drift'), 'main']));
      // The repository moves on without the hook telling Slipway (a hook that could not reach it).
      const missed = await commit(home, dir, { 'index.html': 'two' }, 'missed');
      await ok(git(home, home, ['--git-dir', join(t.dataDir, 'repos', 'drift.git'), 'fetch', '--quiet', dir, 'main:refs/heads/main']));
      const next = await commit(home, dir, { 'index.html': 'three' }, 'next');
      const push = remoteLines((await ok(git(home, dir, ['push', urlFor('drift'), 'main']))).stderr);
      assert.ok(!push.some((l) => l.includes('not moved')), push.join('\n'));
      const project = await t.server.deps.store.findProjectByName('drift');
      assert.equal((await t.server.deps.store.findBranch(project?.id ?? '', 'main'))?.head, next);
      const commits = (await t.client.listBuilds('drift')).builds.map((b) => b.commit);
      assert.ok(commits.includes(next) && !commits.includes(missed), commits.join(','));
    });

    test('a pack larger than git’s post buffer streams through (chunked, gzip negotiated by git)', async () => {
      const big = randomBytes(3 * 1024 * 1024).toString('base64');
      const dir = await workRepo(home, 'push-big', { 'big.txt': big, 'slipway.yaml': SITE_YAML });
      await t.client.createProject('big-site');
      await ok(git(home, dir, ['push', urlFor('big-site'), 'main']));
      const clone = join(home, 'clone-big');
      await ok(git(home, home, ['clone', '--quiet', urlFor('big-site'), clone]));
      assert.equal(await readFile(join(clone, 'big.txt'), 'utf8'), big);

      // A fetch by a clone with many commits of its own sends a long list of `have` lines,
      // which git gzips: http-backend must get the Content-Encoding to inflate it.
      for (let i = 0; i < 40; i++) await commit(home, clone, { [`local-${i}.txt`]: String(i) }, `local ${i}`);
      const upstream = await commit(home, dir, { 'new.txt': 'new' }, 'upstream');
      await ok(git(home, dir, ['push', urlFor('big-site'), 'main']));
      const fetched = await ok(git(home, clone, ['fetch', 'origin'], { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' }));
      assert.match(fetched.stderr, /Send header: Content-Encoding: gzip/);
      assert.equal((await ok(git(home, clone, ['rev-parse', 'origin/main']))).stdout.trim(), upstream);
    });

    test('a bearer header works as well as the token in the URL', async () => {
      const url = `${base}/git/shop.git`;
      const refs = await ok(git(home, home, ['-c', `http.extraHeader=Authorization: Bearer ${viewerToken}`, 'ls-remote', url]));
      assert.match(refs.stdout, /refs\/heads\/main/);
    });

    test('no token or a bad token gets 401 with a Basic challenge, so git asks for credentials', async () => {
      const anonymous = await rawGet(t.server.port, '/git/shop.git/info/refs?service=git-upload-pack');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Slipway"');
      const wrong = await rawGet(t.server.port, '/git/shop.git/info/refs?service=git-upload-pack', { authorization: basic('slw_nope') });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers['www-authenticate'], 'Basic realm="Slipway"');
      const cloned = await git(home, home, ['clone', `${base}/git/shop.git`, join(home, 'clone-anon')]);
      assert.notEqual(cloned.code, 0);
      assert.match(cloned.stderr, /terminal prompts disabled|Authentication failed/);
      // A token given as the user name with no password (as GitHub allows) is accepted too.
      const asUser = await rawGet(t.server.port, '/git/shop.git/info/refs?service=git-upload-pack', {
        authorization: `Basic ${Buffer.from(`${viewerToken}:`).toString('base64')}`,
      });
      assert.equal(asUser.status, 200);
      assert.equal(asUser.headers['content-type'], 'application/x-git-upload-pack-advertisement');
    });

    test('a viewer can fetch but not push; an unknown project is 404', async () => {
      const dir = await workRepo(home, 'push-viewer', { 'a.txt': 'a' });
      const push = await git(home, dir, ['push', urlFor('shop', viewerToken), 'main:refs/heads/viewer']);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /403/);
      assert.match(push.stderr, /FORBIDDEN/);
      const refused = await rawGet(t.server.port, '/git/shop.git/info/refs?service=git-receive-pack', { authorization: basic(viewerToken) });
      assert.equal(refused.status, 403);
      assert.equal((await lsRemote(home, urlFor('shop', viewerToken))).has('refs/heads/viewer'), false);

      const missing = await git(home, home, ['ls-remote', urlFor('nope')]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /not found/);
      const invalid = await rawGet(t.server.port, '/git/..%2F..%2Fetc.git/info/refs?service=git-upload-pack', { authorization: basic(ADMIN_TOKEN) });
      assert.equal(invalid.status, 404);
      const dumb = await rawGet(t.server.port, '/git/shop.git/info/refs', { authorization: basic(ADMIN_TOKEN) });
      assert.equal(dumb.status, 403);
    });

    test('force-push, tag push and branch delete all reach the repository and the hook', async () => {
      await t.client.createProject('refs');
      const dir = await workRepo(home, 'push-refs', { 'index.html': 'v1', 'slipway.yaml': SITE_YAML });
      await ok(git(home, dir, ['push', urlFor('refs'), 'main']));

      // Rewrite history and force it.
      await writeFile(join(dir, 'index.html'), 'v1 amended');
      await ok(git(home, dir, ['commit', '--quiet', '--all', '--amend', '-m', 'amended']));
      const amended = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
      const refused = await git(home, dir, ['push', urlFor('refs'), 'main']);
      assert.notEqual(refused.code, 0, 'a non-fast-forward push without --force is refused by git');
      const forced = await ok(git(home, dir, ['push', '--force', urlFor('refs'), 'main']));
      assert.ok(remoteLines(forced.stderr).some((l) => l.includes(`Building ${amended.slice(0, 7)} (main)`)), forced.stderr);
      assert.equal((await lsRemote(home, urlFor('refs'))).get('refs/heads/main'), amended);

      // A tag on a new commit builds once; no environment follows a tag.
      const tagged = await commit(home, dir, { 'index.html': 'v2' }, 'v2');
      await ok(git(home, dir, ['tag', '-a', 'v2', '-m', 'release v2']));
      const tagPush = await ok(git(home, dir, ['push', urlFor('refs'), 'v2']));
      assert.ok(remoteLines(tagPush.stderr).some((l) => l.includes(`Building ${tagged.slice(0, 7)} (tag v2)`)), tagPush.stderr);
      const remote = await lsRemote(home, urlFor('refs'));
      assert.equal(remote.get('refs/tags/v2^{}'), tagged);
      const tagBuild = (await t.client.listBuilds('refs')).builds.find((b) => b.commit === tagged);
      assert.equal(tagBuild?.ref, 'refs/tags/v2');

      // A branch, then its deletion: the preview is retired.
      await ok(git(home, dir, ['push', urlFor('refs'), 'HEAD:refs/heads/feature/Blue']));
      const deleted = await ok(git(home, dir, ['push', urlFor('refs'), '--delete', 'feature/Blue']));
      assert.ok(remoteLines(deleted.stderr).includes('-----> Retired preview preview-feature-blue'), deleted.stderr);
      assert.equal((await lsRemote(home, urlFor('refs'))).has('refs/heads/feature/Blue'), false);
      const preview = (await t.client.listEnvironments('refs')).environments.find((e) => e.name === 'preview-feature-blue');
      assert.notEqual(preview?.retiredAt ?? null, null);
    });

    test('git and its hooks run without the server’s secrets or the pusher’s token', async () => {
      await t.client.createProject('envcheck');
      // A pre-receive hook beside Slipway's own prints the environment git gives hooks.
      const hooks = join(t.dataDir, 'repos', '.hooks');
      await writeFile(join(hooks, 'pre-receive'), '#!/bin/sh\ncat >/dev/null\nenv | sed "s/^/env: /"\n');
      await chmod(join(hooks, 'pre-receive'), 0o755);
      try {
        const dir = await workRepo(home, 'push-env', { 'a.txt': 'a' });
        const push = await ok(git(home, dir, ['push', urlFor('envcheck', deployerToken), 'main']));
        const env = remoteLines(push.stderr).filter((l) => l.startsWith('env: '));
        assert.ok(env.some((l) => l.startsWith('env: SLIPWAY_PUSH_TOKEN=slp_push_')), push.stderr);
        assert.ok(!push.stderr.includes(SERVER_SECRET), 'a server environment variable reached git');
        assert.ok(!push.stderr.includes(deployerToken), 'the pusher’s token reached git');
        assert.ok(!push.stderr.includes(ADMIN_TOKEN), 'the admin token reached git');

        // The hook's endpoints listen on loopback apart from the public port, and take nothing
        // but the token of a push in flight: the one seen above died with its push.
        const hookUrl = env.find((l) => l.startsWith('env: SLIPWAY_HOOK_URL='))?.slice('env: SLIPWAY_HOOK_URL='.length);
        const pushToken = env.find((l) => l.startsWith('env: SLIPWAY_PUSH_TOKEN='))?.slice('env: SLIPWAY_PUSH_TOKEN='.length);
        assert.ok(hookUrl !== undefined && pushToken !== undefined, push.stderr);
        assert.match(hookUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.notEqual(new URL(hookUrl).port, String(t.server.port));
        // An empty update list is invalid, so a token still accepted would get 400, never a write.
        const body = JSON.stringify({ updates: [] });
        const statusWith = async (token: string) => {
          const res = await fetch(`${hookUrl}/internal/git/pushes`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
          return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
        };
        // git has its whole answer a moment before http-backend's exit ends the push on the server.
        let expired = await statusWith(pushToken);
        for (let i = 0; i < 50 && expired.status !== 401; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          expired = await statusWith(pushToken);
        }
        assert.deepEqual(expired, { status: 401, code: 'UNAUTHENTICATED' });
        for (const token of [ADMIN_TOKEN, deployerToken]) assert.deepEqual(await statusWith(token), { status: 401, code: 'UNAUTHENTICATED' });
        assert.equal((await fetch(`${base}/internal/git/pushes`, { method: 'POST', body })).status, 404);
      } finally {
        await rm(join(hooks, 'pre-receive'), { force: true });
      }
    });

  });
}

describe('git push builds and deploys (in-process runner)', () => {
  let t: TestServer;
  let home: string;

  before(async () => {
    process.env.SLIPWAY_PUSH_WAIT_SECONDS = '120';
    const first = backends[0];
    assert.ok(first);
    t = await startTestServer(first, { runners: 1 });
    home = await mkdtemp(join(tmpdir(), 'slipway-git-'));
    await t.client.createProject('site');
  });
  after(async () => {
    await t.dispose();
    await rm(home, { recursive: true, force: true });
  });

  test('push output shows the build log and the deployment URL, like Heroku', async () => {
    const dir = await workRepo(home, 'site', { 'index.html': '<h1>pushed</h1>', 'slipway.yaml': 'build:\n  command: echo building-now && mkdir -p dist && cp index.html dist/\n  output: dist\n' });
    const sha = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
    const url = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/site.git`;
    const push = await ok(git(home, dir, ['push', url, 'main']));
    const lines = remoteLines(push.stderr);
    assert.ok(lines.includes(`-----> Building ${sha.slice(0, 7)} (main)…`), lines.join('\n'));
    assert.ok(lines.some((l) => l.trim() === 'building-now'), lines.join('\n'));
    const deployed = lines.find((l) => l.startsWith('-----> Deployed: '));
    assert.match(deployed ?? lines.join('\n'), new RegExp(`^-----> Deployed: http://dpl-[a-z0-9]+--site\\.localhost:${t.server.port}/$`));
    const build = (await t.client.listBuilds('site')).builds.find((b) => b.commit === sha);
    assert.equal(build?.state, 'succeeded');
    // The branch's preview followed the build, and the output says where it is live.
    assert.ok(lines.includes(`       preview-main: http://preview-main--site.localhost:${t.server.port}/`), lines.join('\n'));

    // A failing build says so, and the push itself still succeeds.
    await commit(home, dir, { 'slipway.yaml': 'build:\n  command: echo about-to-fail && exit 3\n  output: dist\n' }, 'break it');
    const failed = await ok(git(home, dir, ['push', url, 'main']));
    const failedLines = remoteLines(failed.stderr);
    assert.ok(failedLines.some((l) => l.startsWith('-----> Build failed: ')), failedLines.join('\n'));
    // The preview that follows main did not move, and the output says why.
    assert.ok(failedLines.includes('       preview-main: not moved: build failed'), failedLines.join('\n'));
  });

  test('a commit built before, pushed to a new branch, prints the preview it created; a locked one says why it did not move', async () => {
    const dir = await workRepo(home, 'again', { 'index.html': '<h1>again</h1>', 'slipway.yaml': SITE_YAML });
    const sha = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
    await t.client.createProject('again');
    const url = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/again.git`;
    const first = remoteLines((await ok(git(home, dir, ['push', url, 'main']))).stderr);
    assert.ok(first.some((l) => l.startsWith('-----> Deployed: ')), first.join('\n'));

    const copy = remoteLines((await ok(git(home, dir, ['push', url, 'main:refs/heads/copy']))).stderr);
    assert.ok(copy.includes(`-----> ${sha.slice(0, 7)} (copy) was built before`), copy.join('\n'));
    assert.ok(copy.includes(`       preview-copy: http://preview-copy--again.localhost:${t.server.port}/`), copy.join('\n'));

    // A lock holds preview-held; the push says so, with the lock's owner and reason.
    await t.client.lock('again', 'preview-held', { reason: 'demo at noon' });
    const held = remoteLines((await ok(git(home, dir, ['push', url, 'main:refs/heads/held']))).stderr);
    assert.ok(held.includes('       preview-held: not moved: preview-held is locked by admin: demo at noon'), held.join('\n'));
  });
});

describe('a push in flight when the server stops', () => {
  let t: TestServer;
  let home: string;

  before(async () => {
    process.env.SLIPWAY_PUSH_WAIT_SECONDS = '600';
    const first = backends[0];
    assert.ok(first);
    t = await startTestServer(first, { runners: 0 });
    home = await mkdtemp(join(tmpdir(), 'slipway-git-'));
    await t.client.createProject('stopping');
  });
  after(async () => {
    await t.dispose();
    await rm(home, { recursive: true, force: true });
  });

  test('is recorded, ends cleanly with a hint, and leaves no git process behind', async () => {
    const dir = await workRepo(home, 'stopping', { 'a.txt': 'a' });
    const sha = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
    const url = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/stopping.git`;
    const child = spawn('git', ['push', url, 'main'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The hook is following a build that no runner will pick up.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('Building ')) resolve();
      });
      child.on('error', reject);
      void exited.then(() => reject(new Error(`git push ended before the hook followed a build:\n${stderr}`)));
    });
    if (process.platform === 'linux') assert.notDeepEqual(await gitProcessesFor(join(t.dataDir, 'repos')), []);
    const builds = (await t.client.listBuilds('stopping')).builds;
    assert.deepEqual(
      builds.map((b) => b.commit),
      [sha],
    );
    await t.server.close();
    if (process.platform === 'linux') assert.deepEqual(await gitProcessesFor(join(t.dataDir, 'repos')), []);
    assert.equal(await exited, 0, stderr);
    assert.ok(remoteLines(stderr).some((l) => l.startsWith('-----> Slipway is shutting down')), stderr);
    assert.ok(remoteLines(stderr).some((l) => l.includes(`slipway logs ${builds[0]?.id ?? '?'} --follow --project stopping`)), stderr);
    // The server is closed already; dispose() then only drops the database and temp dirs.
    t.server.close = async () => {};
  });
});

for (const backend of backends) {
  describe(`pushes the server never heard of, on ${backend.name}`, () => {
    test('are recorded at the next start: new and fast-forwarded branches and unbuilt tags, never a step back', async () => {
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
      const db = await backend.create();
      const dataDir = await mkdtemp(join(tmpdir(), 'slipway-reconcile-'));
      const home = await mkdtemp(join(tmpdir(), 'slipway-git-'));
      const start = () => startServer({ dataDir, port: 0, databaseUrl: db.url, adminToken: ADMIN_TOKEN, quiet: true, runners: 0, allowLocalRepos: true });
      let server = await start();
      try {
        const clientOf = (running: RunningServer) => new SlipwayClient({ url: `http://127.0.0.1:${running.port}`, token: ADMIN_TOKEN });
        let client = clientOf(server);
        await client.createProject('site');
        const url = `http://x:${ADMIN_TOKEN}@127.0.0.1:${server.port}/git/site.git`;
        const dir = await workRepo(home, 'site', { 'index.html': 'one', 'slipway.yaml': SITE_YAML });
        const first = (await ok(git(home, dir, ['rev-parse', 'HEAD']))).stdout.trim();
        await ok(git(home, dir, ['push', url, 'main', 'main:refs/heads/gone', 'main:refs/heads/rewound']));
        await server.close();

        // While no server runs, refs move in the repository without the hook reporting them —
        // what a crash between git's ref update and the hook leaves behind.
        const second = await commit(home, dir, { 'index.html': 'two' }, 'second');
        await ok(git(home, dir, ['tag', '-a', '-m', 'release', 'v1', second]));
        await ok(git(home, dir, ['checkout', '--quiet', '-b', 'feature']));
        const third = await commit(home, dir, { 'index.html': 'three' }, 'third');
        await ok(git(home, dir, ['checkout', '--quiet', '--orphan', 'unrelated']));
        const sideways = await commit(home, dir, { 'index.html': 'unrelated' }, 'unrelated');
        const bare = join(dataDir, 'repos', 'site.git');
        await ok(git(home, home, ['--git-dir', bare, 'fetch', '--quiet', dir, 'main:refs/heads/main', 'feature:refs/heads/feature', 'refs/tags/v1:refs/tags/v1']));
        await ok(git(home, home, ['--git-dir', bare, 'fetch', '--quiet', '--force', dir, `${sideways}:refs/heads/rewound`]));
        await ok(git(home, home, ['--git-dir', bare, 'update-ref', '-d', 'refs/heads/gone']));

        server = await start();
        client = clientOf(server);
        const { store } = server.deps;
        const project = await store.findProjectByName('site');
        assert.ok(project);
        const builds = (await client.listBuilds('site')).builds;
        assert.deepEqual(builds.map((b) => b.commit).sort(), [first, second, third].sort());
        assert.equal((await store.findBranch(project.id, 'main'))?.head, second, 'main moved forward');
        assert.equal((await store.findBranch(project.id, 'feature'))?.head, third, 'the new branch is recorded');
        assert.deepEqual((await store.findCommit(project.id, third))?.parents, [second], 'the commits found at start join the commit graph');
        assert.equal((await store.findBranch(project.id, 'rewound'))?.head, first, 'a sideways move is not taken');
        assert.equal((await store.findBranch(project.id, 'gone'))?.head, first, 'a branch missing from the repository is not deleted');
        const envs = (await client.listEnvironments('site')).environments;
        assert.ok(envs.some((e) => e.name === 'preview-feature'));
        assert.equal(envs.find((e) => e.name === 'preview-gone')?.retiredAt ?? null, null);
        const pushes = (await client.listEvents({ project: 'site', limit: 50 })).events.filter((e) => e.action === 'git.push');
        assert.equal(pushes.length, 2, 'the push the hook reported, and the one found at start');
        assert.equal(pushes[0]?.actor, 'slipway');

        // Nothing is left to find: a further start records nothing more.
        await server.close();
        server = await start();
        client = clientOf(server);
        assert.equal((await client.listEvents({ project: 'site', limit: 50 })).events.filter((e) => e.action === 'git.push').length, 2);
      } finally {
        await server.close();
        await db.dispose();
        await rm(dataDir, { recursive: true, force: true });
        await rm(home, { recursive: true, force: true });
      }
    });
  });
}
