import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BlobCollection, Blobs } from '../src/blobs/blobs.ts';
import { FsBlobs } from '../src/blobs/fs/fs-blobs.ts';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import { ApiError } from '../src/protocol/client.ts';
import type { Deployment } from '../src/protocol/api.ts';
import { newId } from '../src/server/services/ids.ts';
import { collectProjectBlobs } from '../src/server/services/project-deletion.ts';
import type { BuildRow } from '../src/store/store.ts';
import { backends } from './support/backends.ts';
import { ADMIN_TOKEN, deployFiles, edgeGet, hostOf, sha256, startTestServer, type TestServer } from './support/server.ts';

/**
 * Deleting a project: admin only, confirmed by its name, audited; the edge stops serving its
 * deployments, environments and domains at once; its name is free again; blobs only it used
 * are deleted while blobs another project uses stay — also when an upload of another project
 * races the collection, and across a crash in the middle of it.
 */

async function rejectsWith(promise: Promise<unknown>, code: string, status?: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code);
    if (status !== undefined) assert.equal(err.status, status);
    return true;
  });
}

function blobPath(dataDir: string, digest: string): string {
  return join(dataDir, 'blobs', 'sha256', digest.slice(0, 2), digest);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function queuedBuild(projectId: string, commit: string): BuildRow {
  return {
    id: newId('bld'),
    projectId,
    commitSha: commit,
    ref: 'refs/heads/main',
    branch: 'main',
    state: 'queued',
    sourceUrl: null,
    trigger: 'git-push',
    createdAt: new Date().toISOString(),
    createdBy: 'test',
    startedAt: null,
    finishedAt: null,
    attempt: 0,
    runner: null,
    leaseExpiresAt: null,
    cancelRequestedAt: null,
    deploymentId: null,
    error: null,
    author: null,
    message: null,
  };
}

/** Blobs whose `collect` runs `hook` before (or after) setting blobs aside: an upload racing the collection. */
function racing(real: Blobs, when: 'before-move' | 'after-move', hook: () => Promise<void>): Blobs {
  return {
    get storageFull() {
      return real.storageFull;
    },
    has: (d) => real.has(d),
    missing: (d) => real.missing(d),
    put: (d, s, o) => real.put(d, s, o),
    putMany: (b, o) => real.putMany(b, o),
    flush: () => real.flush(),
    putBytes: (b) => real.putBytes(b),
    size: (d) => real.size(d),
    read: (d) => real.read(d),
    stream: (d, r) => real.stream(d, r),
    async collect(digests): Promise<BlobCollection> {
      if (when === 'before-move') await hook();
      const collection = await real.collect(digests);
      if (when === 'after-move') await hook();
      return collection;
    },
  };
}

for (const backend of backends) {
  describe(`projects delete on ${backend.name}`, () => {
    let t: TestServer;
    let shopFirst: Deployment;
    let docs: Deployment;
    const shopOnly = '<h1>shop, and only shop</h1>\n';
    const shared = 'body { color: teal }\n';

    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
      await t.client.createProject('docs');
      shopFirst = await deployFiles(t.client, 'shop', { 'index.html': shopOnly, 'shared.css': shared });
      docs = await deployFiles(t.client, 'docs', { 'index.html': '<h1>docs</h1>\n', 'shared.css': shared });
      await t.client.promote('shop', 'production', { deployment: shopFirst.id });
      await t.client.promote('docs', 'production', { deployment: docs.id });
      await t.client.addDomain('shop', { hostname: 'www.shop-example.com', environment: 'production' });
    });

    after(async () => {
      await t.dispose();
    });

    test('only an admin deletes, and only with the name repeated; a refusal changes nothing', async () => {
      const deployer = t.clientWith((await t.client.createToken({ name: 'dev', role: 'deployer' })).secret);
      await rejectsWith(deployer.deleteProject('shop', 'shop'), 'FORBIDDEN', 403);
      await rejectsWith(t.client.deleteProject('shop', 'docs'), 'CONFIRMATION_MISMATCH', 400);
      await rejectsWith(t.client.deleteProject('shop', 'SHOP'), 'CONFIRMATION_MISMATCH', 400);
      await rejectsWith(t.client.deleteProject('shop', ' shop'), 'CONFIRMATION_MISMATCH', 400);
      await rejectsWith(t.client.request('DELETE', '/api/v1/projects/shop', { body: {} }), 'CONFIRMATION_MISMATCH', 400);
      await rejectsWith(t.client.deleteProject('nope', 'nope'), 'PROJECT_NOT_FOUND', 404);
      assert.equal((await edgeGet(t.server.port, hostOf(shopFirst.url))).status, 200);
      assert.ok((await t.client.listProjects()).projects.some((p) => p.name === 'shop'));
    });

    test('deleting stops the edge at once (deployment URL, environment, custom domain), cancels builds, frees the name and collects only unshared blobs', async () => {
      const { store } = t.server.deps;
      const shop = await t.client.getProjectStatus('shop');
      const queued = queuedBuild(shop.project.id, 'a'.repeat(40));
      await store.insertBuildOnce(queued);
      // Every URL serves before (the deployment's manifest is in the edge's memory now).
      const prodHost = `shop.localhost:${t.server.port}`;
      assert.equal((await edgeGet(t.server.port, hostOf(shopFirst.url))).status, 200);
      assert.equal((await edgeGet(t.server.port, prodHost)).body, shopOnly);
      assert.equal((await edgeGet(t.server.port, 'www.shop-example.com')).body, shopOnly);

      // Its git repository exists once it is first fetched.
      const fetched = await fetch(`http://127.0.0.1:${t.server.port}/git/shop.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(fetched.status, 200);
      await fetched.arrayBuffer();
      assert.ok(await exists(join(t.dataDir, 'repos', 'shop.git', 'HEAD')));
      // What its builds left in their HOME (the in-process runner's cache of the project).
      await mkdir(join(t.dataDir, 'builds', 'cache', 'shop', '.npm'), { recursive: true });
      await writeFile(join(t.dataDir, 'builds', 'cache', 'shop', '.npm', 'poisoned'), 'x');
      await mkdir(join(t.dataDir, 'builds', 'cache', 'docs'), { recursive: true });

      const deleted = await t.client.deleteProject('shop', 'shop');
      assert.equal(deleted.project, 'shop');
      assert.equal(deleted.id, shop.project.id);
      assert.deepEqual(deleted.buildsCanceled, [queued.id]);
      assert.deepEqual(deleted.domainsRemoved, ['www.shop-example.com']);
      assert.equal(deleted.cleanupError, null);
      // shop's own index.html body and its manifest; shared.css stays for docs.
      assert.equal(deleted.blobsCollected, 2);

      assert.equal((await edgeGet(t.server.port, hostOf(shopFirst.url))).status, 404);
      assert.equal((await edgeGet(t.server.port, prodHost)).status, 404);
      // The hostname is no longer the edge's: the control plane answers it, with none of shop's files.
      const domain = await edgeGet(t.server.port, 'www.shop-example.com');
      assert.ok(!domain.body.includes('shop, and only shop'));
      assert.equal(await t.server.deps.store.findDomain('www.shop-example.com'), undefined);
      // docs, which shares a file with it, is untouched.
      assert.equal((await edgeGet(t.server.port, hostOf(docs.url), '/shared.css')).body, shared);
      assert.equal((await edgeGet(t.server.port, `docs.localhost:${t.server.port}`, '/shared.css')).body, shared);

      assert.ok(!(await exists(blobPath(t.dataDir, sha256(shopOnly)))), "shop's own blob is deleted");
      assert.ok(await exists(blobPath(t.dataDir, sha256(shared))), 'the shared blob stays');
      assert.equal((await store.findBuild(queued.id))?.state, 'canceled');
      assert.ok(!(await exists(join(t.dataDir, 'repos', 'shop.git'))), 'its repository is gone');
      assert.ok(!(await exists(join(t.dataDir, 'repos', `~${shop.project.id}.git`))));
      assert.ok(!(await exists(join(t.dataDir, 'builds', 'cache', 'shop'))), 'its build cache is gone');
      assert.ok(await exists(join(t.dataDir, 'builds', 'cache', 'docs')), "docs' cache stays");

      assert.ok(!(await t.client.listProjects()).projects.some((p) => p.name === 'shop'));
      await rejectsWith(t.client.getProjectStatus('shop'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWith(t.client.getProjectStatus(`~${shop.project.id}`), 'PROJECT_NOT_FOUND', 404);
      await rejectsWith(t.client.createUpload('shop', { files: [{ path: 'a', sha256: sha256('a'), size: 1, mode: 0o644 }] }), 'PROJECT_NOT_FOUND', 404);
      // A second delete finds nothing; the deleted row is not reachable by its new name either.
      await rejectsWith(t.client.deleteProject('shop', 'shop'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWith(t.client.deleteProject(`~${shop.project.id}`, `~${shop.project.id}`), 'PROJECT_NOT_FOUND', 404);

      // Webhooks and git pushes to it answer 404.
      const hook = await fetch(`http://127.0.0.1:${t.server.port}/hooks/generic?project=shop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(hook.status, 404);
      const git = await fetch(`http://127.0.0.1:${t.server.port}/git/shop.git/info/refs?service=git-receive-pack`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(git.status, 404);

      const events = (await t.client.listEvents({ limit: 20 })).events;
      const event = events.find((e) => e.action === 'project.delete');
      assert.ok(event, 'project.delete is audited');
      assert.equal(event.target, 'shop');
      assert.ok(events.some((e) => e.action === 'project.purge'));

      // The name is free: a new shop starts empty, and the old deployment URL stays dead.
      const reborn = await t.client.createProject('shop');
      assert.notEqual(reborn.id, shop.project.id);
      assert.deepEqual((await t.client.listDeployments('shop')).deployments, []);
      const fresh = await deployFiles(t.client, 'shop', { 'index.html': '<h1>new shop</h1>\n' });
      assert.equal((await edgeGet(t.server.port, hostOf(fresh.url))).status, 200);
      assert.equal((await edgeGet(t.server.port, hostOf(shopFirst.url))).status, 404);
      assert.equal((await edgeGet(t.server.port, prodHost)).status, 404, 'the new shop has no production yet');
    });

    test('an upload of another project racing the collection keeps what it references, whether it looks before or after the blobs are set aside', async () => {
      for (const when of ['before-move', 'after-move'] as const) {
        const old = `old-${when}`;
        const next = `next-${when}`;
        const body = `<p>only ${old} had this, until ${next} wanted it</p>\n`;
        await t.client.createProject(old);
        await t.client.createProject(next);
        await deployFiles(t.client, old, { 'page.html': body });
        const project = await t.client.getProjectStatus(old);
        await t.server.deps.store.markProjectDeleted(project.project.id, new Date().toISOString());

        let upload: { id: string; missing: string[] } | undefined;
        const blobs = racing(t.server.deps.blobs, when, async () => {
          upload = await t.client.createUpload(next, { files: [{ path: 'page.html', sha256: sha256(body), size: Buffer.byteLength(body), mode: 0o644 }] });
          for (const digest of upload.missing) await t.client.putBlob(digest, Buffer.from(body));
        });
        await collectProjectBlobs({ ...t.server.deps, blobs }, project.project.id);
        assert.ok(upload, 'the racing upload ran');
        if (when === 'before-move') assert.deepEqual(upload.missing, [], 'it saw the blob present, so it did not send it');
        else assert.deepEqual(upload.missing, [sha256(body)], 'it saw the blob gone, so it sent it again');
        const deployment = await t.client.finalizeUpload(next, upload.id);
        const served = await edgeGet(t.server.port, hostOf(deployment.url), '/page.html');
        assert.equal(served.status, 200, when);
        assert.equal(served.body, body);
      }
    });

    test('a collection a crash cut short is undone at the next start, and the deletion whose clean-up was cut short is finished', async () => {
      // A blob docs serves is set aside (as between step 2 and 3 of a collection) and the
      // server stops without finishing; a project is deleted but its clean-up never ran.
      const docsBody = '<h1>docs</h1>\n';
      const aside = await t.server.deps.blobs.collect([sha256(docsBody)]);
      assert.deepEqual(aside.moved, [sha256(docsBody)]);
      assert.ok(!(await exists(blobPath(t.dataDir, sha256(docsBody)))));
      await t.client.createProject('halfway');
      const gone = '<h1>halfway, deleted</h1>\n';
      await deployFiles(t.client, 'halfway', { 'index.html': gone });
      const halfway = await t.client.getProjectStatus('halfway');
      await t.server.deps.store.markProjectDeleted(halfway.project.id, new Date().toISOString());

      await t.restart();
      const restarted = t.server;
      // Restored before anything is served.
      assert.ok(await exists(blobPath(t.dataDir, sha256(docsBody))));
      assert.equal((await edgeGet(restarted.port, `docs.localhost:${restarted.port}`)).body, docsBody);
      // The unfinished deletion is finished in the background after start.
      const purged = async () => (await restarted.deps.store.findProjectById(halfway.project.id))?.purgedAt;
      for (let i = 0; i < 200 && !(await purged()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!(await exists(blobPath(t.dataDir, sha256(gone)))), "the deleted project's blob is collected at start");
      assert.ok((await restarted.deps.store.findProjectById(halfway.project.id))?.purgedAt);
      assert.deepEqual(await readdir(join(t.dataDir, 'blobs', 'collect')), []);
    });

    test('slipway projects delete needs --confirm with the name; a mismatch exits 2 and deletes nothing', async () => {
      const env = { SLIPWAY_URL: `http://127.0.0.1:${t.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN, HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' };
      const cli = async (...args: string[]) => {
        const ctx = createMemoryContext(env);
        const code = await run(args, ctx);
        return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
      };
      const missing = await cli('projects', 'delete', 'docs');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--confirm docs.*\(CONFIRMATION_MISMATCH\)/);
      const wrong = await cli('projects', 'delete', 'docs', '--confirm', 'shop');
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /\(CONFIRMATION_MISMATCH\)/);
      assert.ok((await t.client.listProjects()).projects.some((p) => p.name === 'docs'));
      const done = await cli('projects', 'delete', 'docs', '--confirm', 'docs');
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /Deleted project docs/);
      assert.ok(!(await t.client.listProjects()).projects.some((p) => p.name === 'docs'));
      assert.equal((await edgeGet(t.server.port, `docs.localhost:${t.server.port}`)).status, 404);
    });
  });
}

describe('a blob collection cut short while deleting', () => {
  test('is completed at the next open: its re-check was done, so nothing may use what is left', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slipway-collect-'));
    try {
      const blobs = await FsBlobs.open(root);
      const a = await blobs.putBytes(Buffer.from('a'));
      const b = await blobs.putBytes(Buffer.from('b'));
      const kept = await blobs.putBytes(Buffer.from('kept'));
      const collection = await blobs.collect([a, b, kept]);
      await collection.restore([kept]);
      // A crash right after finish() marked the collection and deleted one blob.
      const [id] = await readdir(join(root, 'collect'));
      assert.ok(id);
      await writeFile(join(root, 'collect', id, 'FINISHING'), '');
      await rm(join(root, 'collect', id, a));
      const reopened = await FsBlobs.open(root);
      assert.equal(await reopened.has(a), false);
      assert.equal(await reopened.has(b), false);
      assert.equal(await reopened.has(kept), true);
      assert.deepEqual(await readdir(join(root, 'collect')), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('is undone at the next open when it had not begun deleting; a blob stored again meanwhile is kept as it is', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slipway-collect-'));
    try {
      const blobs = await FsBlobs.open(root);
      const a = await blobs.putBytes(Buffer.from('a'));
      const b = await blobs.putBytes(Buffer.from('b'));
      await blobs.collect([a, b]);
      assert.equal(await blobs.has(a), false);
      // b is uploaded again before the crash.
      await blobs.put(b, [Buffer.from('b')]);
      const reopened = await FsBlobs.open(root);
      assert.equal((await reopened.read(a)).toString(), 'a');
      assert.equal((await reopened.read(b)).toString(), 'b');
      assert.deepEqual(await readdir(join(root, 'collect')), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
