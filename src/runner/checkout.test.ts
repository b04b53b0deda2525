import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BuildFailure } from './build-failure.ts';
import { checkoutCommit, redactUrl } from './checkout.ts';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Ada Lovelace', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' };
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();

describe('checkoutCommit', () => {
  let base: string;
  let remote: string;
  let first: string;
  let second: string;
  let n = 0;
  const fresh = async () => {
    n += 1;
    const dir = join(base, `build-${n}`);
    return { gitDir: join(dir, 'git'), workTree: join(dir, 'src') };
  };

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'slipway-checkout-'));
    const work = join(base, 'work');
    await mkdir(join(work, 'site'), { recursive: true });
    git(work, 'init', '-q', '-b', 'main');
    await writeFile(join(work, 'site', 'index.html'), 'v1');
    await writeFile(join(work, '.gitattributes'), 'secret.txt export-ignore\n');
    await writeFile(join(work, 'secret.txt'), 'in the tree all the same');
    await symlink('site/index.html', join(work, 'link.html'));
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'First version', '-m', 'with a body');
    first = git(work, 'rev-parse', 'HEAD');
    await writeFile(join(work, 'site', 'index.html'), 'v2');
    git(work, 'commit', '-q', '-am', 'Second version');
    second = git(work, 'rev-parse', 'HEAD');
    remote = join(base, 'remote.git');
    git(base, 'init', '-q', '--bare', remote);
    git(work, 'push', '-q', remote, 'main');
  });
  after(() => rm(base, { recursive: true, force: true }));

  test('puts exactly that commit’s tree in the work tree, without .git, and reads author and subject', async () => {
    const dirs = await fresh();
    const commit = await checkoutCommit({ url: remote, commit: first, ref: 'refs/heads/main', ...dirs });
    assert.deepEqual(commit, { author: 'Ada Lovelace', message: 'First version' });
    assert.deepEqual((await readdir(dirs.workTree)).sort(), ['.gitattributes', 'link.html', 'secret.txt', 'site']);
    assert.equal(await readFile(join(dirs.workTree, 'site', 'index.html'), 'utf8'), 'v1');
    assert.equal(await readlink(join(dirs.workTree, 'link.html')), 'site/index.html');
  });

  test('works with file:// URLs and the tip commit', async () => {
    const dirs = await fresh();
    const commit = await checkoutCommit({ url: `file://${remote}`, commit: second, ref: 'refs/heads/main', ...dirs });
    assert.equal(commit.message, 'Second version');
    assert.equal(await readFile(join(dirs.workTree, 'site', 'index.html'), 'utf8'), 'v2');
  });

  test('a commit the repository does not have fails the build, after trying the ref', async () => {
    const notes: string[] = [];
    const missing = 'f'.repeat(40);
    await assert.rejects(
      checkoutCommit({ url: remote, commit: missing, ref: 'refs/heads/main', note: (t) => notes.push(t), ...(await fresh()) }),
      (err: unknown) => err instanceof BuildFailure && err.message.includes(`commit ${missing} is not in refs/heads/main`),
    );
    assert.match(notes[0] ?? '', /fetching refs\/heads\/main instead/);
  });

  test('an unreachable repository fails the build with git’s reason', async () => {
    await assert.rejects(
      checkoutCommit({ url: join(base, 'nope.git'), commit: first, ref: 'refs/heads/main', ...(await fresh()) }),
      (err: unknown) => err instanceof BuildFailure && /cannot fetch refs\/heads\/main from .*nope\.git/.test(err.message),
    );
  });

  test('refuses commit ids and refs that are not ids and refs', async () => {
    await assert.rejects(checkoutCommit({ url: remote, commit: '--upload-pack=x', ref: 'refs/heads/main', ...(await fresh()) }), BuildFailure);
    await assert.rejects(checkoutCommit({ url: remote, commit: first, ref: '--all', ...(await fresh()) }), BuildFailure);
  });

  test('redactUrl hides credentials in URLs', () => {
    assert.equal(redactUrl('https://user:s3cret@git.example.com/x.git'), 'https://***@git.example.com/x.git');
    assert.equal(redactUrl('fatal: https://tok@h/x.git not found'), 'fatal: https://***@h/x.git not found');
    assert.equal(redactUrl('/srv/repo.git'), '/srv/repo.git');
  });
});
