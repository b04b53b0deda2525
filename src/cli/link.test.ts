import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { findLink, readLink, writeLink } from './link.ts';

const exec = promisify(execFile);

describe('findLink', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-link-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('finds the nearest link up to the git root, and nothing above it', async () => {
    const repo = join(dir, 'above', 'repo');
    const deep = join(repo, 'a', 'b');
    await mkdir(deep, { recursive: true });
    await exec('git', ['init', '-q', repo]);
    await writeFile(join(dir, 'above', '.slipway.json'), '{"project":"outside"}');
    assert.deepEqual(await findLink(deep), { ok: true, link: undefined });
    await writeLink(repo, { project: 'root' });
    assert.deepEqual(await findLink(deep), { ok: true, link: { project: 'root', path: join(repo, '.slipway.json') } });
    await writeLink(join(repo, 'a'), { project: 'nearer' });
    const nearest = await findLink(deep);
    assert.equal(nearest.ok ? nearest.link?.project : undefined, 'nearer');
  });

  test('outside a work tree only the directory itself counts', async () => {
    const plain = join(dir, 'plain', 'sub');
    await mkdir(plain, { recursive: true });
    await writeLink(join(dir, 'plain'), { project: 'parent' });
    assert.deepEqual(await findLink(plain), { ok: true, link: undefined });
    assert.equal((await findLink(join(dir, 'plain'))).ok, true);
  });

  test('a malformed link is CONFIG_INVALID, never skipped, and never read whole', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    const file = join(bad, '.slipway.json');
    for (const text of ['', '{', '{"project":"UPPER"}', '{"project":"a--b"}', '{"project":"web","token":"t"}', '"web"', `{"project":"${'x'.repeat(70_000)}"}`]) {
      await writeFile(file, text);
      const found = await readLink(file);
      assert.equal(found.ok, false, text.slice(0, 40));
      assert.equal(!found.ok && found.code, 'CONFIG_INVALID');
    }
    await writeFile(file, 'SLIPWAY_TOKEN=slw_secret_value');
    const secret = await readLink(file);
    assert.equal(!secret.ok && secret.code, 'CONFIG_INVALID');
    assert.doesNotMatch(JSON.stringify(secret), /slw_secret|SLIPWAY_TOKEN/, 'the content is never echoed');
    await rm(file);
    await symlink('/dev/zero', file);
    const zero = await readLink(file);
    assert.equal(!zero.ok && zero.code, 'CONFIG_INVALID', 'a device behind a symlink is not read');
    await rm(file);
    // A symlink to a secret that happens to parse is refused too: link files are not followed.
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, '{"project":"web"}');
    await symlink(elsewhere, file);
    const linked = await readLink(file);
    assert.equal(!linked.ok && linked.code, 'CONFIG_INVALID');
    await rm(file);
    await exec('mkfifo', [file]);
    const fifo = await readLink(file);
    assert.equal(!fifo.ok && fifo.code, 'CONFIG_INVALID', 'a FIFO is not opened (it would block)');
  });
});
