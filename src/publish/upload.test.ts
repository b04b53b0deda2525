import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApiError, SlipwayClient } from '../protocol/client.ts';
import { nodeTransport } from '../protocol/node-transport.ts';
import { PublishError } from './errors.ts';
import type { Progress } from './progress.ts';
import {
  BATCH_FILE_BYTES,
  BATCH_MAX_BYTES,
  BATCH_MAX_FILES,
  batchesOf,
  hashTree,
  KEPT_BYTES_BUDGET,
  mapConcurrent,
  readTree,
  uploadMissing,
  type LocalFile,
  type TreeFile,
} from './upload.ts';

const quiet: Progress = { advance: () => undefined, done: () => undefined };
const sha256 = (body: string | Buffer): string => createHash('sha256').update(body).digest('hex');

describe('readTree', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-tree-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('lists regular files with / paths and permission bits, skipping .git and .slipway.json', async () => {
    const root = join(dir, 'site');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await mkdir(join(root, '.git', 'objects'), { recursive: true });
    await mkdir(join(root, 'vendor', 'lib'), { recursive: true });
    await writeFile(join(root, 'index.html'), 'hi');
    await writeFile(join(root, 'a', 'b', 'run.sh'), 'echo');
    await chmod(join(root, 'a', 'b', 'run.sh'), 0o755);
    await writeFile(join(root, '.git', 'HEAD'), 'ref');
    await writeFile(join(root, 'vendor', 'lib', '.git'), 'gitdir: elsewhere'); // a submodule's pointer
    await writeFile(join(root, '.gitignore'), 'x');
    await writeFile(join(root, '.slipway.json'), '{"project":"web"}');
    await writeFile(join(root, 'a', '.slipway.json'), '{"project":"other"}');
    const tree = await readTree(root);
    assert.deepEqual(
      tree.files.map((f) => [f.path, f.mode]),
      [
        ['.gitignore', 0o644],
        ['a/b/run.sh', 0o755],
        ['index.html', 0o644],
      ],
    );
    const hashed = await hashTree(tree.files, 2, quiet);
    assert.equal(hashed.find((f) => f.path === 'index.html')?.sha256, sha256('hi'));
  });

  test('copies symlinked files inside the tree, skips symlinked directories and dangling links', async () => {
    const root = join(dir, 'links');
    await mkdir(join(root, 'docs'), { recursive: true });
    await writeFile(join(root, 'docs', 'main.html'), 'main');
    await symlink('docs/main.html', join(root, 'index.html'));
    await symlink('docs', join(root, 'alias'));
    await symlink('missing', join(root, 'dangling'));
    const tree = await readTree(root);
    assert.deepEqual(
      tree.files.map((f) => f.path),
      ['docs/main.html', 'index.html'],
    );
    assert.equal(tree.warnings.length, 2);
  });

  test('refuses a symlink that leaves the tree', async () => {
    const root = join(dir, 'escape');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(dir, 'outside.txt'), 'secret');
    await symlink('../../outside.txt', join(root, 'sub', 'x'));
    await assert.rejects(readTree(root), (err: unknown) => err instanceof PublishError && err.code === 'SYMLINK_OUTSIDE_ROOT');
  });

  test('a missing directory is a usage error', async () => {
    await assert.rejects(readTree(join(dir, 'nope')), (err: unknown) => err instanceof PublishError && err.code === 'NOT_A_DIRECTORY');
  });
});

describe('mapConcurrent', () => {
  test('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running -= 1;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
    assert.equal(peak, 3);
  });

  test('starts nothing new after a failure and throws the first error', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapConcurrent([1, 2, 3, 4, 5], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('boom');
        return n;
      }),
      /boom/,
    );
    assert.deepEqual(started, [1, 2]);
  });
});

describe('hashTree', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-hash-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const treeFile = async (name: string, bytes: Buffer): Promise<TreeFile> => {
    await writeFile(join(dir, name), bytes);
    return { path: name, source: join(dir, name), mode: 0o644, size: bytes.length };
  };

  test('keeps the bytes of small files only, and answers in the order it was given', async () => {
    const bodies: [string, Buffer][] = [
      ['large-1', Buffer.alloc(BATCH_FILE_BYTES + 1, 'l')],
      ['small-1', Buffer.from('small one')],
      ['large-2', Buffer.alloc(3 * BATCH_FILE_BYTES, 'L')],
      ['exactly-the-limit', Buffer.alloc(BATCH_FILE_BYTES, 'e')],
      ['small-2', Buffer.from('small two')],
      ['empty', Buffer.alloc(0)],
    ];
    const files = await Promise.all(bodies.map(([name, bytes]) => treeFile(name, bytes)));
    let advanced = 0;
    const hashed = await hashTree(files, 2, { advance: (n) => (advanced += n), done: () => undefined });
    assert.deepEqual(
      hashed.map((f) => [f.path, f.sha256, f.size, f.bytes?.toString('base64')]),
      bodies.map(([name, bytes]) => [name, sha256(bytes), bytes.length, name.startsWith('large') ? undefined : bytes.toString('base64')]),
    );
    assert.equal(advanced, bodies.reduce((sum, [, bytes]) => sum + bytes.length, 0));
  });

  test('keeps bytes only while they fit the memory budget', async () => {
    const count = KEPT_BYTES_BUDGET / BATCH_FILE_BYTES;
    const files: TreeFile[] = [];
    for (let i = 0; i <= count; i++) files.push(await treeFile(`mb-${i}`, Buffer.alloc(BATCH_FILE_BYTES, i)));
    files.push(await treeFile('tiny-after', Buffer.from('tiny')));
    const hashed = await hashTree(files, 2, quiet);
    const kept = hashed.filter((f) => f.bytes !== undefined).map((f) => f.path);
    assert.deepEqual(kept, files.slice(0, count).map((f) => f.path));
    assert.equal(hashed.at(-1)?.sha256, sha256('tiny'));
  });
});

describe('batchesOf', () => {
  const sized = (sizes: readonly number[]): LocalFile[] =>
    sizes.map((size, i) => ({ path: `f${i}`, source: `/nowhere/f${i}`, sha256: String(i).padStart(64, '0'), size, mode: 0o644 }));
  const shape = (batches: LocalFile[][]) => batches.map((b) => b.length);

  test('closes a batch at BATCH_MAX_FILES files', () => {
    const files = sized(Array.from({ length: 2 * BATCH_MAX_FILES + 1 }, () => 1));
    const batches = batchesOf(files);
    assert.deepEqual(shape(batches), [BATCH_MAX_FILES, BATCH_MAX_FILES, 1]);
    assert.deepEqual(batches.flat(), files);
  });

  test('closes a batch before it would pass BATCH_MAX_BYTES', () => {
    const perBatch = BATCH_MAX_BYTES / BATCH_FILE_BYTES;
    assert.deepEqual(shape(batchesOf(sized(Array.from({ length: 2 * perBatch + 3 }, () => BATCH_FILE_BYTES)))), [perBatch, perBatch, 3]);
    assert.deepEqual(shape(batchesOf(sized([BATCH_MAX_BYTES - 10, 10, 1, BATCH_MAX_BYTES]))), [2, 1, 1]);
    assert.deepEqual(batchesOf([]), []);
  });

  test('keeps order and both caps on a mixed tree', () => {
    const files = sized(Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? BATCH_FILE_BYTES : (i * 7919) % 20_000)));
    const batches = batchesOf(files);
    assert.deepEqual(batches.flat(), files);
    for (const batch of batches) {
      assert.ok(batch.length >= 1 && batch.length <= BATCH_MAX_FILES, `${batch.length} files`);
      const bytes = batch.reduce((sum, f) => sum + f.size, 0);
      assert.ok(bytes <= BATCH_MAX_BYTES, `${bytes} bytes`);
    }
  });
});

/**
 * uploadMissing against a real HTTP server that fails on purpose. It takes single blobs
 * (PUT /api/v1/blobs/<digest>) and batches (multipart POST /api/v1/blobs, parsed for real).
 */
// Both transports of the client: fetch (the dashboard's, the runner's) and node:http (the CLI's).
for (const transport of ['fetch', 'node:http'] as const) describe(`uploadMissing (${transport})`, () => {
  let dir: string;
  let url: string;
  /** Tries per digest, whether alone or in a batch. */
  const attempts = new Map<string, number>();
  /** How each digest's uploads answer, in order; the last answer repeats. A batch answers with its first failure. */
  const script = new Map<string, number[]>();
  /** Every request the server saw. */
  const requests: { kind: 'put' | 'batch'; digests: string[] }[] = [];
  /** The bodies of accepted uploads, by digest. */
  const received = new Map<string, Buffer>();

  const blobsOf = async (req: IncomingMessage, body: Buffer): Promise<{ kind: 'put' | 'batch'; blobs: [string, Buffer][] }> => {
    if (req.method === 'PUT') return { kind: 'put', blobs: [[(req.url ?? '').split('/').at(-1) ?? '', body]] };
    assert.equal(req.url, '/api/v1/blobs');
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const blobs: [string, Buffer][] = [];
    for (const [name, value] of form) {
      assert.ok(value instanceof Blob, `part ${name} is a file`);
      blobs.push([name, Buffer.from(await value.arrayBuffer())]);
    }
    return { kind: 'batch', blobs };
  };

  const answer = async (req: IncomingMessage, body: Buffer): Promise<[number, unknown]> => {
    const { kind, blobs } = await blobsOf(req, body);
    requests.push({ kind, digests: blobs.map(([digest]) => digest) });
    // As the real server does: a body that does not hash to its name is refused and not stored.
    if (blobs.some(([digest, bytes]) => sha256(bytes) !== digest)) return [422, { error: { code: 'DIGEST_MISMATCH', message: 'body does not match' } }];
    let status = 201;
    for (const [digest] of blobs) {
      const n = (attempts.get(digest) ?? 0) + 1;
      attempts.set(digest, n);
      const statuses = script.get(digest) ?? [201];
      const own = statuses[Math.min(n, statuses.length) - 1] ?? 201;
      if (status < 300) status = own;
    }
    if (status >= 300) return [status, { error: { code: status >= 500 ? 'INTERNAL' : status === 422 ? 'DIGEST_MISMATCH' : 'INVALID_REQUEST', message: 'no' } }];
    for (const [digest, bytes] of blobs) received.set(digest, bytes);
    const stored = blobs.map(([digest, bytes]) => ({ digest, size: bytes.length, created: true }));
    return [status, kind === 'put' ? stored[0] : { blobs: stored }];
  };

  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      answer(req, Buffer.concat(chunks)).then(
        ([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          res.writeHead(400, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: { code: 'INVALID_REQUEST', message: String(err) } }));
        },
      );
    });
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-upload-'));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    requests.length = 0;
  });
  after(async () => {
    http.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A hashed file as the manifest has it, without kept bytes: the upload reads it again. */
  const fileWith = async (name: string, body: string | Buffer): Promise<LocalFile> => {
    await writeFile(join(dir, name), body);
    return { path: name, source: join(dir, name), sha256: sha256(body), size: Buffer.byteLength(body), mode: 0o644 };
  };
  /** A large file: one PUT of its own. */
  const largeWith = (name: string, fill: string) => fileWith(name, Buffer.alloc(BATCH_FILE_BYTES + 1, fill));
  const client = () => new SlipwayClient({ url, token: 't', ...(transport === 'node:http' ? { transport: nodeTransport().send } : {}) });

  test('retries 5xx answers and sends each missing blob once', async () => {
    const a = await fileWith('a', 'flaky');
    const b = await largeWith('b', 'steady');
    script.set(a.sha256, [503, 502, 201]);
    const sent = await uploadMissing(client(), [a.sha256, b.sha256, a.sha256], [a, b], { concurrency: 8, attempts: 3, progress: quiet, backoffMs: 1 });
    assert.deepEqual(sent, { blobs: 2, bytes: a.size + b.size });
    assert.equal(attempts.get(a.sha256), 3);
    assert.equal(attempts.get(b.sha256), 1);
    assert.deepEqual(requests.filter((r) => r.kind === 'batch').map((r) => r.digests), [[a.sha256], [a.sha256], [a.sha256]]);
    assert.deepEqual(requests.filter((r) => r.kind === 'put').map((r) => r.digests), [[b.sha256]]);
    assert.equal(received.get(a.sha256)?.toString(), 'flaky');
    assert.equal(received.get(b.sha256)?.length, b.size);
  });

  test('gives up after the last attempt, and never retries a 4xx', async () => {
    const c = await fileWith('c', 'down');
    const d = await fileWith('d', 'bad');
    const e = await largeWith('e', 'down and large');
    const f = await largeWith('f', 'bad and large');
    for (const [file, status] of [[c, 500], [d, 422], [e, 503], [f, 400]] as const) script.set(file.sha256, [status]);
    const options = { concurrency: 1, attempts: 3, progress: quiet, backoffMs: 1 };
    await assert.rejects(uploadMissing(client(), [c.sha256], [c], options), (err: unknown) => err instanceof ApiError && err.status === 500);
    assert.equal(attempts.get(c.sha256), 3);
    await assert.rejects(uploadMissing(client(), [d.sha256], [d], options), (err: unknown) => err instanceof ApiError && err.code === 'DIGEST_MISMATCH');
    assert.equal(attempts.get(d.sha256), 1);
    await assert.rejects(uploadMissing(client(), [e.sha256], [e], options), (err: unknown) => err instanceof ApiError && err.status === 503);
    assert.equal(attempts.get(e.sha256), 3);
    await assert.rejects(uploadMissing(client(), [f.sha256], [f], options), (err: unknown) => err instanceof ApiError && err.status === 400);
    assert.equal(attempts.get(f.sha256), 1);
    assert.deepEqual(requests.map((r) => r.kind), ['batch', 'batch', 'batch', 'batch', 'put', 'put', 'put', 'put']);
  });

  test('after a batch fails, no more large files start, and the batch’s error is the one thrown', async () => {
    const small = await fileWith('refused-small', 'refused');
    script.set(small.sha256, [422]);
    const large = await Promise.all(Array.from({ length: 6 }, (_, i) => largeWith(`queued-large-${i}`, String(i))));
    await assert.rejects(
      uploadMissing(client(), [small.sha256, ...large.map((f) => f.sha256)], [small, ...large], { concurrency: 3, attempts: 1, progress: quiet }),
      (err: unknown) => err instanceof ApiError && err.code === 'DIGEST_MISMATCH',
    );
    const puts = requests.filter((r) => r.kind === 'put').length;
    assert.ok(puts < large.length, `${puts} of ${large.length} large files were still sent`);
  });

  test('a small file without kept bytes that changed since hashing fails with FILE_CHANGED before it is sent', async () => {
    const small = await fileWith('changed-small', 'before');
    await writeFile(small.source, 'after!');
    await assert.rejects(
      uploadMissing(client(), [small.sha256], [small], { concurrency: 1, attempts: 3, progress: quiet }),
      (err: unknown) => err instanceof PublishError && err.code === 'FILE_CHANGED',
    );
    assert.equal(attempts.get(small.sha256), undefined);
    assert.deepEqual(requests, []);
  });

  test('a large file streams from disk; one changed since hashing is refused by the server and fails with FILE_CHANGED, untried again', async () => {
    const large = await largeWith('changed-large', 'x');
    await writeFile(large.source, Buffer.alloc(large.size, 'y'));
    await assert.rejects(
      uploadMissing(client(), [large.sha256], [large], { concurrency: 1, attempts: 3, progress: quiet }),
      (err: unknown) => err instanceof PublishError && err.code === 'FILE_CHANGED',
    );
    assert.deepEqual(requests, [{ kind: 'put', digests: [large.sha256] }]);
    assert.equal(received.has(large.sha256), false);

    const steady = await largeWith('steady-large', 'z');
    await uploadMissing(client(), [steady.sha256], [steady], { concurrency: 1, attempts: 3, progress: quiet });
    assert.deepEqual(received.get(steady.sha256), await readFile(steady.source));
  });

  test('a file with kept bytes is uploaded as it was hashed, whatever happened to it on disk since', async () => {
    const changed = { ...(await fileWith('kept-changed', 'as hashed')), bytes: Buffer.from('as hashed') };
    await writeFile(changed.source, 'rewritten');
    const deleted = { ...(await fileWith('kept-deleted', 'gone since')), bytes: Buffer.from('gone since') };
    await rm(deleted.source);
    const sent = await uploadMissing(client(), [changed.sha256, deleted.sha256], [changed, deleted], { concurrency: 4, attempts: 1, progress: quiet });
    assert.deepEqual(sent, { blobs: 2, bytes: changed.size + deleted.size });
    assert.equal(received.get(changed.sha256)?.toString(), 'as hashed');
    assert.equal(received.get(deleted.sha256)?.toString(), 'gone since');
    assert.deepEqual(requests, [{ kind: 'batch', digests: [changed.sha256, deleted.sha256] }]);
  });

  test('a hashed tree goes up as batches of small files and a PUT per large file', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'assets'), { recursive: true });
    const small = 2 * BATCH_MAX_FILES + 200;
    for (let i = 0; i < small; i++) await writeFile(join(root, 'assets', `${i}.txt`), `small file ${i}`);
    await writeFile(join(root, 'limit.bin'), Buffer.alloc(BATCH_FILE_BYTES, 'm'));
    await writeFile(join(root, 'over-1.bin'), Buffer.alloc(BATCH_FILE_BYTES + 1, 'o'));
    await writeFile(join(root, 'over-2.bin'), Buffer.alloc(2 * BATCH_FILE_BYTES, 'p'));
    const files = await hashTree((await readTree(root)).files, 4, quiet);
    const digests = files.map((f) => f.sha256);
    const sent = await uploadMissing(client(), digests, files, { concurrency: 4, attempts: 1, progress: quiet });
    assert.deepEqual(sent, { blobs: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) });

    const puts = requests.filter((r) => r.kind === 'put');
    const batches = requests.filter((r) => r.kind === 'batch');
    const large = files.filter((f) => f.path.startsWith('over-')).map((f) => [f.sha256]);
    assert.deepEqual(puts.map((r) => r.digests).sort(), large.sort());
    // The file of exactly BATCH_FILE_BYTES still travels in a batch.
    assert.deepEqual(
      batches.map((r) => r.digests.length).sort((x, y) => x - y),
      [small + 1 - 2 * BATCH_MAX_FILES, BATCH_MAX_FILES, BATCH_MAX_FILES],
    );
    assert.deepEqual(requests.flatMap((r) => r.digests).sort(), [...digests].sort());
    for (const file of files) assert.equal(received.get(file.sha256)?.equals(await readFile(file.source)), true, file.path);
  });
});
