import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { BuildFailure } from './build-failure.ts';
import { collectOutput } from './collect-output.ts';

describe('collectOutput', () => {
  let base: string;
  let checkout: string;
  const dirs: string[] = [];
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'slipway-output-'));
    dirs.push(base);
    checkout = join(base, 'src');
    await mkdir(join(checkout, 'dist', 'assets'), { recursive: true });
    await writeFile(join(checkout, 'dist', 'index.html'), '<h1>hi</h1>');
    await writeFile(join(checkout, 'dist', 'assets', 'app.js'), 'x');
    await writeFile(join(checkout, 'dist', '.well-known'), 'dot files are deployed');
    await writeFile(join(checkout, 'README.md'), 'readme');
    await writeFile(join(base, 'secret.txt'), 'runner secret');
  });
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const failure = (pattern: RegExp) => (err: unknown) => err instanceof BuildFailure && pattern.test(err.message);

  test('lists the regular files of the output directory, relative to it', async () => {
    const tree = await collectOutput(checkout, 'dist');
    assert.deepEqual(
      tree.files.map((f) => f.path),
      ['.well-known', 'assets/app.js', 'index.html'],
    );
    const same = await collectOutput(checkout, './dist/');
    assert.deepEqual(same.files.map((f) => f.path), tree.files.map((f) => f.path));
  });

  test('"." is the whole checkout', async () => {
    const tree = await collectOutput(checkout, '.');
    assert.deepEqual(
      tree.files.map((f) => f.path),
      ['README.md', 'dist/.well-known', 'dist/assets/app.js', 'dist/index.html'],
    );
  });

  test('rejects outputs that escape the checkout: "..", absolute paths', async () => {
    for (const output of ['..', '../src', 'dist/../..', '/etc', `${checkout}/dist`, '..\\x']) {
      await assert.rejects(collectOutput(checkout, output), failure(/escapes the checkout/), output);
    }
  });

  test('an output that is itself a symlink out of the checkout', async () => {
    await symlink(base, join(checkout, 'out'));
    await assert.rejects(collectOutput(checkout, 'out'), failure(/^output "out" is a symlink to outside the checkout/));
  });

  test('a symlink in the output that resolves outside the checkout fails the build', async () => {
    await symlink(join(base, 'secret.txt'), join(checkout, 'dist', 'leak.txt'));
    await assert.rejects(collectOutput(checkout, 'dist'), failure(/^dist\/leak\.txt is a symlink to outside the checkout/));
  });

  test('a relative symlink climbing out fails too', async () => {
    await symlink('../../../secret.txt', join(checkout, 'dist', 'assets', 'leak.txt'));
    await assert.rejects(collectOutput(checkout, 'dist'), failure(/^dist\/assets\/leak\.txt is a symlink to outside the checkout/));
  });

  test('symlinks to files inside the checkout (even outside the output) are copied as files', async () => {
    await symlink('../README.md', join(checkout, 'dist', 'readme.txt'));
    await symlink('index.html', join(checkout, 'dist', '404.html'));
    const tree = await collectOutput(checkout, 'dist');
    const byPath = new Map(tree.files.map((f) => [f.path, f]));
    assert.equal(byPath.get('readme.txt')?.source, join(checkout, 'README.md'));
    assert.equal(byPath.get('404.html')?.source, join(checkout, 'dist', 'index.html'));
  });

  test('a missing output directory, or a file, fails with a clear message', async () => {
    await assert.rejects(collectOutput(checkout, 'build'), failure(/^output directory "build" does not exist: did the build command write it\?/));
    await assert.rejects(collectOutput(checkout, 'README.md'), failure(/^output "README.md" is not a directory/));
  });
});
