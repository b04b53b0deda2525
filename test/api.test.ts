import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../src/protocol/client.ts';
import { expireUploads, UPLOAD_TTL_MS } from '../src/server/services/deployments.ts';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { ADMIN_TOKEN, deployFiles, edgeGet, hostOf, sha256, startTestServer, type TestServer } from './support/server.ts';

for (const backend of backends) {
  describe(`API on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
    });
    after(() => t.dispose());

    test('the digest upload asks only for missing blobs and the deployment URL serves those bytes', async () => {
      const first = await t.client.createUpload('shop', {
        files: [
          { path: 'index.html', sha256: sha256('<h1>v1</h1>'), size: 11, mode: 0o644 },
          { path: 'app.js', sha256: sha256('console.log(1)'), size: 14, mode: 0o644 },
        ],
      });
      assert.equal(first.missing.length, 2);
      await t.client.putBlob(sha256('<h1>v1</h1>'), Buffer.from('<h1>v1</h1>'));
      await t.client.putBlob(sha256('console.log(1)'), Buffer.from('console.log(1)'));
      const deployment = await t.client.finalizeUpload('shop', first.id);
      assert.match(deployment.id, /^dpl-[a-z0-9]{12}$/);
      assert.equal(deployment.url, `http://${deployment.id}--shop.localhost:${t.server.port}/`);
      const page = await edgeGet(t.server.port, hostOf(deployment.url));
      assert.equal(page.body, '<h1>v1</h1>');

      // One changed file: only its blob is missing.
      const second = await t.client.createUpload('shop', {
        files: [
          { path: 'index.html', sha256: sha256('<h1>v2</h1>'), size: 11, mode: 0o644 },
          { path: 'app.js', sha256: sha256('console.log(1)'), size: 14, mode: 0o644 },
        ],
      });
      assert.deepEqual(second.missing, [sha256('<h1>v2</h1>')]);
      // Finalizing again returns the same deployment (idempotent).
      assert.equal((await t.client.finalizeUpload('shop', first.id)).id, deployment.id);
    });

    test('an upload never finalized is forgotten after a day; finalized ones stay', async () => {
      const files = [{ path: 'late.txt', sha256: sha256('late-body'), size: 9, mode: 0o644 }];
      const finished = await t.client.createUpload('shop', { files });
      await t.client.putBlob(sha256('late-body'), Buffer.from('late-body'));
      const deployment = await t.client.finalizeUpload('shop', finished.id);
      const abandoned = await t.client.createUpload('shop', { files });
      const later = (ms: number) => ({ ...t.server.deps, clock: { now: () => new Date(Date.now() + ms) } });
      assert.equal(await expireUploads(later(UPLOAD_TTL_MS - 60_000)), 0, 'not a day old yet');
      assert.ok((await expireUploads(later(UPLOAD_TTL_MS + 60_000))) >= 1);
      await rejectsWithCode(t.client.finalizeUpload('shop', abandoned.id), 'UPLOAD_NOT_FOUND', 404);
      assert.equal((await t.client.finalizeUpload('shop', finished.id)).id, deployment.id, 'a finalized upload is kept');
    });

    test('an interrupted upload never yields a visible deployment', async () => {
      const before = (await t.client.listDeployments('shop')).deployments.length;
      const upload = await t.client.createUpload('shop', {
        files: [
          { path: 'a.txt', sha256: sha256('a-body'), size: 6, mode: 0o644 },
          { path: 'b.txt', sha256: sha256('b-body'), size: 6, mode: 0o644 },
        ],
      });
      await t.client.putBlob(sha256('a-body'), Buffer.from('a-body'));
      // b never arrives: finalize refuses and lists what is missing.
      const err = await rejectsWithCode(t.client.finalizeUpload('shop', upload.id), 'BLOBS_MISSING', 409);
      assert.deepEqual(err.details?.missing, [sha256('b-body')]);
      assert.equal((await t.client.listDeployments('shop')).deployments.length, before);
      // Completing it later works.
      await t.client.putBlob(sha256('b-body'), Buffer.from('b-body'));
      const deployment = await t.client.finalizeUpload('shop', upload.id);
      assert.equal(deployment.fileCount, 2);
    });

    test('a blob whose bytes do not match its name is rejected and not stored', async () => {
      const digest = sha256('the real body');
      await rejectsWithCode(t.client.putBlob(digest, Buffer.from('a forged body')), 'DIGEST_MISMATCH', 422);
      const upload = await t.client.createUpload('shop', { files: [{ path: 'x', sha256: digest, size: 13, mode: 0o644 }] });
      assert.deepEqual(upload.missing, [digest]);
      await t.server.deps.blobs.flush();
      const leftovers = await readdir(join(t.dataDir, 'blobs', 'tmp'));
      assert.deepEqual(leftovers, []);
    });

    /** A multipart batch of blob bodies, each part named by its digest (or by `names`). */
    const formOf = (bodies: readonly string[], names: readonly string[] = bodies.map((b) => sha256(b))): FormData => {
      const form = new FormData();
      bodies.forEach((body, i) => form.append(names[i] ?? '', new Blob([body]), names[i]));
      return form;
    };
    /** POST /api/v1/blobs with fetch, for the status the client does not show. */
    const postBatch = async (form: FormData, token = ADMIN_TOKEN): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`http://127.0.0.1:${t.server.port}/api/v1/blobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      return { status: response.status, body: await response.json() };
    };
    const manifestOf = (bodies: readonly string[], prefix: string) =>
      bodies.map((body, i) => ({ path: `${prefix}/${i}.txt`, sha256: sha256(body), size: Buffer.byteLength(body), mode: 0o644 }));
    const sorted = (digests: readonly string[]) => [...digests].sort();

    test('a batch of small blobs is stored by one request and a deployment of them needs nothing more', async () => {
      const bodies = Array.from({ length: 300 }, (_, i) => `batch body ${i}\n`.repeat((i % 5) + 1));
      const files = manifestOf(bodies, 'batch');
      assert.equal((await t.client.createUpload('shop', { files })).missing.length, bodies.length);

      const first = await postBatch(formOf(bodies));
      assert.equal(first.status, 201);
      assert.deepEqual(first.body, { blobs: files.map((f) => ({ digest: f.sha256, size: f.size, created: true })) });
      const upload = await t.client.createUpload('shop', { files });
      assert.deepEqual(upload.missing, []);
      const deployment = await t.client.finalizeUpload('shop', upload.id);
      assert.equal(deployment.fileCount, bodies.length);
      for (const i of [0, 1, 150, 299]) {
        const page = await edgeGet(t.server.port, hostOf(deployment.url), `/batch/${i}.txt`);
        assert.equal(page.status, 200);
        assert.equal(page.body, bodies[i]);
      }

      // The same batch again creates nothing: 200, every blob created false.
      const again = await postBatch(formOf(bodies));
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, { blobs: files.map((f) => ({ digest: f.sha256, size: f.size, created: false })) });
      // One new blob among known ones is enough for a 201.
      const mixed = await postBatch(formOf([bodies[7] ?? '', 'one new batch body']));
      assert.equal(mixed.status, 201);
      assert.deepEqual((mixed.body as { blobs: { created: boolean }[] }).blobs.map((b) => b.created), [false, true]);
    });

    test('one body that does not match its name fails the batch and stores none of it', async () => {
      const bodies = ['kept? one', 'forged body', 'kept? three'];
      const names = [sha256('kept? one'), sha256('the promised body'), sha256('kept? three')];
      await rejectsWithCode(t.client.putBlobs(bodies.map((body, i) => ({ digest: names[i] ?? '', bytes: Buffer.from(body) }))), 'DIGEST_MISMATCH', 422);
      const upload = await t.client.createUpload('shop', { files: manifestOf(bodies, 'mismatch').map((f, i) => ({ ...f, sha256: names[i] ?? '' })) });
      assert.deepEqual(sorted(upload.missing), sorted(names));
      // Earlier batches settle into files behind their requests, through tmp/: let them finish first.
      await t.server.deps.blobs.flush();
      assert.deepEqual(await readdir(join(t.dataDir, 'blobs', 'tmp')), []);
    });

    test('a batch holds at most 1,000 blobs; one more is PAYLOAD_TOO_LARGE and stores none', async () => {
      const bodies = Array.from({ length: 1001 }, (_, i) => `limit body ${i}`);
      const over = await postBatch(formOf(bodies));
      assert.equal(over.status, 413);
      assert.equal((over.body as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
      const files = manifestOf(bodies, 'limit');
      assert.equal((await t.client.createUpload('shop', { files })).missing.length, bodies.length);

      const full = await postBatch(formOf(bodies.slice(0, 1000)));
      assert.equal(full.status, 201);
      assert.deepEqual((await t.client.createUpload('shop', { files })).missing, [sha256('limit body 1000')]);
    });

    test('a blob over the size limit fails its batch with PAYLOAD_TOO_LARGE', async () => {
      const limited = await startTestServer(backend, { maxBlobBytes: 1000 });
      try {
        await limited.client.createProject('tiny');
        const bodies = ['fits the limit', 'z'.repeat(1001)];
        const blobs = bodies.map((body) => ({ digest: sha256(body), bytes: Buffer.from(body) }));
        await rejectsWithCode(limited.client.putBlobs(blobs), 'PAYLOAD_TOO_LARGE', 413);
        const upload = await limited.client.createUpload('tiny', { files: manifestOf(bodies, 'big') });
        assert.deepEqual(sorted(upload.missing), sorted(blobs.map((b) => b.digest)));
        assert.equal((await limited.client.putBlobs([{ digest: sha256('z'.repeat(1000)), bytes: Buffer.from('z'.repeat(1000)) }])).blobs.length, 1);
      } finally {
        await limited.dispose();
      }
    });

    test('a batch is multipart with file parts named by digests only', async () => {
      const form = formOf(['before a text field']);
      form.append('note', 'not a blob');
      const text = await postBatch(form);
      assert.equal(text.status, 400);
      assert.equal((text.body as { error: { code: string } }).error.code, 'INVALID_REQUEST');
      assert.equal(await t.server.deps.blobs.has(sha256('before a text field')), false);
      const misnamed = await postBatch(formOf(['named well', 'named badly'], [sha256('named well'), '../../escape']));
      assert.equal(misnamed.status, 400);
      assert.equal((misnamed.body as { error: { code: string } }).error.code, 'INVALID_REQUEST');
      assert.equal(await t.server.deps.blobs.has(sha256('named well')), false);
      await rejectsWithCode(t.client.request('POST', '/api/v1/blobs', { body: { blobs: [sha256('x')] } }), 'UNSUPPORTED_MEDIA_TYPE', 415);
      await rejectsWithCode(t.client.request('POST', '/api/v1/blobs', { raw: Buffer.from('raw bytes') }), 'UNSUPPORTED_MEDIA_TYPE', 415);
    });

    test('a batch needs the deployer role', async () => {
      const blobs = [{ digest: sha256('role-checked body'), bytes: Buffer.from('role-checked body') }];
      const viewer = t.clientWith((await t.client.createToken({ name: 'batch-viewer', role: 'viewer' })).secret);
      await rejectsWithCode(viewer.putBlobs(blobs), 'FORBIDDEN', 403);
      await rejectsWithCode(t.clientWith('').putBlobs(blobs), 'UNAUTHENTICATED', 401);
      assert.equal(await t.server.deps.blobs.has(sha256('role-checked body')), false);
      const deployer = t.clientWith((await t.client.createToken({ name: 'batch-deployer', role: 'deployer' })).secret);
      assert.deepEqual(await deployer.putBlobs(blobs), { blobs: [{ digest: sha256('role-checked body'), size: 17, created: true }] });
    });

    test('concurrent finalizes of one upload make one deployment', async () => {
      const upload = await t.client.createUpload('shop', { files: [{ path: 'race.txt', sha256: sha256('race'), size: 4, mode: 0o644 }] });
      await t.client.putBlob(sha256('race'), Buffer.from('race'));
      const results = await Promise.all([1, 2, 3, 4].map(() => t.client.finalizeUpload('shop', upload.id)));
      assert.equal(new Set(results.map((d) => d.id)).size, 1);
    });

    const badManifests: [string, { path: string; sha256?: string; size?: number; mode?: number }[]][] = [
      ['MANIFEST_PATH_TRAVERSAL', [{ path: 'a/../../etc/passwd' }]],
      ['MANIFEST_PATH_ABSOLUTE', [{ path: '/etc/passwd' }]],
      ['MANIFEST_PATH_BACKSLASH', [{ path: 'a\\b.txt' }]],
      ['MANIFEST_PATH_NUL', [{ path: 'a\0b' }]],
      ['MANIFEST_PATH_EMPTY_SEGMENT', [{ path: 'a//b' }]],
      ['MANIFEST_PATH_TOO_LONG', [{ path: 'x'.repeat(1025) }]],
      ['MANIFEST_DUPLICATE_PATH', [{ path: 'a' }, { path: 'a' }]],
      ['MANIFEST_PATH_CONFLICT', [{ path: 'a' }, { path: 'a/b' }]],
      ['MANIFEST_INVALID_DIGEST', [{ path: 'a', sha256: 'XYZ' }]],
      ['MANIFEST_EMPTY', []],
    ];
    for (const [code, files] of badManifests) {
      test(`a manifest with ${code} is refused and changes nothing`, async () => {
        const eventsBefore = (await t.client.listEvents({ project: 'shop', limit: 500 })).events.length;
        const deploymentsBefore = (await t.client.listDeployments('shop')).deployments.length;
        const full = files.map((f) => ({ sha256: sha256(f.path), size: 1, mode: 0o644, ...f }));
        await rejectsWithCode(t.client.createUpload('shop', { files: full }), code, 400);
        assert.equal((await t.client.listEvents({ project: 'shop', limit: 500 })).events.length, eventsBefore);
        assert.equal((await t.client.listDeployments('shop')).deployments.length, deploymentsBefore);
      });
    }

    test('too many files and too many bytes have their own codes', async () => {
      const limited = await startTestServer(backend, { manifestLimits: { maxFiles: 3, maxTotalBytes: 100 } });
      try {
        await limited.client.createProject('tiny');
        const file = (i: number, size = 1) => ({ path: `f${i}`, sha256: sha256(String(i)), size, mode: 0o644 });
        await rejectsWithCode(limited.client.createUpload('tiny', { files: [file(1), file(2), file(3), file(4)] }), 'MANIFEST_TOO_MANY_FILES');
        await rejectsWithCode(limited.client.createUpload('tiny', { files: [file(1, 60), file(2, 60)] }), 'MANIFEST_TOO_LARGE');
      } finally {
        await limited.dispose();
      }
    });

    test('promote, rollback (pins), promote again (unpins); the environment URL follows at once', async () => {
      const a = await deployFiles(t.client, 'shop', { 'index.html': 'release A' });
      const b = await deployFiles(t.client, 'shop', { 'index.html': 'release B' });
      const r1 = await t.client.promote('shop', 'production', { deployment: a.id });
      assert.equal(r1.number, 1);
      const prodHost = `shop.localhost:${t.server.port}`;
      assert.equal((await edgeGet(t.server.port, prodHost)).body, 'release A');
      const r2 = await t.client.promote('shop', 'production', { deployment: b.id, reason: 'ship B' });
      assert.equal(r2.number, 2);
      assert.equal(r2.replaces, r1.id);
      assert.equal((await edgeGet(t.server.port, prodHost)).body, 'release B');
      assert.equal((await edgeGet(t.server.port, `production--shop.localhost:${t.server.port}`)).body, 'release B');

      const r3 = await t.client.rollback('shop', 'production', { reason: 'B is broken' });
      assert.equal(r3.kind, 'rollback');
      assert.equal(r3.deployment, a.id);
      assert.equal((await edgeGet(t.server.port, prodHost)).body, 'release A');
      const env = await t.client.getEnvironment('shop', 'production');
      assert.equal(env.pin?.by, 'admin');
      assert.equal(env.pin?.reason, 'B is broken');
      const releases = (await t.client.listReleases('shop', 'production')).releases;
      assert.deepEqual(
        releases.map((r) => [r.number, r.kind, r.state]),
        [
          [3, 'rollback', 'live'],
          [2, 'promote', 'rolled_back'],
          [1, 'promote', 'superseded'],
        ],
      );
      // Rolling back by release number, then an explicit promote clears the pin.
      await rejectsWithCode(t.client.rollback('shop', 'production', { to: 'v1' }), 'ALREADY_LIVE', 409);
      await rejectsWithCode(t.client.rollback('shop', 'production', { to: 'v99' }), 'RELEASE_NOT_FOUND', 404);
      const r4 = await t.client.promote('shop', 'production', { deployment: b.id });
      assert.equal(r4.number, 4);
      assert.equal((await t.client.getEnvironment('shop', 'production')).pin, null);
      const r5 = await t.client.rollback('shop', 'production', { to: a.id });
      assert.equal(r5.deployment, a.id);
      await rejectsWithCode(t.client.promote('shop', 'production', { deployment: 'dpl-doesnotexist' }), 'DEPLOYMENT_NOT_FOUND', 404);

      const actions = (await t.client.listEvents({ project: 'shop', environment: 'production' })).events.map((e) => e.action);
      for (const action of ['release.promote', 'release.rollback', 'environment.pin', 'environment.unpin']) assert.ok(actions.includes(action), action);
    });

    test('a deployment never seen in an environment is no rollback target', async () => {
      const a = await deployFiles(t.client, 'shop', { 'index.html': 'staging A' });
      const b = await deployFiles(t.client, 'shop', { 'index.html': 'staging B' });
      await rejectsWithCode(t.client.rollback('shop', 'staging', {}), 'ENVIRONMENT_NOT_FOUND', 404);
      await t.client.promote('shop', 'staging', { deployment: a.id });
      await rejectsWithCode(t.client.rollback('shop', 'staging', {}), 'NO_PREVIOUS_RELEASE', 409);
      await rejectsWithCode(t.client.rollback('shop', 'staging', { to: b.id }), 'ROLLBACK_TARGET_INVALID', 409);
      await rejectsWithCode(t.client.promote('shop', 'staging', { deployment: a.id }), 'ALREADY_LIVE', 409);
    });

    test('a lock blocks every writer; an admin may break it with a reason, audited', async () => {
      const a = await deployFiles(t.client, 'shop', { 'index.html': 'locked A' });
      const b = await deployFiles(t.client, 'shop', { 'index.html': 'locked B' });
      await t.client.promote('shop', 'qa', { deployment: a.id });
      const deployer = (await t.client.createToken({ name: 'dana', role: 'deployer' })).secret;
      const dana = t.clientWith(deployer);
      const locked = await t.client.lock('shop', 'qa', { reason: 'marketing hold', until: '2h' });
      assert.equal(locked.lock?.reason, 'marketing hold');
      assert.ok(locked.lock?.until && Date.parse(locked.lock.until) > Date.now() + 3_500_000);

      await rejectsWithCode(dana.promote('shop', 'qa', { deployment: b.id }), 'ENVIRONMENT_LOCKED', 423);
      await rejectsWithCode(t.client.promote('shop', 'qa', { deployment: b.id }), 'ENVIRONMENT_LOCKED', 423);
      await rejectsWithCode(dana.rollback('shop', 'qa', { to: a.id }), 'ENVIRONMENT_LOCKED', 423);
      await rejectsWithCode(dana.lock('shop', 'qa', { reason: 'mine now' }), 'ENVIRONMENT_LOCKED', 423);
      await rejectsWithCode(dana.unlock('shop', 'qa', {}), 'ENVIRONMENT_LOCKED', 423);
      await rejectsWithCode(dana.promote('shop', 'qa', { deployment: b.id, force: true, reason: 'please' }), 'FORBIDDEN', 403);
      await rejectsWithCode(t.client.promote('shop', 'qa', { deployment: b.id, force: true }), 'REASON_REQUIRED', 400);
      assert.equal((await t.client.getEnvironment('shop', 'qa')).deployment, a.id);

      const forced = await t.client.promote('shop', 'qa', { deployment: b.id, force: true, reason: 'security fix' });
      assert.equal(forced.forced, true);
      const events = (await t.client.listEvents({ project: 'shop', environment: 'qa' })).events;
      const breakGlass = events.find((e) => e.action === 'lock.break_glass');
      assert.equal(breakGlass?.reason, 'security fix');
      assert.equal(breakGlass?.actor, 'admin');

      await t.client.unlock('shop', 'qa', { reason: 'campaign live' });
      await rejectsWithCode(t.client.unlock('shop', 'qa', {}), 'ENVIRONMENT_NOT_LOCKED', 409);
      await dana.promote('shop', 'qa', { deployment: a.id });
      const lockEvent = events.find((e) => e.action === 'environment.lock');
      assert.equal(lockEvent?.reason, 'marketing hold');
    });

    test('bad lock input is refused', async () => {
      await rejectsWithCode(t.client.lock('shop', 'qa', { reason: 'x', until: 'soon' }), 'INVALID_DURATION', 400);
      await rejectsWithCode(t.client.lock('shop', 'qa', { reason: 'x', until: '2020-01-01T00:00:00Z' }), 'INVALID_DURATION', 400);
      await rejectsWithCode(t.client.lock('shop', 'qa', { reason: '' }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.lock('shop', 'Bad Name', { reason: 'x' }), 'INVALID_NAME', 400);
      assert.equal((await t.client.getEnvironment('shop', 'qa')).lock, null);
    });

    test('two concurrent promotions from the same view: exactly one wins, the other gets RELEASE_CONFLICT', async () => {
      const first = await deployFiles(t.client, 'shop', { 'index.html': 'race start' });
      await t.client.promote('shop', 'race', { deployment: first.id });
      for (let round = 0; round < 5; round++) {
        const x = await deployFiles(t.client, 'shop', { 'index.html': `race ${round} x` });
        const y = await deployFiles(t.client, 'shop', { 'index.html': `race ${round} y` });
        const seen = (await t.client.getEnvironment('shop', 'race')).release?.number ?? 0;
        const results = await Promise.allSettled([
          t.client.promote('shop', 'race', { deployment: x.id, expectRelease: seen }),
          t.client.promote('shop', 'race', { deployment: y.id, expectRelease: seen }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results)}`);
        const reason: unknown = lost[0]?.reason;
        assert.ok(reason instanceof ApiError && reason.code === 'RELEASE_CONFLICT' && reason.status === 409, String(reason));
        assert.equal((await t.client.getEnvironment('shop', 'race')).release?.number, seen + 1);
      }
    });

    test('many concurrent promotions leave an unbroken chain of releases', async () => {
      const deployments = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => deployFiles(t.client, 'shop', { 'index.html': `chain ${i}` })));
      const results = await Promise.allSettled(deployments.map((d) => t.client.promote('shop', 'chain', { deployment: d.id })));
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof ApiError && r.reason.code === 'RELEASE_CONFLICT', String(r.reason));
      }
      const won = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(won >= 1);
      const releases = (await t.client.listReleases('shop', 'chain')).releases.reverse();
      assert.equal(releases.length, won);
      releases.forEach((release, i) => {
        assert.equal(release.number, i + 1);
        assert.equal(release.replaces, i === 0 ? null : releases[i - 1]?.id);
      });
      const env = await t.client.getEnvironment('shop', 'chain');
      assert.equal(env.deployment, releases.at(-1)?.deployment);
    });

    test('tokens: hashed at rest, roles enforced, revocation, unauthenticated requests refused', async () => {
      const created = await t.client.createToken({ name: 'viewer-vic', role: 'viewer' });
      assert.match(created.secret, /^slw_/);
      const vic = t.clientWith(created.secret);
      assert.equal((await vic.whoami()).actor.role, 'viewer');
      await vic.listProjects();
      await rejectsWithCode(vic.createProject('nope'), 'FORBIDDEN', 403);
      await rejectsWithCode(vic.createToken({ name: 'x', role: 'admin' }), 'FORBIDDEN', 403);
      await rejectsWithCode(t.clientWith('slw_wrong').listProjects(), 'UNAUTHENTICATED', 401);
      await rejectsWithCode(t.clientWith('').listProjects(), 'UNAUTHENTICATED', 401);
      await t.client.revokeToken(created.token.id);
      await rejectsWithCode(vic.listProjects(), 'UNAUTHENTICATED', 401);
      const stored = await t.server.deps.store.listTokens();
      assert.ok(stored.every((row) => row.hash.length === 64 && row.hash !== created.secret));
      const actions = (await t.client.listEvents()).events.map((e) => e.action);
      assert.ok(actions.includes('token.create') && actions.includes('token.revoke'));
    });

    test('custom domains map to an environment', async () => {
      const d = await deployFiles(t.client, 'shop', { 'index.html': 'custom domain page' });
      await t.client.promote('shop', 'production', { deployment: d.id, reason: 'for the domain' });
      const domain = await t.client.addDomain('shop', { hostname: 'WWW.Shop.Test', environment: 'production' });
      assert.equal(domain.hostname, 'www.shop.test');
      assert.equal((await edgeGet(t.server.port, 'www.shop.test')).body, 'custom domain page');
      await rejectsWithCode(t.client.addDomain('shop', { hostname: 'www.shop.test', environment: 'production' }), 'DOMAIN_EXISTS', 409);
      await rejectsWithCode(t.client.addDomain('shop', { hostname: 'x.localhost', environment: 'production' }), 'DOMAIN_RESERVED', 400);
      await rejectsWithCode(t.client.addDomain('shop', { hostname: 'bad_host!', environment: 'production' }), 'INVALID_NAME', 400);
      await t.client.removeDomain('shop', 'www.shop.test');
      const after = await edgeGet(t.server.port, 'www.shop.test', '/healthz');
      assert.equal(after.status, 404, 'an unmapped host is nobody’s: neither a site nor the control plane');
      assert.equal(after.body, 'Not found\n');
    });

    test('bad requests get the error envelope with a stable code', async () => {
      await rejectsWithCode(t.client.createProject('shop'), 'PROJECT_EXISTS', 409);
      await rejectsWithCode(t.client.createProject('a--b'), 'INVALID_NAME', 400);
      await rejectsWithCode(t.client.getProjectStatus('nope'), 'PROJECT_NOT_FOUND', 404);
      await rejectsWithCode(t.client.promote('shop', 'dpl-env', { deployment: 'x' }), 'INVALID_NAME', 400);
      await rejectsWithCode(t.client.request('POST', '/api/v1/projects', { body: { nome: 'x' } }), 'INVALID_REQUEST', 400);
      await rejectsWithCode(t.client.request('GET', '/api/v1/nothing-here'), 'NOT_FOUND', 404);
      const response = await fetch(`http://127.0.0.1:${t.server.port}/api/v1/projects`, {
        method: 'POST',
        headers: { authorization: 'Bearer slw_test_admin_token', 'content-type': 'application/json' },
        body: '{"name": ',
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
      const big = await fetch(`http://127.0.0.1:${t.server.port}/api/v1/projects`, {
        method: 'POST',
        headers: { authorization: 'Bearer slw_test_admin_token', 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
      });
      assert.equal(big.status, 413);
      assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    });

    test('health, metrics and the OpenAPI document are served', async () => {
      const base = `http://127.0.0.1:${t.server.port}`;
      const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; store: string };
      assert.deepEqual([health.status, health.store], ['ok', backend.name]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /slipway_http_request_duration_seconds_bucket/);
      assert.match(metrics, /slipway_edge_requests_total/);
      const doc = (await (await fetch(`${base}/api/docs`)).json()) as { openapi: string; paths: Record<string, unknown> };
      assert.equal(doc.openapi, '3.1.0');
      assert.ok(doc.paths['/api/v1/projects/{project}/environments/{environment}/promote']);
    });
  });
}
