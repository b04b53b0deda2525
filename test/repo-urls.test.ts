import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isForbiddenAddress } from '../src/core/repo-url.ts';
import { startRunner } from '../src/runner/runner.ts';
import { recordPush, ZERO_SHA } from '../src/server/services/pushes.ts';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { createTestRepo } from './support/git-repo.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const HOSTILE = [
  'file:///etc',
  '/var/lib/slipway',
  './.slipway',
  'ext::sh -c touch% /tmp/slipway-pwned',
  'ssh://git@github.com/acme/shop.git',
  'git@github.com:acme/shop.git',
  'git://github.com/acme/shop.git',
  'http://127.0.0.1:5432/',
  'http://127.1/x.git',
  'http://2130706433/x.git',
  'http://0x7f000001/x.git',
  'http://0.0.0.0:7070/git/shop.git',
  'http://localhost:7070/git/shop.git',
  'http://[::1]/x.git',
  'http://[::ffff:127.0.0.1]/x.git',
  'http://169.254.169.254/latest/meta-data/',
  'http://10.0.0.1/x.git',
  'http://[fd00::1]/x.git',
  'https://user:ghp_token@192.168.0.10/x.git',
];

for (const backend of backends) {
  describe(`repository URLs on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend, { allowLocalRepos: false });
    });
    after(() => t.dispose());

    test('a project may not build from a local path, another scheme or a private host: REPO_URL_FORBIDDEN, nothing saved', async () => {
      for (const repo of HOSTILE) {
        const err = await rejectsWithCode(t.client.createProject('evil', { repo }), 'REPO_URL_FORBIDDEN', 400);
        assert.doesNotMatch(err.message, /ghp_token/);
      }
      assert.deepEqual((await t.client.listProjects()).projects, []);
      assert.deepEqual((await t.client.listEvents()).events.filter((e) => e.action === 'project.create'), []);
    });

    test('a host name that resolves to a private address is refused when the project is saved', async (t2) => {
      const name = hostname().toLowerCase();
      const addresses = await lookup(name, { all: true }).catch(() => []);
      if (addresses.length === 0 || !addresses.some((a) => isForbiddenAddress(a.address))) {
        t2.skip(`${name} does not resolve to a private address here`);
        return;
      }
      await rejectsWithCode(t.client.createProject('rebind', { repo: `http://${name}:7070/git/shop.git` }), 'REPO_URL_FORBIDDEN');
    });

    test('public https URLs are accepted (a name that does not resolve yet is checked again at fetch time)', async () => {
      const project = await t.client.createProject('shop', { repo: 'https://github.com/acme/shop.git' });
      assert.equal(project.repo, 'https://github.com/acme/shop');
    });

    test('--allow-local-repos lets local repositories in', async () => {
      const local = await startTestServer(backend, { allowLocalRepos: true });
      try {
        await local.client.createProject('local', { repo: 'file:///srv/git/shop.git' });
        await local.client.createProject('loopback', { repo: 'http://127.0.0.1:9/x.git' });
        await rejectsWithCode(local.client.createProject('ext', { repo: 'ext::sh -c id' }), 'REPO_URL_FORBIDDEN');
      } finally {
        await local.dispose();
      }
    });
  });
}

describe('a runner without --allow-local-repos', () => {
  test('refuses to fetch a project saved with a local repository: the build fails with REPO_URL_FORBIDDEN', async () => {
    // The server allowed the URL when it was saved (or an older release did); the runner checks again.
    const t = await startTestServer(backends[0]!, { allowLocalRepos: true });
    const base = await mkdtemp(join(tmpdir(), 'slipway-repo-urls-'));
    const runner = startRunner({
      serverUrl: `http://127.0.0.1:${t.server.port}`,
      token: (await t.client.createToken({ name: 'runner', role: 'runner' })).secret,
      pollMs: 100,
      waitSeconds: 1,
      workDir: join(base, 'builds'),
      log: () => undefined,
    });
    try {
      const repo = await createTestRepo(join(base, 'repo'));
      await t.client.createProject('local', { repo: repo.remote });
      const { sha, branch } = await repo.commit({ 'index.html': 'hi' });
      await recordPush(t.server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'local', {
        updates: [{ ref: `refs/heads/${branch}`, before: ZERO_SHA, after: sha }],
        trigger: 'generic',
        sourceUrl: repo.remote,
      });
      t.server.deps.buildsQueued.notify();
      const deadline = Date.now() + 30_000;
      let build = (await t.client.listBuilds('local')).builds[0];
      while ((build === undefined || build.state === 'queued' || build.state === 'running') && Date.now() < deadline) {
        await sleep(100);
        build = (await t.client.listBuilds('local')).builds[0];
      }
      assert.equal(build?.state, 'failed');
      assert.match(build?.error ?? '', /^REPO_URL_FORBIDDEN: /);
    } finally {
      await runner.stop({ graceMs: 0 });
      await t.dispose();
      await rm(base, { recursive: true, force: true });
    }
  });
});
