import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Deployment } from '../src/protocol/api.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { deployFiles, startTestServer, type TestServer } from './support/server.ts';

/**
 * GET /api/v1/projects/:project/deployments?q=&before=: deployments found by branch, commit,
 * author, message or id, a page at a time, on both backends. A search is words, never a
 * pattern: `%`, `_` and `\` match themselves, quotes are text, and a hostile search over a few
 * thousand deployments answers as fast as a plain one.
 */

const ADA = 'Ada Lovelace <ada@example.com>';
const GRACE = 'Grace Hopper <grace@example.com>';

for (const backend of backends) {
  describe(`deployment search on ${backend.name}`, () => {
    let t: TestServer;
    const d: Record<string, Deployment> = {};
    const ids = (list: { deployments: Deployment[] }) => list.deployments.map((x) => x.id);
    const search = async (q: string, limit = 50) => ids(await t.client.listDeployments('shop', { q, limit }));

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('other');
      const deploy = async (name: string, meta: Parameters<typeof deployFiles>[3]) => (d[name] = await deployFiles(t.client, 'shop', { 'index.html': name }, meta));
      await deploy('checkout', { commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', branch: 'main', author: ADA, message: 'Add the checkout page\n\nWith a body line about Payments' });
      await deploy('percent', { commit: 'b1b2c3d4e5f60718293a4b5c6d7e8f9012345678', branch: 'feature/50%-off', author: GRACE, message: 'Show 50% off_in the cart' });
      await deploy('quote', { commit: 'c1b2c3d4e5f60718293a4b5c6d7e8f9012345678', branch: 'main', author: GRACE, message: `Escape "quotes" and 'apostrophes' and back\\slashes` });
      await deploy('upload', undefined);
      await deployFiles(t.client, 'other', { 'index.html': 'ada' }, { branch: 'main', author: ADA, message: 'Add the checkout page' });
    });
    after(() => t.dispose());

    test('finds deployments by author, branch, commit, message and id, case aside, newest first', async () => {
      assert.deepEqual(await search('ada'), [d.checkout?.id], 'by author name, only in its own project');
      assert.deepEqual(await search('GRACE@EXAMPLE'), [d.quote?.id, d.percent?.id], 'by author email, in any case');
      assert.deepEqual(await search('feature/50'), [d.percent?.id], 'by branch');
      assert.deepEqual(await search('a1b2c3d'), [d.checkout?.id], 'by a commit prefix');
      assert.deepEqual(await search('payments'), [d.checkout?.id], 'by a word of the message body');
      assert.deepEqual(await search(d.upload?.id ?? ''), [d.upload?.id], 'by id');
      assert.deepEqual(await search('main grace'), [d.quote?.id], 'every word must be found (in any field)');
      assert.deepEqual(await search('   '), ids(await t.client.listDeployments('shop')), 'a blank search lists everything');
      assert.deepEqual(await search('nothing-like-this'), []);
    });

    test('a search is words, not a pattern: % _ \\ and quotes match themselves, and nothing else', async () => {
      assert.deepEqual(await search('%'), [d.percent?.id]);
      assert.deepEqual(await search('50%-'), [d.percent?.id]);
      assert.deepEqual(await search('_'), [d.percent?.id], '_ is not "any character"');
      assert.deepEqual(await search('%%%'), []);
      assert.deepEqual(await search('\\'), [d.quote?.id], 'a backslash is a backslash');
      assert.deepEqual(await search('back\\slashes'), [d.quote?.id]);
      assert.deepEqual(await search('"quotes"'), [d.quote?.id]);
      assert.deepEqual(await search("'apostrophes'"), [d.quote?.id]);
      assert.deepEqual(await search("' OR 1=1 --"), []);
      assert.deepEqual(await search("x') OR ('1'='1"), []);
      assert.deepEqual(await search('*'), []);
      assert.deepEqual(await search('$.branch'), []);
      assert.equal((await search('\u0000\t\u007f')).length, 4, 'control characters are spaces');
      // Every deployment is still there, whatever was searched.
      assert.equal((await t.client.listDeployments('shop')).deployments.length, 4);
      await rejectsWithCode(t.client.listDeployments('shop', { q: 'x'.repeat(201) }), 'INVALID_REQUEST', 400);
    });

    test('pages with before=<the last id of the page above>, with or without a search; an unknown or foreign cursor is not found', async () => {
      const all = ids(await t.client.listDeployments('shop'));
      const first = ids(await t.client.listDeployments('shop', { limit: 2 }));
      const second = ids(await t.client.listDeployments('shop', { limit: 2, before: first.at(-1) ?? '' }));
      const third = ids(await t.client.listDeployments('shop', { limit: 2, before: second.at(-1) ?? '' }));
      assert.deepEqual([...first, ...second, ...third], all);
      assert.deepEqual(third, []);
      const graceFirst = ids(await t.client.listDeployments('shop', { q: 'grace', limit: 1 }));
      assert.deepEqual(graceFirst, [d.quote?.id]);
      assert.deepEqual(ids(await t.client.listDeployments('shop', { q: 'grace', limit: 1, before: graceFirst[0] ?? '' })), [d.percent?.id]);
      await rejectsWithCode(t.client.listDeployments('shop', { before: 'dpl-doesnotexist' }), 'DEPLOYMENT_NOT_FOUND', 404);
      const foreign = (await t.client.listDeployments('other')).deployments[0]?.id ?? '';
      await rejectsWithCode(t.client.listDeployments('shop', { before: foreign }), 'DEPLOYMENT_NOT_FOUND', 404);
    });

    test('thousands of deployments made in the same millisecond page without loss, and a hostile search over them stays fast', async () => {
      await t.client.createProject('many');
      const store = t.server.deps.store;
      const count = 3000;
      {
        const project = await store.findProjectByName('many');
        assert.ok(project);
        const at = new Date().toISOString();
        await store.transaction(async (tx) => {
          for (let i = 0; i < count; i++) {
            await tx.insertDeployment({
              id: `dpl-many${String(i).padStart(5, '0')}`,
              projectId: project.id,
              manifestDigest: 'f'.repeat(64),
              fileCount: 1,
              totalBytes: 1,
              meta: { branch: `feature/${i}`, commit: i.toString(16).padStart(40, '0'), author: i % 2 ? ADA : GRACE, message: `Change number ${i} of ${count}` },
              createdAt: at,
              createdBy: 'admin',
            });
          }
        });
      }
      const seen: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = ids(await t.client.listDeployments('many', { limit: 200, ...(before === undefined ? {} : { before }) }));
        if (page.length === 0) break;
        seen.push(...page);
        before = page.at(-1);
      }
      assert.equal(seen.length, count);
      assert.equal(new Set(seen).size, count, 'no deployment twice');

      const plainStarted = performance.now();
      assert.deepEqual(await search('nothing-like-this'), []);
      const plain = performance.now() - plainStarted;
      const hostile = ['%_%_%_%_%_%_%_%_', '\\%\\_\\\\', '%'.repeat(30), '_'.repeat(30), "')--", '%a%b%c%d%e%f%', 'ignored-7th-word'].join(' ');
      assert.ok(hostile.length <= 200);
      const started = performance.now();
      const found = ids(await t.client.listDeployments('many', { q: hostile }));
      const ms = performance.now() - started;
      assert.deepEqual(found, []);
      assert.ok(ms < 2_000, `a hostile search over ${count} deployments answered in ${ms.toFixed(0)} ms (a plain one in ${plain.toFixed(0)} ms)`);
      assert.deepEqual(ids(await t.client.listDeployments('many', { q: 'change 2999 ada' })), ['dpl-many02999']);
    });
  });
}
