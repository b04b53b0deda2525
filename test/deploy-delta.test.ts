import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { DeployResult } from '../src/cli/commands/deploy.ts';
import { canonicalManifest, type ManifestEntry } from '../src/core/manifest.ts';
import type { Deployment, ManifestDeltaRequest } from '../src/protocol/api.ts';
import type { SlipwayClient } from '../src/protocol/client.ts';
import { INLINE_BASE_BYTES } from '../src/server/http/upload-request.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { deployFiles, edgeGet, hostOf, startTestServer, type TestServer } from './support/server.ts';

/**
 * Redeploys that send only what changed: the real `bin/slipway` with its hash cache, against a
 * real server that rebuilds the manifest from a delta and checks it like a full one (SQLite:
 * the store takes no part in a delta beyond reading the base deployment).
 */

const sqlite = backends.find((b) => b.name === 'sqlite') as (typeof backends)[number];
const MAX_FILES = 10_000;
/** Files of the CLI's site that never change, beside the four that do. */
const STATIC_FILES = 10;

const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

describe('delta deploys against a running server', () => {
  let running: TestServer;
  let client: SlipwayClient;
  let tmp: string;
  let home: string;
  const site = (...parts: string[]): string => join(tmp, 'site', ...parts);

  const deploy = async (...args: string[]): Promise<DeployResult & { stderr: string }> => {
    const result = await slipway(running, ['deploy', site(), '--project', 'web', '--json', ...args], { home });
    assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
    return { ...(JSON.parse(result.stdout) as DeployResult), stderr: result.stderr };
  };
  const body = async (deployment: Deployment, path: string): Promise<string> => (await edgeGet(running.server.port, hostOf(deployment.url), path)).body;
  const cacheDir = async (): Promise<string> => join(home, '.cache', 'slipway', 'deploys', sha256(await realpath(site())).slice(0, 32));
  const baseFile = async (): Promise<string> => {
    const dir = await cacheDir();
    const name = (await readdir(dir)).find((n) => n.startsWith('base-'));
    assert.ok(name, 'the last deployment is remembered');
    return join(dir, name);
  };
  /** Rewrites the remembered base: another deployment id and/or another manifest, with a digest that matches it. */
  const rewriteBase = async (change: { deployment?: string; manifest?: string }): Promise<void> => {
    const path = await baseFile();
    const text = await readFile(path, 'utf8');
    const newline = text.indexOf('\n');
    const header = JSON.parse(text.slice(0, newline)) as Record<string, unknown>;
    const manifest = change.manifest ?? text.slice(newline + 1);
    await writeFile(path, `${JSON.stringify({ ...header, ...(change.deployment ? { deployment: change.deployment } : {}), manifestDigest: sha256(manifest) })}\n${manifest}`);
  };

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'slipway-delta-'));
    running = await startTestServer(sqlite, { manifestLimits: { maxFiles: MAX_FILES } });
    client = running.client;
    await client.createProject('web');
    await client.createProject('other');
    home = join(tmp, 'home');
    await mkdir(home);
    await mkdir(site('assets'), { recursive: true });
    await writeFile(site('index.html'), '<h1>one</h1>\n');
    await writeFile(site('assets', 'app.js'), 'console.log("app");\n');
    await writeFile(site('assets', 'style.css'), 'body { color: red }\n');
    await writeFile(site('old.txt'), 'old\n');
    await mkdir(site('static'));
    for (let i = 0; i < STATIC_FILES; i++) await writeFile(site('static', `${i}.txt`), `static ${i}\n`);
    // Files written in the last two seconds are hashed again on every deploy (a write in the
    // same timestamp tick would not show): let these settle so that the cache keeps them.
    await sleep(2_100);
  });

  after(async () => {
    await running.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  let first: DeployResult;
  let latest: string;

  test('a redeploy of an unchanged directory reads no file and sends an empty delta', async () => {
    first = await deploy();
    assert.equal(first.upload.hashed, 4 + STATIC_FILES);
    assert.equal(first.upload.delta, null, 'nothing to send changes against yet');
    const again = await deploy();
    assert.equal(again.upload.hashed, 0, 'every digest came from the cache');
    assert.deepEqual(again.upload.delta, { base: first.id, added: 0, changed: 0, removed: 0 });
    assert.deepEqual(again.upload.missing, []);
    assert.notEqual(again.id, first.id);
    assert.equal(again.manifestDigest, first.manifestDigest);
    assert.equal(await body(again, '/'), '<h1>one</h1>\n');
    latest = again.id;
  });

  test('added, changed and removed files go as a delta, and make the same deployment as a full upload', async () => {
    await writeFile(site('assets', 'style.css'), 'body { color: blue }\n');
    await writeFile(site('new.html'), '<p>new</p>\n');
    await rm(site('old.txt'));
    const delta = await deploy('-m', 'three changes');
    assert.deepEqual(delta.upload.delta, { base: latest, added: 1, changed: 1, removed: 1 });
    assert.equal(delta.upload.hashed, 2, 'only the new and the changed file are read');
    assert.equal(delta.upload.missing.length, 2);
    const full = await deploy('--no-cache');
    assert.equal(full.upload.delta, null);
    assert.equal(full.upload.hashed, 4 + STATIC_FILES);
    for (const key of ['manifestDigest', 'fileCount', 'totalBytes'] as const) assert.equal(delta[key], full[key], key);
    assert.deepEqual((await client.getDeploymentManifest('web', delta.id)).files, (await client.getDeploymentManifest('web', full.id)).files);
    assert.equal(await body(delta, '/assets/style.css'), 'body { color: blue }\n');
    assert.equal(await body(delta, '/new.html'), '<p>new</p>\n');
    assert.equal((await edgeGet(running.server.port, hostOf(delta.url), '/old.txt')).status, 404);
    assert.equal(delta.meta.message, 'three changes');
  });

  test('a file rewritten with the same size and its old mtime is read again (its ctime moved)', async () => {
    const before = await deploy();
    const path = site('index.html');
    const old = await stat(path);
    await writeFile(path, '<h1>ONE</h1>\n');
    await utimes(path, old.atime, old.mtime);
    const after = await deploy();
    assert.deepEqual(after.upload.delta, { base: before.id, added: 0, changed: 1, removed: 0 });
    assert.equal(await body(after, '/'), '<h1>ONE</h1>\n');
  });

  test('a remembered base the server does not have falls back to a full upload', async () => {
    await deploy();
    await rewriteBase({ deployment: 'dpl-notthere' });
    const result = await deploy();
    assert.equal(result.upload.delta, null);
    assert.match(result.stderr, /BASE_NOT_FOUND/);
    assert.equal(await body(result, '/'), '<h1>ONE</h1>\n');
    assert.ok((await deploy()).upload.delta, 'the new deployment is the next base');
  });

  test('a base whose manifest the client has wrong falls back, never to a wrong tree', async () => {
    // The remembered manifest (with a digest that matches it) is of the first deployment, but
    // names the latest one: the delta the CLI computes does not fit the server's base.
    const firstManifest = canonicalManifest((await client.getDeploymentManifest('web', first.id)).files);
    await rewriteBase({ manifest: firstManifest });
    await writeFile(site('assets', 'app.js'), 'console.log("app 2");\n');
    const result = await deploy();
    assert.equal(result.upload.delta, null);
    assert.match(result.stderr, /MANIFEST_DELTA_(MISMATCH|UNKNOWN_PATH)|MANIFEST_DUPLICATE_PATH/);
    const full = await deploy('--no-cache');
    assert.equal(result.manifestDigest, full.manifestDigest);
    assert.equal(await body(result, '/assets/app.js'), 'console.log("app 2");\n');
  });

  test('--base of another project, or of no deployment, falls back to a full upload', async () => {
    const other = await deployFiles(client, 'other', { 'index.html': '<h1>other</h1>\n' });
    for (const base of [other.id, 'dpl-notthere']) {
      const result = await deploy('--base', base);
      assert.equal(result.upload.delta, null, base);
      assert.match(result.stderr, /DEPLOYMENT_NOT_FOUND/);
      assert.equal(await body(result, '/'), '<h1>ONE</h1>\n');
    }
    const named = await deploy('--base', first.id);
    assert.equal(named.upload.delta?.base, first.id, 'a base of this project that is not the remembered one is fetched');
    assert.equal(named.manifestDigest, (await deploy('--no-cache')).manifestDigest);
    const uncached = await deploy('--no-cache', '--base', first.id);
    assert.equal(uncached.upload.delta?.base, first.id, '--base still applies without the cache');
    assert.equal(uncached.upload.hashed, 4 + STATIC_FILES);
    assert.equal(uncached.manifestDigest, named.manifestDigest);
  });

  test('a corrupt cache is ignored: every file is read again, and the cache is rebuilt', async () => {
    const dir = await cacheDir();
    await writeFile(join(dir, 'files.json'), '{"version":1,"root":');
    const broken = await deploy();
    assert.match(broken.stderr, /ignoring the hash cache/);
    assert.equal(broken.upload.hashed, 4 + STATIC_FILES);
    await writeFile(join(dir, 'files.json'), JSON.stringify({ version: 1, root: await realpath(site()), files: [['index.html', 1, 2, 3, 4, 'not-a-digest']] }));
    // Files rewritten by the tests above settle, so that the deploy that reads every file
    // again may remember every digest.
    await sleep(2_100);
    assert.equal((await deploy()).upload.hashed, 4 + STATIC_FILES);
    assert.equal((await deploy()).upload.hashed, 0, 'rebuilt');
    // A base file that does not hash to its digest is not used.
    const path = await baseFile();
    await writeFile(path, (await readFile(path, 'utf8')).replace('index.html', 'index.htm'));
    const tampered = await deploy();
    assert.equal(tampered.upload.delta, null);
    assert.equal(tampered.manifestDigest, broken.manifestDigest);
  });
});

describe('delta uploads: what the server refuses', () => {
  let running: TestServer;
  let client: SlipwayClient;
  let base: Deployment;
  const files: Record<string, string> = { 'index.html': '<h1>base</h1>\n', 'a/b.css': 'b\n', 'c.js': 'c\n' };
  const entry = (path: string, text: string): ManifestEntry => ({ path, sha256: sha256(text), size: Buffer.byteLength(text), mode: 0o644 });
  const manifestOf = (entries: ManifestEntry[]): string => sha256(canonicalManifest([...entries].sort((x, y) => (x.path < y.path ? -1 : 1))));
  const baseEntries = (): ManifestEntry[] => Object.entries(files).map(([p, t]) => entry(p, t));
  const upload = (delta: Partial<ManifestDeltaRequest>, project = 'web'): ReturnType<SlipwayClient['createUpload']> =>
    client.createUpload(project, { delta: { base: base.id, manifestDigest: '0'.repeat(64), added: [], changed: [], removed: [], ...delta } });

  before(async () => {
    running = await startTestServer(sqlite, { manifestLimits: { maxFiles: MAX_FILES } });
    client = running.client;
    await client.createProject('web');
    await client.createProject('other');
    base = await deployFiles(client, 'web', files);
  });

  after(async () => {
    await running.dispose();
  });

  test('a delta makes the deployment a full upload of the same tree makes', async () => {
    const target = [...baseEntries().filter((e) => e.path !== 'c.js'), entry('d.txt', 'd\n')];
    const created = await upload({ manifestDigest: manifestOf(target), added: [entry('d.txt', 'd\n')], removed: ['c.js'] });
    assert.deepEqual(created.missing, [sha256('d\n')]);
    assert.equal(created.fileCount, 3);
    await client.putBlob(sha256('d\n'), Buffer.from('d\n'));
    const viaDelta = await client.finalizeUpload('web', created.id);
    const viaFull = await deployFiles(client, 'web', { 'index.html': files['index.html'] as string, 'a/b.css': 'b\n', 'd.txt': 'd\n' });
    for (const key of ['manifestDigest', 'fileCount', 'totalBytes'] as const) assert.equal(viaDelta[key], viaFull[key], key);
  });

  test('hostile deltas are refused with the manifest codes', async () => {
    const cases: [string, Partial<ManifestDeltaRequest>, string][] = [
      ['a path escaping the root', { added: [entry('../escape', 'x')] }, 'MANIFEST_PATH_TRAVERSAL'],
      ['an absolute path', { added: [entry('/etc/passwd', 'x')] }, 'MANIFEST_PATH_ABSOLUTE'],
      ['a path with a NUL', { added: [entry('a\0b', 'x')] }, 'MANIFEST_PATH_NUL'],
      ['removing what is not there', { removed: ['nope.html'] }, 'MANIFEST_DELTA_UNKNOWN_PATH'],
      ['changing what is not there', { changed: [entry('nope.html', 'x')] }, 'MANIFEST_DELTA_UNKNOWN_PATH'],
      ['adding a path twice', { added: [entry('n.html', 'x'), entry('n.html', 'y')] }, 'MANIFEST_DUPLICATE_PATH'],
      ['adding a path the base has', { added: [entry('index.html', 'x')] }, 'MANIFEST_DUPLICATE_PATH'],
      ['removing and changing one path', { removed: ['c.js'], changed: [entry('c.js', 'x')] }, 'MANIFEST_DUPLICATE_PATH'],
      ['a file under a file', { added: [entry('c.js/x', 'x')] }, 'MANIFEST_PATH_CONFLICT'],
      ['a directory turned into a file', { added: [entry('a', 'x')] }, 'MANIFEST_PATH_CONFLICT'],
      ['removing every file', { removed: Object.keys(files) }, 'MANIFEST_EMPTY'],
      ['a bad digest', { changed: [{ ...entry('c.js', 'x'), sha256: 'ZZ' }] }, 'MANIFEST_INVALID_DIGEST'],
      ['a bad mode', { changed: [{ ...entry('c.js', 'x'), mode: 0o4755 }] }, 'MANIFEST_INVALID_MODE'],
      ['a tree past the file limit', { added: Array.from({ length: MAX_FILES }, (_, i) => entry(`many/${i}`, 'x')) }, 'MANIFEST_TOO_MANY_FILES'],
      ['a tree past the size limit', { added: [{ ...entry('huge', 'x'), size: 11 * 1024 ** 3 }] }, 'MANIFEST_TOO_LARGE'],
      ['a digest that is not what the delta makes', { added: [entry('n.html', 'x')] }, 'MANIFEST_DELTA_MISMATCH'],
    ];
    const before = (await client.listDeployments('web')).deployments.length;
    for (const [what, delta, code] of cases) {
      await assert.doesNotReject(rejectsWithCode(upload(delta), code), what);
    }
    assert.equal((await client.listDeployments('web')).deployments.length, before, 'nothing was deployed');
  });

  test('a base of another project or of no deployment is BASE_NOT_FOUND, and the request shape is checked', async () => {
    const other = await deployFiles(client, 'other', { 'index.html': 'other\n' });
    await rejectsWithCode(upload({ base: other.id }), 'BASE_NOT_FOUND', 404);
    await rejectsWithCode(upload({ base: 'dpl-notthere' }), 'BASE_NOT_FOUND', 404);
    await rejectsWithCode(upload({ base: base.id }, 'other'), 'BASE_NOT_FOUND', 404);
    const both = { files: baseEntries(), delta: { base: base.id, manifestDigest: manifestOf(baseEntries()), added: [], changed: [], removed: [] } };
    await rejectsWithCode(client.createUpload('web', both), 'INVALID_REQUEST', 400);
    await rejectsWithCode(client.createUpload('web', {}), 'INVALID_REQUEST', 400);
  });

  test('a large base is rebuilt off the event loop with the same checks', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 9_000; i++) many[`pages/section-${i % 40}/a-page-with-a-longer-name-${i}.html`] = `<p>${i}</p>\n`;
    const entries = Object.entries(many).map(([p, t]) => entry(p, t));
    const created = await client.createUpload('web', { files: entries });
    for (let i = 0; i < created.missing.length; i += 500) {
      const digests = new Set(created.missing.slice(i, i + 500));
      await client.putBlobs(Object.values(many).filter((t) => digests.has(sha256(t))).map((t) => ({ digest: sha256(t), bytes: Buffer.from(t) })));
    }
    const large = await client.finalizeUpload('web', created.id);
    const manifest = await client.getDeploymentManifest('web', large.id);
    assert.ok(canonicalManifest(manifest.files).length > INLINE_BASE_BYTES, 'past the size rebuilt inline');
    const changed = entry(`pages/section-1/a-page-with-a-longer-name-1.html`, '<p>one</p>\n');
    const target = entries.map((e) => (e.path === changed.path ? changed : e));
    const ok = await client.createUpload('web', { delta: { base: large.id, manifestDigest: manifestOf(target), added: [], changed: [changed], removed: [] } });
    assert.deepEqual(ok.missing, [changed.sha256]);
    assert.equal(ok.fileCount, 9_000);
    await rejectsWithCode(
      client.createUpload('web', { delta: { base: large.id, manifestDigest: manifestOf(target), added: [entry('pages/../x', 'x')], changed: [], removed: [] } }),
      'MANIFEST_PATH_TRAVERSAL',
    );
    await rejectsWithCode(
      client.createUpload('web', { delta: { base: large.id, manifestDigest: manifestOf(entries), added: [], changed: [changed], removed: [] } }),
      'MANIFEST_DELTA_MISMATCH',
    );
  });
});

describe('finalizing: in the same request as the upload, and against a base', () => {
  let running: TestServer;
  let client: SlipwayClient;
  let base: Deployment;
  const files: Record<string, string> = { 'index.html': '<h1>base</h1>\n', 'a/b.css': 'b\n', 'c.js': 'c\n' };
  const entry = (path: string, text: string, size = Buffer.byteLength(text)): ManifestEntry => ({ path, sha256: sha256(text), size, mode: 0o644 });
  const manifestOf = (entries: ManifestEntry[]): string => sha256(canonicalManifest([...entries].sort((x, y) => (x.path < y.path ? -1 : 1))));
  const baseEntries = (): ManifestEntry[] => Object.entries(files).map(([p, t]) => entry(p, t));
  const delta = (change: Partial<ManifestDeltaRequest>, target: ManifestEntry[]): ManifestDeltaRequest => ({
    base: base.id,
    manifestDigest: manifestOf(target),
    added: [],
    changed: [],
    removed: [],
    ...change,
  });
  const blobPath = (digest: string): string => join(running.dataDir, 'blobs', 'sha256', digest.slice(0, 2), digest);
  const count = async (): Promise<number> => (await client.listDeployments('web')).deployments.length;

  before(async () => {
    running = await startTestServer(sqlite);
    client = running.client;
    await client.createProject('web');
    await client.createProject('other');
    base = await deployFiles(client, 'web', files);
  });

  after(async () => {
    await running.dispose();
  });

  test('an upload that lacks no blob becomes its deployment at once, the one finalize makes', async () => {
    const unchanged = await client.createUpload('web', { delta: delta({}, baseEntries()), finalize: true });
    assert.deepEqual(unchanged.missing, []);
    assert.ok(unchanged.finalized, 'finalized in the same request');
    assert.equal(unchanged.deployment, unchanged.finalized.id);
    for (const key of ['manifestDigest', 'fileCount', 'totalBytes'] as const) assert.equal(unchanged.finalized[key], base[key], key);
    assert.deepEqual(await client.getDeployment('web', unchanged.finalized.id), unchanged.finalized);
    assert.deepEqual(await client.finalizeUpload('web', unchanged.id), unchanged.finalized, 'finalizing again answers with it');
    assert.equal((await edgeGet(running.server.port, hostOf(unchanged.finalized.url), '/')).body, '<h1>base</h1>\n');
    const full = await client.createUpload('web', { files: baseEntries(), finalize: true });
    assert.equal(full.finalized?.manifestDigest, base.manifestDigest, 'a full manifest too');
    // Without `finalize`, as before it: the upload waits for its finalize.
    const waiting = await client.createUpload('web', { delta: delta({}, baseEntries()) });
    assert.equal(waiting.deployment, null);
    assert.equal(waiting.finalized, undefined);
  });

  test('an upload that lacks a blob is not finalized: it waits for the blob and its finalize', async () => {
    const added = entry('d.txt', 'd\n');
    const target = [...baseEntries(), added];
    const before = await count();
    const upload = await client.createUpload('web', { delta: delta({ added: [added] }, target), finalize: true });
    assert.deepEqual(upload.missing, [added.sha256]);
    assert.equal(upload.deployment, null);
    assert.equal(upload.finalized, undefined);
    assert.equal(await count(), before);
    await rejectsWithCode(client.finalizeUpload('web', upload.id, { base: base.id }), 'BLOBS_MISSING');
    await client.putBlob(added.sha256, Buffer.from('d\n'));
    const deployment = await client.finalizeUpload('web', upload.id, { base: base.id });
    assert.equal(deployment.manifestDigest, manifestOf(target));
  });

  test('a file that declares another size than its blob is refused either way, base or not', async () => {
    await client.putBlob(sha256('e\n'), Buffer.from('e\n'));
    const wrong = entry('e.txt', 'e\n', 3);
    const target = [...baseEntries(), wrong];
    const before = await count();
    await rejectsWithCode(client.createUpload('web', { delta: delta({ added: [wrong] }, target), finalize: true }), 'BLOB_SIZE_MISMATCH');
    await rejectsWithCode(client.createUpload('web', { files: target, finalize: true }), 'BLOB_SIZE_MISMATCH');
    const upload = await client.createUpload('web', { delta: delta({ added: [wrong] }, target) });
    await rejectsWithCode(client.finalizeUpload('web', upload.id, { base: base.id }), 'BLOB_SIZE_MISMATCH');
    // A file of the base with another declared size is not what the base vouches for.
    const resized = entry('c.js', 'c\n', 5);
    const changed = await client.createUpload('web', { delta: delta({ changed: [resized] }, [...baseEntries().filter((e) => e.path !== 'c.js'), resized]) });
    await rejectsWithCode(client.finalizeUpload('web', changed.id, { base: base.id }), 'BLOB_SIZE_MISMATCH');
    assert.equal(await count(), before, 'nothing was deployed');
  });

  test("finalize looks again only at files its base does not vouch for; another project's deployment vouches for nothing", async () => {
    // A blob of the base made unreadable behind the server's back shows which files finalize
    // looks at: it is never deleted while a deployment of a live project uses it.
    const own = { 'own.txt': 'only in this test\n', 'index.html': files['index.html'] as string };
    const first = await deployFiles(client, 'web', own);
    const other = await deployFiles(client, 'other', own);
    const added = entry('f.txt', 'f\n');
    await client.putBlob(added.sha256, Buffer.from('f\n'));
    const target = [...Object.entries(own).map(([p, t]) => entry(p, t)), added];
    const hidden = blobPath(sha256('only in this test\n'));
    await rename(hidden, `${hidden}.aside`);
    try {
      const upload = await client.createUpload('web', { files: target });
      assert.deepEqual(upload.missing, [sha256('only in this test\n')], 'asked about every file: a full manifest');
      await rejectsWithCode(client.finalizeUpload('web', upload.id), 'BLOBS_MISSING');
      await rejectsWithCode(client.finalizeUpload('web', upload.id, { base: other.id }), 'BLOBS_MISSING');
      await rejectsWithCode(client.finalizeUpload('web', upload.id, { base: 'dpl-notthere' }), 'BLOBS_MISSING');
      const deployment = await client.finalizeUpload('web', upload.id, { base: first.id });
      assert.equal(deployment.fileCount, 3);
    } finally {
      await rename(`${hidden}.aside`, hidden);
    }
    await rejectsWithCode(client.finalizeUpload('web', 'upl-notthere', { base: first.id }), 'UPLOAD_NOT_FOUND');
  });
});
