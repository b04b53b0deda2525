import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { writeJournal } from '../src/blobs/fs/batch-journal.ts';
import { canonicalManifest, type ManifestEntry } from '../src/core/manifest.ts';
import { isSlipwayError } from '../src/core/errors.ts';
import { lockDataDir } from '../src/server/data-dir-lock.ts';
import { startServer } from '../src/server/server.ts';
import { newId } from '../src/server/services/ids.ts';
import { backends } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { ADMIN_TOKEN, deployFiles, sha256, startTestServer, type TestServer } from './support/server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends requests on one keep-alive connection, back to back, and splits what comes back by
 * each response's own Content-Length, as a proxy or browser reusing the connection would.
 * Bytes a response sends past its Content-Length become the start of the next "response".
 */
function pipelined(port: number, requests: string[]): Promise<{ responses: RawResponse[]; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ responses: splitResponses(raw), raw });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (splitResponses(Buffer.concat(chunks)).length >= requests.length) setTimeout(finish, 200);
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', reject);
    socket.setTimeout(10_000, finish);
    socket.write(requests.join(''));
  });
}

function splitResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = raw.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headEnd + 4;
    if (bodyStart + length > raw.length) break;
    out.push({ status, headers, body: raw.subarray(bodyStart, bodyStart + length) });
    at = bodyStart + length;
  }
  return out;
}

function rawPut(port: number, path: string, contentType: string | undefined, body: string): Promise<{ status: number; body: string }> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: path.endsWith('/blobs') ? 'POST' : 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
    body,
  }).then(async (res) => ({ status: res.status, body: await res.text() }));
}

describe('blob uploads take binary bodies only', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(backends[0]!);
  });
  after(() => t.dispose());

  test('PUT /blobs with a JSON, text or form body is 415 UNSUPPORTED_MEDIA_TYPE and stores nothing', async () => {
    const cases: [string | undefined, string][] = [
      ['application/json', '{"a":1}'],
      ['application/json; charset=utf-8', '"hello"'],
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'a=1&b=2'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'],
      ['image/png', 'not really'],
      [undefined, 'no type at all'],
    ];
    for (const [type, body] of cases) {
      const res = await rawPut(t.server.port, `/api/v1/blobs/${sha256(body)}`, type, body);
      assert.equal(res.status, 415, `${type}: ${res.body}`);
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.equal(await t.server.deps.blobs.has(sha256(body)), false, `${type} stored nothing`);
    }
    // The binary type, with or without parameters, still works.
    const ok = await rawPut(t.server.port, `/api/v1/blobs/${sha256('bin')}`, 'Application/Octet-Stream; x=1', 'bin');
    assert.equal(ok.status, 201, ok.body);
    assert.equal(await t.server.deps.blobs.size(sha256('bin')), 3);
  });

  test('POST /blobs with a body that is not multipart is 415', async () => {
    for (const [type, body] of [
      ['application/json', '{"blobs":[]}'],
      ['text/plain', 'x'],
      ['application/octet-stream', 'x'],
    ] as const) {
      const res = await rawPut(t.server.port, '/api/v1/blobs', type, body);
      assert.equal(res.status, 415, `${type}: ${res.body}`);
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
    // The multipart batch itself is unchanged.
    const stored = await t.client.putBlobs([{ digest: sha256('batch-ok'), bytes: Buffer.from('batch-ok') }]);
    assert.equal(stored.blobs[0]?.size, 8);
  });
});

for (const backend of backends) {
  describe(`declared sizes on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
    });
    after(() => t.dispose());

    test('finalize refuses a manifest whose sizes are not its blobs’ sizes (BLOB_SIZE_MISMATCH), naming the paths', async () => {
      const big = randomBytes(4096);
      const upload = await t.client.createUpload('shop', {
        files: [
          { path: 'index.html', sha256: sha256('<h1>ok</h1>'), size: 11, mode: 0o644 },
          { path: 'small.txt', sha256: sha256(big), size: 5, mode: 0o644 },
          { path: 'zero.txt', sha256: sha256('abc'), size: 0, mode: 0o644 },
        ],
      });
      await t.client.putBlob(sha256('<h1>ok</h1>'), Buffer.from('<h1>ok</h1>'));
      await t.client.putBlob(sha256(big), big);
      await t.client.putBlob(sha256('abc'), Buffer.from('abc'));
      const err = await rejectsWithCode(t.client.finalizeUpload('shop', upload.id), 'BLOB_SIZE_MISMATCH', 422);
      const files = (err.details as { files: { path: string; declared: number; actual: number }[] }).files;
      assert.deepEqual(
        files.map((f) => [f.path, f.declared, f.actual]),
        [
          ['small.txt', 5, 4096],
          ['zero.txt', 0, 3],
        ],
      );
      assert.deepEqual((await t.client.listDeployments('shop')).deployments, [], 'no deployment was made');
      // The same upload with true sizes goes through.
      const good = await deployFiles(t.client, 'shop', { 'index.html': '<h1>ok</h1>', 'small.txt': big.toString('latin1') });
      assert.ok(good.id);
    });
  });
}

describe('the edge never trusts a declared size', () => {
  let t: TestServer;
  let host: string;
  const small = randomBytes(6000);
  const large = randomBytes(400 * 1024);
  const good = 'second response';
  before(async () => {
    t = await startTestServer(backends[0]!);
    const project = await t.client.createProject('shop');
    // A deployment made before finalize checked sizes: its manifest lies about two files.
    const { store, blobs } = t.server.deps;
    const entries: ManifestEntry[] = [
      { path: 'good.txt', sha256: await blobs.putBytes(Buffer.from(good)), size: good.length, mode: 0o644 },
      { path: 'small.txt', sha256: await blobs.putBytes(small), size: 5, mode: 0o644 },
      { path: 'large.bin', sha256: await blobs.putBytes(large), size: 5, mode: 0o644 },
      { path: 'one.bin', sha256: await blobs.putBytes(large), size: 1, mode: 0o644 },
      { path: 'short.bin', sha256: await blobs.putBytes(Buffer.from('tiny')), size: 300 * 1024, mode: 0o644 },
    ].sort((a, b) => (a.path < b.path ? -1 : 1));
    const manifestDigest = await blobs.putBytes(Buffer.from(canonicalManifest(entries)));
    const id = newId('dpl');
    const projectId = (await store.findProjectByName(project.name))!.id;
    await store.insertDeployment({
      id,
      projectId,
      manifestDigest,
      fileCount: entries.length,
      totalBytes: 0,
      meta: {},
      createdAt: new Date().toISOString(),
      createdBy: 'test',
    });
    host = `${id}--shop.localhost:${t.server.port}`;
  });
  after(() => t.dispose());

  for (const path of ['small.txt', 'large.bin', 'one.bin', 'short.bin']) {
    test(`${path}: a mismatched body is a 502 and the next response on the connection is intact`, async () => {
      const get = (p: string) => `GET /${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`;
      const { responses, raw } = await pipelined(t.server.port, [get(path), get('good.txt')]);
      assert.equal(responses.length, 2, `two responses, got: ${raw.subarray(0, 400).toString('latin1')}`);
      const [first, second] = responses as [RawResponse, RawResponse];
      assert.equal(first.status, 502);
      assert.equal(second.status, 200, 'the second response starts where the first one said it ends');
      assert.equal(second.body.toString(), good);
      // Nothing of the blob leaked onto the connection.
      assert.equal(raw.indexOf(small.subarray(0, 64)), -1);
      assert.equal(raw.indexOf(large.subarray(0, 64)), -1);
    });
  }

  test('a range request of a mismatched file does not send its bytes either', async () => {
    const { responses } = await pipelined(t.server.port, [
      `GET /large.bin HTTP/1.1\r\nHost: ${host}\r\nRange: bytes=0-3\r\n\r\n`,
      `GET /good.txt HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    ]);
    assert.equal(responses[0]?.status, 502);
    assert.equal(responses[1]?.body.toString(), good);
  });

  test('no temp file of a blob is left behind by any of this', async () => {
    assert.deepEqual(await readdir(join(t.dataDir, 'blobs', 'tmp')), []);
  });
});

const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));

/** `slipway server` as its own process; resolves with how it ended, or with the running child. */
function cliServer(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, 'server', '--port', '0', '--data', dataDir, '--log-level', 'warn', '--database-url', join(dataDir, 'other.db')],
      { timeout: 60_000, env: { PATH: process.env.PATH ?? '' } },
      (err: Error | null, _stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (err !== null && typeof code !== 'number') reject(err);
        else resolve({ code: typeof code === 'number' ? code : 0, stderr });
      },
    );
  });
}

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

describe('one server per data directory', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(backends[0]!);
  });
  after(() => t.dispose());

  test('a second server on the same data directory is refused with DATA_DIR_IN_USE before it replays anything', async () => {
    // A journal the running server is settling as far as a second server could tell: it must not be touched.
    const journal = await writeJournal(join(t.dataDir, 'blobs', 'journal'), [{ digest: sha256('in flight'), bytes: Buffer.from('in flight') }]);
    await writeFile(join(t.dataDir, 'blobs', 'tmp', 'upload-in-progress'), 'a PUT still streaming');
    const second = await cliServer(t.dataDir);
    assert.equal(second.code, 4, second.stderr);
    assert.match(second.stderr, /DATA_DIR_IN_USE/);
    assert.match(second.stderr, new RegExp(`in use by another Slipway server \\(pid ${process.pid}\\)`));
    assert.deepEqual(await readdir(join(t.dataDir, 'blobs', 'journal')), [journal.split('/').pop()], 'the journal was not replayed');
    assert.deepEqual(await readdir(join(t.dataDir, 'blobs', 'tmp')), ['upload-in-progress'], 'no temp file was removed');
    assert.equal(await t.server.deps.blobs.has(sha256('in flight')), false);
    // In the same process, too.
    await assert.rejects(
      startServer({ dataDir: t.dataDir, port: 0, quiet: true, runners: 0, databaseUrl: join(t.dataDir, 'third.db') }),
      (err: unknown) => isSlipwayError(err, 'DATA_DIR_IN_USE'),
    );
    // The first server is unharmed and still holds its lock.
    assert.equal((await t.client.whoami()).actor.role, 'admin');
    assert.equal(await readlink(join(t.dataDir, 'slipway.lock')), `${process.pid}:${startTimeOf(process.pid)}`);
  });
});

describe('a data directory left by a crash', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const dataDir = async (lock?: string): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-crashed-'));
    dirs.push(dir);
    await mkdir(join(dir, 'blobs', 'tmp'), { recursive: true });
    await writeFile(join(dir, 'blobs', 'tmp', `${sha256('x')}.0123456789ab`), 'half of an upload');
    await writeFile(join(dir, 'blobs', 'tmp', `${sha256('y')}.ba9876543210`), '');
    if (lock !== undefined) await symlink(lock, join(dir, 'slipway.lock'));
    return dir;
  };
  const start = (dir: string) => startServer({ dataDir: dir, port: 0, quiet: true, runners: 0 });

  test('temp files of crashed uploads are removed at start, however young', async () => {
    const dir = await dataDir();
    const server = await start(dir);
    try {
      assert.deepEqual(await readdir(join(dir, 'blobs', 'tmp')), []);
    } finally {
      await server.close();
    }
    await assert.rejects(readlink(join(dir, 'slipway.lock')), /ENOENT/, 'close releases the lock');
  });

  test('the lock of a dead process, or of a pid now used by a process started at another time, is taken over', async () => {
    const child = spawn('sleep', ['30']);
    try {
      const livePid = child.pid as number;
      for (const stale of ['2147483646:12345', `${livePid}:1`, `${process.pid}:1`, 'garbage']) {
        const dir = await dataDir(stale);
        const server = await start(dir);
        try {
          assert.equal(await readlink(join(dir, 'slipway.lock')), `${process.pid}:${startTimeOf(process.pid)}`, stale);
          assert.deepEqual(await readdir(join(dir, 'blobs', 'tmp')), [], stale);
        } finally {
          await server.close();
        }
      }
      // A plain file under the lock's name is no server's lock either.
      const plain = await dataDir();
      await writeFile(join(plain, 'slipway.lock'), '12345');
      const server = await start(plain);
      await server.close();
      // The same pid and start time: that process still runs, so the directory is its.
      const dir = await dataDir(`${livePid}:${startTimeOf(livePid)}`);
      await assert.rejects(start(dir), (err: unknown) => isSlipwayError(err, 'DATA_DIR_IN_USE'));
      assert.equal((await readdir(join(dir, 'blobs', 'tmp'))).length, 2, 'nothing was cleaned up');
    } finally {
      child.kill();
    }
  });
});

/** A manifest body of `count` files whose paths are long enough to make it over a megabyte. */
function bigManifest(count: number, last?: string): string {
  const files = Array.from({ length: count }, (_, i) => ({ path: `assets/${'x'.repeat(150)}/file-${i}.js`, sha256: sha256(`body ${i % 50}`), size: 7, mode: 0o644 }));
  if (last !== undefined) files.push({ path: last, sha256: sha256('x'), size: 1, mode: 0o644 });
  return JSON.stringify({ files });
}

async function postUpload(port: number, body: string, project = 'shop'): Promise<{ status: number; json: { error?: { code: string; details?: unknown }; missing?: string[]; fileCount?: number } }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/projects/${project}/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe('large manifests are validated off the event loop', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(backends[0]!);
    await t.client.createProject('shop');
  });
  after(() => t.dispose());

  test('a manifest of several megabytes is accepted, and its errors keep their codes', async () => {
    const body = bigManifest(8000);
    assert.ok(body.length > 1024 * 1024);
    const ok = await postUpload(t.server.port, body);
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    assert.equal(ok.json.fileCount, 8000);
    assert.equal(ok.json.missing?.length, 50);
    const traversal = await postUpload(t.server.port, bigManifest(8000, 'assets/../../etc/passwd'));
    assert.equal(traversal.status, 400);
    assert.equal(traversal.json.error?.code, 'MANIFEST_PATH_TRAVERSAL');
    assert.deepEqual(traversal.json.error?.details, { path: 'assets/../../etc/passwd' });
    const conflict = await postUpload(t.server.port, bigManifest(8000, `assets/${'x'.repeat(150)}/file-7.js/inner`));
    assert.equal(conflict.json.error?.code, 'MANIFEST_PATH_CONFLICT');
    const notJson = await postUpload(t.server.port, `${body.slice(0, -2)},`);
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error?.code, 'INVALID_REQUEST');
    const badShape = await postUpload(t.server.port, JSON.stringify({ files: 'x'.repeat(600 * 1024) }));
    assert.equal(badShape.json.error?.code, 'INVALID_REQUEST');
    // A small one is still handled inline, the same way.
    const small = await postUpload(t.server.port, JSON.stringify({ files: [{ path: '../x', sha256: sha256('x'), size: 1, mode: 0o644 }] }));
    assert.equal(small.json.error?.code, 'MANIFEST_PATH_TRAVERSAL');
    const wrongType = await fetch(`http://127.0.0.1:${t.server.port}/api/v1/projects/shop/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
      body,
    });
    assert.equal(wrongType.status, 415);
  });

  test('the worker loads TypeScript the way bin/slipway does', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'slipway-worker-'));
    const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data', dataDir, '--log-level', 'warn', '--json'], {
      env: { PATH: process.env.PATH ?? '', SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) resolve((JSON.parse(line) as { port: number }).port);
        });
        child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      const created = await fetch(`http://127.0.0.1:${port}/api/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'shop' }),
      });
      assert.equal(created.status, 201);
      const ok = await postUpload(port, bigManifest(8000));
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
      const bad = await postUpload(port, bigManifest(8000, '/abs'));
      assert.equal(bad.json.error?.code, 'MANIFEST_PATH_ABSOLUTE');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a new data directory', () => {
  test('is created readable by the server user only', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'slipway-datadir-'));
    const dataDir = join(parent, 'fresh', 'data');
    try {
      const lock = await lockDataDir(dataDir);
      assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
      await lock.release();
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
