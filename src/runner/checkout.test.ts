import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BuildFailure } from './build-failure.ts';
import { isForbiddenAddress, redactUrl } from '../core/repo-url.ts';
import { checkoutCommit, fetchPlan } from './checkout.ts';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Ada Lovelace', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' };
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();

const local = { allowLocalRepos: true };
const forbidden = (err: unknown) => err instanceof BuildFailure && err.message.startsWith('REPO_URL_FORBIDDEN');

/** An HTTP server on loopback that records what it is asked and answers with `answer`. */
async function recordingServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

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
    const commit = await checkoutCommit({ ...local, url: remote, commit: first, ref: 'refs/heads/main', ...dirs });
    assert.deepEqual(
      { author: commit.author, message: commit.message, history: commit.history.map((c) => [c.sha, c.parents, c.authorName, c.authorEmail, c.message]) },
      { author: 'Ada Lovelace', message: 'First version', history: [[first, [], 'Ada Lovelace', 'ada@example.com', 'First version']] },
    );
    assert.deepEqual((await readdir(dirs.workTree)).sort(), ['.gitattributes', 'link.html', 'secret.txt', 'site']);
    assert.equal(await readFile(join(dirs.workTree, 'site', 'index.html'), 'utf8'), 'v1');
    assert.equal(await readlink(join(dirs.workTree, 'link.html')), 'site/index.html');
  });

  test('reads the last 64 commits of a long history with their true parents, never a shallow boundary as a root', async () => {
    const work = join(base, 'long');
    await mkdir(work);
    git(work, 'init', '-q', '-b', 'main');
    for (let i = 0; i < 70; i++) git(work, 'commit', '-q', '--allow-empty', '-m', `main ${i}`);
    git(work, 'checkout', '-q', '-b', 'side', 'HEAD~30');
    for (let i = 0; i < 5; i++) git(work, 'commit', '-q', '--allow-empty', '-m', `side ${i}`);
    git(work, 'checkout', '-q', 'main');
    git(work, 'merge', '-q', '--no-ff', '-m', 'Merge side', 'side');
    const head = git(work, 'rev-parse', 'HEAD');
    const longRemote = join(base, 'long.git');
    git(base, 'init', '-q', '--bare', longRemote);
    git(work, 'push', '-q', longRemote, 'main');

    const { history } = await checkoutCommit({ ...local, url: longRemote, commit: head, ref: 'refs/heads/main', ...(await fresh()) });
    assert.equal(history.length, 64);
    assert.equal(history[0]?.sha, head);
    assert.equal(history[0]?.parents.length, 2);
    for (const commit of history) {
      const truth = git(work, 'rev-list', '--parents', '-n', '1', commit.sha).split(' ').slice(1);
      assert.deepEqual(commit.parents, truth, commit.message);
    }
  });

  test('works with file:// URLs and the tip commit', async () => {
    const dirs = await fresh();
    const commit = await checkoutCommit({ ...local, url: `file://${remote}`, commit: second, ref: 'refs/heads/main', ...dirs });
    assert.equal(commit.message, 'Second version');
    assert.equal(await readFile(join(dirs.workTree, 'site', 'index.html'), 'utf8'), 'v2');
  });

  test('a commit the repository does not have fails the build, after trying the ref', async () => {
    const notes: string[] = [];
    const missing = 'f'.repeat(40);
    await assert.rejects(
      checkoutCommit({ ...local, url: remote, commit: missing, ref: 'refs/heads/main', note: (t) => notes.push(t), ...(await fresh()) }),
      (err: unknown) => err instanceof BuildFailure && err.message.includes(`commit ${missing} is not in refs/heads/main`),
    );
    assert.match(notes[0] ?? '', /fetching refs\/heads\/main instead/);
  });

  test('an unreachable repository fails the build with git’s reason', async () => {
    await assert.rejects(
      checkoutCommit({ ...local, url: join(base, 'nope.git'), commit: first, ref: 'refs/heads/main', ...(await fresh()) }),
      (err: unknown) => err instanceof BuildFailure && /cannot fetch refs\/heads\/main from .*nope\.git/.test(err.message),
    );
  });

  test('refuses commit ids and refs that are not ids and refs', async () => {
    await assert.rejects(checkoutCommit({ ...local, url: remote, commit: '--upload-pack=x', ref: 'refs/heads/main', ...(await fresh()) }), BuildFailure);
    await assert.rejects(checkoutCommit({ ...local, url: remote, commit: first, ref: '--all', ...(await fresh()) }), BuildFailure);
  });

  test('without --allow-local-repos, local paths and file:// are refused before git runs', async () => {
    for (const url of [remote, `file://${remote}`, 'ext::sh -c touch% /tmp/slipway-pwned']) {
      const dirs = await fresh();
      await assert.rejects(checkoutCommit({ url, commit: first, ref: 'refs/heads/main', ...dirs }), forbidden, url);
      await assert.rejects(readdir(dirs.gitDir), { code: 'ENOENT' }, 'nothing was fetched');
    }
    await assert.rejects(
      checkoutCommit({ ...local, url: 'ext::sh -c touch% /tmp/slipway-pwned', commit: first, ref: 'refs/heads/main', ...(await fresh()) }),
      forbidden,
    );
  });

  test('a host name that resolves to this machine is refused at fetch time; only --allow-local-repos reaches it', async (t) => {
    // The machine's own name resolves (through /etc/hosts or DNS) to loopback or a private address
    // on CI machines and containers; a name, not a literal, so the resolved address is what is judged.
    const name = hostname().toLowerCase();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.some((a) => isForbiddenAddress(a.address))) {
      t.skip(`${name} does not resolve to a private address here`);
      return;
    }
    const git = await recordingServer((_req, res) => res.writeHead(404).end());
    try {
      for (const host of [name, 'localhost']) {
        const url = `http://${host}:${git.port}/repo.git`;
        await assert.rejects(checkoutCommit({ url, commit: first, ref: 'refs/heads/main', ...(await fresh()) }), forbidden, url);
      }
      assert.equal(git.seen.length, 0, 'git never connected');
      // The same URL with the flag: git asks the server, with the credentials as a header.
      await assert.rejects(
        checkoutCommit({ ...local, url: `http://${name}:${git.port}/repo.git`, authHeader: 'Authorization: Basic dTpw', commit: first, ref: 'refs/heads/main', ...(await fresh()) }),
        (err: unknown) => err instanceof BuildFailure && !forbidden(err),
      );
      assert.ok(git.seen.length > 0);
      assert.equal(git.seen[0]?.authorization, 'Basic dTpw');
      assert.ok(git.seen.every((r) => !r.url.includes('dTpw')));
    } finally {
      await git.close();
    }
  });

  test('redirects are not followed', async () => {
    const target = await recordingServer((_req, res) => res.writeHead(404).end());
    const redirecting = await recordingServer((req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}${req.url ?? '/'}` }).end());
    try {
      await assert.rejects(
        checkoutCommit({ ...local, url: `http://127.0.0.1:${redirecting.port}/repo.git`, commit: first, ref: 'refs/heads/main', ...(await fresh()) }),
        BuildFailure,
      );
      assert.ok(redirecting.seen.length > 0);
      assert.equal(target.seen.length, 0, 'the redirect target was never asked');
    } finally {
      await redirecting.close();
      await target.close();
    }
  });

  test('the fetch plan pins the checked addresses and allows only http(s)', async () => {
    const resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ];
    const plan = await fetchPlan({ url: 'https://tok:pw@git.example.com/acme/app.git', authHeader: 'Authorization: Basic x' }, resolver);
    assert.equal(plan.url, 'https://git.example.com/acme/app.git');
    const config = new Map(plan.config);
    assert.equal(config.get('http.curloptResolve'), 'git.example.com:443:93.184.216.34,[2606:2800:220:1::1]');
    assert.equal(config.get('protocol.allow'), 'never');
    assert.equal(config.get('protocol.file.allow'), undefined);
    assert.equal(config.get('http.followRedirects'), 'false');
    assert.equal(config.get('http.extraHeader'), 'Authorization: Basic x');
    // Answers that changed to a private address since the project was saved.
    await assert.rejects(fetchPlan({ url: 'https://git.example.com/a' }, async () => [{ address: '10.0.0.7', family: 4 }]), forbidden);
    await assert.rejects(fetchPlan({ url: 'https://git.example.com/a' }, async () => [{ address: '::ffff:127.0.0.1', family: 6 }]), forbidden);
    // Slipway's own repository is the server the runner was pointed at.
    assert.equal((await fetchPlan({ url: 'http://127.0.0.1:7070/git/a.git', own: true }, resolver)).url, 'http://127.0.0.1:7070/git/a.git');
  });

  test('redactUrl hides credentials in URLs', () => {
    assert.equal(redactUrl('https://user:s3cret@git.example.com/x.git'), 'https://***@git.example.com/x.git');
    assert.equal(redactUrl('fatal: https://tok@h/x.git not found'), 'fatal: https://***@h/x.git not found');
    assert.equal(redactUrl('/srv/repo.git'), '/srv/repo.git');
  });
});
