import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends } from './support/backends.ts';
import { git } from './support/git-repo.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * The commit graph Slipway records from `git push` to its own repositories: real git pushing
 * over smart HTTP, the post-receive hook, and what the store then knows of each commit.
 */

/** Builds `count` empty commits on `branch` in one `git fast-import` (a thousand commits in well under a second). */
function importCommits(cwd: string, branch: string, from: string, count: number, subject: (i: number) => string): Promise<void> {
  let stream = '';
  for (let i = 0; i < count; i++) {
    const message = Buffer.from(subject(i));
    stream += `commit refs/heads/${branch}\ncommitter Grace Hopper <grace@example.com> ${1735689600 + i} +0000\ndata ${message.length}\n${message.toString('latin1')}\n`;
    if (i === 0) stream += `from ${from}\n`;
  }
  return new Promise((resolve, reject) => {
    const child = execFile('git', ['fast-import', '--quiet'], { cwd }, (err) => (err ? reject(new Error(`git fast-import failed: ${err.message}`)) : resolve()));
    child.stdin?.end(Buffer.from(stream, 'latin1'));
  });
}

for (const backend of backends) {
  describe(`commits recorded from pushes on ${backend.name}`, () => {
    let t: TestServer;
    let home: string;
    let work: string;
    let url: string;
    let projectId: string;

    before(async () => {
      process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
      t = await startTestServer(backend, { runners: 0 });
      home = await mkdtemp(join(tmpdir(), 'slipway-commits-'));
      work = join(home, 'work');
      await git(home, ['init', '-q', '-b', 'main', work]);
      await t.client.createProject('graph');
      projectId = (await t.server.deps.store.findProjectByName('graph'))?.id ?? '';
      url = `http://x:${ADMIN_TOKEN}@127.0.0.1:${t.server.port}/git/graph.git`;
    });
    after(async () => {
      await t.dispose();
      await rm(home, { recursive: true, force: true });
    });

    const commitOn = async (message: string) => {
      await git(work, ['commit', '-q', '--allow-empty', '-m', message]);
      return git(work, ['rev-parse', 'HEAD']);
    };

    test('a first push records every commit of the branch, a later one the commits it brought, with their parents', async () => {
      const root = await commitOn('root');
      const second = await commitOn('second');
      await git(work, ['push', '-q', url, 'main']);
      const first = await t.client.getCommit('graph', second);
      assert.deepEqual([first.sha, first.parents, first.message, first.authorName, first.authorEmail], [second, [root], 'second', 'Grace Hopper', 'grace@example.com']);
      assert.deepEqual((await t.client.getCommit('graph', root.slice(0, 8))).parents, []);

      const third = await commitOn('third');
      await git(work, ['push', '-q', url, 'main']);
      assert.deepEqual((await t.client.getCommit('graph', third)).parents, [second]);

      // A merge: both parents, in order; a new branch brings only what no other branch had.
      await git(work, ['checkout', '-q', '-b', 'side', root]);
      const side = await commitOn('side');
      await git(work, ['checkout', '-q', 'main']);
      await git(work, ['merge', '-q', '--no-ff', '-m', 'Merge side', 'side']);
      const merge = await git(work, ['rev-parse', 'HEAD']);
      await git(work, ['push', '-q', url, 'main', 'side']);
      assert.deepEqual((await t.client.getCommit('graph', merge)).parents, [third, side]);
      assert.deepEqual((await t.client.getCommit('graph', side)).parents, [root]);
      const ancestry = await t.server.deps.store.listAncestry(projectId, merge, 10);
      assert.deepEqual(ancestry.map((c) => c.message).sort(), ['Merge side', 'root', 'second', 'side', 'third']);
    });

    test('commit text is someone’s: escapes, bidi overrides and newlines are dropped and the subject capped', async () => {
      const hostile = await commitOn(`\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007 \u001b[2J\u202eexe.txt ${'x'.repeat(5000)}`);
      await git(work, ['push', '-q', url, 'main']);
      const stored = await t.client.getCommit('graph', hostile);
      assert.ok(![...stored.message].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '\u202e'), stored.message.slice(0, 80));
      assert.ok(stored.message.startsWith(']8;;https://evil.exampleclick]8;; [2Jexe.txt x'), stored.message.slice(0, 80));
      assert.equal(Array.from(stored.message).length, 1000);
    });

    test('a push of a long new history records the newest thousand commits, and replace refs cannot rewrite parents', async () => {
      const base = await git(work, ['rev-parse', 'main']);
      await importCommits(work, 'long', base, 1100, (i) => `long ${i}`);
      const tip = await git(work, ['rev-parse', 'long']);
      await git(work, ['push', '-q', url, 'long']);
      const store = t.server.deps.store;
      const recorded = await store.findCommits(projectId, (await git(work, ['rev-list', '--max-count=1100', 'long', `^${base}`])).split('\n'));
      assert.equal(recorded.length, 1000);
      assert.equal((await store.findCommit(projectId, tip))?.message, 'long 1099');
      assert.equal(await store.findCommit(projectId, await git(work, ['rev-parse', 'long~1000'])), undefined);

      // A replace ref pushed beside a commit claims other parents; the graph keeps the real ones.
      const real = await commitOn('real parent is main');
      const fake = await git(work, ['commit-tree', '-p', tip, '-m', 'fake', `${real}^{tree}`]);
      await git(work, ['replace', real, fake]);
      await git(work, ['push', '-q', url, 'main', 'refs/replace/*']);
      assert.deepEqual((await store.findCommit(projectId, real))?.parents, [base]);
    });

    test('abbreviations resolve against recorded commits; a bad abbreviation is COMMIT_NOT_FOUND', async () => {
      const head = await git(work, ['rev-parse', 'main']);
      assert.equal((await t.client.listChecks('graph', head.slice(0, 7))).commit, head);
      await assert.rejects(t.client.getCommit('graph', 'fffffff'), (err: unknown) => (err as { code?: string }).code === 'COMMIT_NOT_FOUND');
    });
  });
}
