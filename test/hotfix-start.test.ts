import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { gitOk } from './support/git-client.ts';
import { commit, deployCommit } from './support/pipeline.ts';
import { ADMIN_TOKEN, deployFiles, startTestServer, type TestServer } from './support/server.ts';

/** `POST /projects/:project/hotfixes`: where a hotfix starts, what it refuses, and the commands for code that lives elsewhere. */
for (const backend of backends) {
  describe(`hotfix start on ${backend.name}`, () => {
    let t: TestServer;
    let base: string;
    before(async () => {
      // No runner builds the pushes here: the push must not wait for its build.
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
      t = await startTestServer(backend);
      base = await mkdtemp(join(tmpdir(), 'slipway-hotfix-start-'));
    });
    after(async () => {
      await t.dispose();
      await rm(base, { recursive: true, force: true });
    });

    /** A commit pushed to the project's repository in Slipway (no runner builds it), its sha. */
    async function pushMain(project: string): Promise<string> {
      const work = join(base, project);
      await mkdir(work);
      await gitOk(base, work, ['init', '-q', '-b', 'main']);
      await writeFile(join(work, 'index.html'), project);
      await gitOk(base, work, ['add', '-A']);
      await gitOk(base, work, ['commit', '-q', '-m', 'first']);
      await gitOk(base, work, ['push', '-q', `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/${project}.git`, 'main']);
      return (await gitOk(base, work, ['rev-parse', 'HEAD'])).stdout.trim();
    }

    test('refusals: nothing live, no commit, a name git would trip over, production that cannot be told, a viewer; each changes nothing', async () => {
      await t.client.createProject('bare');
      await rejectsWithCode(t.client.startHotfix('bare'), 'NOTHING_LIVE', 409);
      await rejectsWithCode(t.client.startHotfix('ghost'), 'PROJECT_NOT_FOUND', 404);
      const uploaded = await deployFiles(t.client, 'bare', { 'index.html': 'no commit' });
      await t.client.promote('bare', 'production', { deployment: uploaded.id });
      const noCommit = await rejectsWithCode(t.client.startHotfix('bare'), 'NOTHING_LIVE', 409);
      assert.match(noCommit.message, /names no commit/);

      await t.client.createProject('twins');
      const sha = commit('twins');
      const built = await deployCommit(t.client, 'twins', sha);
      await t.client.promote('twins', 'eu', { deployment: built.id });
      await t.client.promote('twins', 'us', { deployment: built.id });
      await rejectsWithCode(t.client.startHotfix('twins'), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.startHotfix('twins', { environment: 'asia' }), 'ENVIRONMENT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.startHotfix('twins', { environment: 'Bad--Env' }), 'INVALID_NAME', 400);
      for (const name of ['../main', 'a b', '$(reboot)', '-f', 'x.lock', '.', 'ü', 'a'.repeat(101)]) {
        const err = await t.client.startHotfix('twins', { environment: 'eu', name }).then(
          () => assert.fail(`${name} was accepted`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ApiError && (err.code === 'INVALID_NAME' || err.code === 'INVALID_REQUEST'), `${name}: ${String(err)}`);
      }
      const viewer = t.clientWith((await t.client.createToken({ name: 'onlooker', role: 'viewer' })).secret);
      await rejectsWithCode(viewer.startHotfix('twins', { environment: 'eu' }), 'FORBIDDEN', 403);
      const events = (await t.client.listEvents({ project: 'twins' })).events;
      assert.ok(!events.some((e) => e.action === 'hotfix.start'), 'nothing was recorded');
    });

    test("an external repository gets the git commands; Slipway's own repository gets the branch, once", async () => {
      const outside = join(base, 'outside.git');
      await gitOk(base, base, ['init', '-q', '--bare', outside]);
      await t.client.createProject('elsewhere', { repo: outside });
      const sha = commit('elsewhere');
      const built = await deployCommit(t.client, 'elsewhere', sha);
      await t.client.promote('elsewhere', 'production', { deployment: built.id });
      const external = await t.client.startHotfix('elsewhere', { name: 'hotfix/login-fix' });
      assert.equal(external.mode, 'commands');
      assert.equal(external.branch, 'hotfix/login-fix');
      assert.equal(external.commit, sha);
      assert.deepEqual(external.commands, ['git fetch origin', `git switch -c hotfix/login-fix ${sha}`, '# commit the fix, then:', 'git push -u origin hotfix/login-fix']);
      const named = await t.client.startHotfix('elsewhere');
      assert.equal(named.branch, `hotfix/${new Date().toISOString().slice(0, 10)}-${sha.slice(0, 7)}`);

      await t.client.createProject('own');
      const head = await pushMain('own');
      const deployment = await deployCommit(t.client, 'own', head);
      await t.client.promote('own', 'production', { deployment: deployment.id });
      // Two at once: git's compare-and-set on the ref lets one make it.
      const results = await Promise.allSettled([t.client.startHotfix('own', { name: 'race' }), t.client.startHotfix('own', { name: 'race' })]);
      const made = results.filter((r) => r.status === 'fulfilled');
      assert.equal(made.length, 1, JSON.stringify(results));
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(refused?.status === 'rejected' && refused.reason instanceof ApiError && refused.reason.code === 'HOTFIX_EXISTS', JSON.stringify(refused));
      const hotfix = made[0]?.status === 'fulfilled' ? made[0].value : undefined;
      assert.equal(hotfix?.mode, 'created');
      assert.equal(hotfix?.commit, head);
      const listed = await gitOk(base, base, ['ls-remote', `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/own.git`, 'refs/heads/hotfix/race']);
      assert.equal(listed.stdout.split('\t')[0], head);
      const events = (await t.client.listEvents({ project: 'own' })).events.filter((e) => e.action === 'hotfix.start');
      assert.equal(events.length, 1);
      assert.equal(events[0]?.target, 'hotfix/race');
      assert.equal((await t.client.getEnvironment('own', 'production')).deployment, deployment.id, 'nothing moved');
    });
  });
}
