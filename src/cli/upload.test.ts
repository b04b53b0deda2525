import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiError, SlipwayClient } from '../protocol/client.ts';
import { CliError } from './context.ts';
import type { Progress } from './progress.ts';
import { hashTree, mapConcurrent, readTree, uploadMissing } from './upload.ts';

const quiet: Progress = { advance: () => undefined, done: () => undefined };
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('readTree', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-tree-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('lists regular files with / paths and permission bits, skipping .git', async () => {
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
    await assert.rejects(readTree(root), (err: unknown) => err instanceof CliError && err.code === 'SYMLINK_OUTSIDE_ROOT');
  });

  test('a missing directory is a usage error', async () => {
    await assert.rejects(readTree(join(dir, 'nope')), (err: unknown) => err instanceof CliError && err.code === 'USAGE');
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

/** uploadMissing against a real HTTP server that fails on purpose. */
describe('uploadMissing', () => {
  let dir: string;
  let url: string;
  const attempts = new Map<string, number>();
  /** How each digest's PUTs answer, in order; the last answer repeats. */
  const script = new Map<string, number[]>();
  const http = createServer((req, res) => {
    const digest = (req.url ?? '').split('/').at(-1) ?? '';
    const n = (attempts.get(digest) ?? 0) + 1;
    attempts.set(digest, n);
    const statuses = script.get(digest) ?? [201];
    const status = statuses[Math.min(n, statuses.length) - 1] ?? 201;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(status < 300 ? { digest, size: 0, created: true } : { error: { code: status >= 500 ? 'INTERNAL' : 'DIGEST_MISMATCH', message: 'no' } }));
    });
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-upload-'));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    http.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fileWith = async (name: string, body: string) => {
    await writeFile(join(dir, name), body);
    return { path: name, source: join(dir, name), sha256: sha256(body), size: body.length, mode: 0o644 };
  };

  test('retries 5xx answers and sends each missing blob once', async () => {
    const a = await fileWith('a', 'flaky');
    const b = await fileWith('b', 'steady');
    script.set(a.sha256, [503, 502, 201]);
    const client = new SlipwayClient({ url, token: 't' });
    const sent = await uploadMissing(client, [a.sha256, b.sha256, a.sha256], [a, b], { concurrency: 8, attempts: 3, progress: quiet, backoffMs: 1 });
    assert.deepEqual(sent, { blobs: 2, bytes: 'flaky'.length + 'steady'.length });
    assert.equal(attempts.get(a.sha256), 3);
    assert.equal(attempts.get(b.sha256), 1);
  });

  test('gives up after the last attempt, and never retries a 4xx', async () => {
    const c = await fileWith('c', 'down');
    const d = await fileWith('d', 'bad');
    script.set(c.sha256, [500]);
    script.set(d.sha256, [422]);
    const client = new SlipwayClient({ url, token: 't' });
    const options = { concurrency: 1, attempts: 3, progress: quiet, backoffMs: 1 };
    await assert.rejects(uploadMissing(client, [c.sha256], [c], options), (err: unknown) => err instanceof ApiError && err.status === 500);
    assert.equal(attempts.get(c.sha256), 3);
    await assert.rejects(uploadMissing(client, [d.sha256], [d], options), (err: unknown) => err instanceof ApiError && err.code === 'DIGEST_MISMATCH');
    assert.equal(attempts.get(d.sha256), 1);
  });

  test('a file changed since hashing fails with FILE_CHANGED before it is sent', async () => {
    const e = await fileWith('e', 'before');
    await writeFile(e.source, 'after!');
    const client = new SlipwayClient({ url, token: 't' });
    await assert.rejects(
      uploadMissing(client, [e.sha256], [e], { concurrency: 1, attempts: 3, progress: quiet }),
      (err: unknown) => err instanceof CliError && err.code === 'FILE_CHANGED',
    );
    assert.equal(attempts.get(e.sha256), undefined);
  });
});
