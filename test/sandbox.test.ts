import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import type { Build } from '../src/protocol/builds.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { recordPush, ZERO_SHA } from '../src/server/services/pushes.ts';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/server.ts';
import { createTestRepo, type TestRepo } from './support/git-repo.ts';
import { hostProcessesWith, uniqueSeconds } from './support/processes.ts';
import { ADMIN_TOKEN } from './support/server.ts';
import { eventually } from './support/eventually.ts';

/**
 * Builds are untrusted code. A real server with its in-process runner builds real commits in
 * the bubblewrap sandbox: a hostile build tries to read the server's environment, the database
 * and the blobs, to write the database and outside its directories, to kill processes and to
 * leave a daemon behind. Every attempt must fail, both in what the build saw and on the host.
 */

/**
 * In the environment of a process on the host, where a build reading /proc/<pid>/environ
 * would find it (a process's environ file shows the environment it started with, so the
 * secret is given to a process started for it, as the server's is when it starts).
 */
const SERVER_SECRET = `server-secret-${randomBytes(8).toString('hex')}`;

const HOSTILE = await readFile(new URL('./fixtures/hostile-build.sh', import.meta.url), 'utf8');

interface Harness {
  server: RunningServer;
  client: SlipwayClient;
  dataDir: string;
  repo: TestRepo;
  /** Commits `files`, records the push, and waits for the build to end. */
  build(files: Record<string, string>): Promise<{ build: Build; text: string; stdout: string[] }>;
  dispose(): Promise<void>;
}

/** A server whose SQLite file and blobs are in its data dir (mode 0700, as mkdtemp makes it), with one in-process runner. */
async function startHarness(options: Partial<ServerOptions> = {}): Promise<Harness> {
  const base = await mkdtemp(join(tmpdir(), 'slipway-sandbox-'));
  const dataDir = join(base, 'data');
  const server = await startServer({
    dataDir,
    databaseUrl: join(dataDir, 'slipway.db'),
    port: 0,
    adminToken: ADMIN_TOKEN,
    quiet: true,
    runners: 1,
    allowLocalRepos: true,
    ...options,
  });
  const client = new SlipwayClient({ url: `http://127.0.0.1:${server.port}`, token: ADMIN_TOKEN });
  const repo = await createTestRepo(join(base, 'repo'));
  await client.createProject('app', { repo: repo.remote });
  return {
    server,
    client,
    dataDir,
    repo,
    async build(files) {
      const { sha, branch } = await repo.commit(files);
      await recordPush(server.deps, { name: 'webhook', role: 'deployer', trigger: 'automation' }, 'app', {
        updates: [{ ref: `refs/heads/${branch}`, before: ZERO_SHA, after: sha }],
        trigger: 'generic',
        sourceUrl: repo.remote,
      });
      const id = (await eventually('the build', async () => (await client.listBuilds('app')).builds.find((b) => b.commit === sha))).id;
      const build = await eventually('the build to end', async () => {
        const b = await client.getBuild('app', id);
        return b.state === 'queued' || b.state === 'running' ? undefined : b;
      });
      const lines = (await client.getBuildLogs('app', id)).lines;
      return { build, text: lines.map((l) => l.text).join('\n'), stdout: lines.filter((l) => l.stream === 'stdout').map((l) => l.text) };
    },
    async dispose() {
      await server.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** `result <what>=<outcome>` lines of the hostile build, last one wins. */
function results(stdout: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of stdout) {
    const match = /^result ([^=]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) found.set(match[1], match[2] ?? '');
  }
  return found;
}

const yaml = (command: string, env: Record<string, string | number>, extra = ''): string => {
  const vars = Object.entries(env).map(([k, v]) => `    ${k}: ${JSON.stringify(String(v))}\n`);
  return `build:\n  command: ${JSON.stringify(command)}\n${vars.length > 0 ? `  env:\n${vars.join('')}` : ''}${extra}`;
};

describe('a hostile build in the sandbox', () => {
  let h: Harness;
  const mark = randomBytes(6).toString('hex');
  const sleepFor = uniqueSeconds(300);
  let outcome: { build: Build; text: string; stdout: string[] };
  let found: Map<string, string>;

  let holder: ChildProcess;

  before(async () => {
    holder = spawn('sleep', [uniqueSeconds(600)], { env: { SLIPWAY_SANDBOX_TEST_SECRET: SERVER_SECRET }, stdio: 'ignore' });
    h = await startHarness();
    const db = join(h.dataDir, 'slipway.db');
    outcome = await h.build({
      'hostile-build.sh': HOSTILE,
      'slipway.yaml': yaml('exec sh hostile-build.sh', {
        DB: db,
        BLOBS: join(h.dataDir, 'blobs'),
        DATA: h.dataDir,
        BUILDS: join(h.dataDir, 'builds'),
        MARK: mark,
        SLEEP: sleepFor,
        SERVER_PID: process.pid,
      }),
    });
    found = results(outcome.stdout);
  });
  after(async () => {
    holder.kill('SIGKILL');
    try {
      await h.dispose();
    } finally {
      // Only there if the sandbox failed: leave the machine as it was.
      for (const path of [`/etc/hostile-${mark}`, `/usr/hostile-${mark}`, `/hostile-${mark}`, `/tmp/hostile-${mark}`]) await rm(path, { force: true });
      for (const pid of hostProcessesWith(`sleep ${sleepFor}`)) process.kill(pid, 'SIGKILL');
    }
  });

  test('it ran to its end and deployed', () => {
    assert.equal(outcome.build.state, 'succeeded', `${outcome.build.error ?? ''}\n${outcome.text}`);
    assert.equal(found.get('done'), 'yes');
  });

  test('it runs as an unprivileged user when the server is root', { skip: process.getuid?.() !== 0 && 'the server is not root here' }, () => {
    assert.equal(found.get('uid'), '65534');
  });

  test('no process environment it can read holds the server’s secrets or the admin token', () => {
    // Its own shell's at least, and nothing like the host's hundreds.
    const readable = Number(found.get('environ-readable'));
    assert.ok(readable >= 1 && readable < 10, `it read ${readable} environments`);
    assert.ok(!outcome.text.includes(SERVER_SECRET), 'the server’s environment leaked into the build');
    assert.ok(!outcome.text.includes(ADMIN_TOKEN), 'the admin token leaked into the build');
    assert.ok(!outcome.text.includes('SLIPWAY_SANDBOX_TEST_SECRET'));
  });

  test('the database, the blobs, the data dir and other builds are out of reach', async () => {
    assert.equal(found.get('db-read'), 'no');
    assert.equal(found.get('db-write'), 'no');
    assert.equal(found.get('blobs-list'), 'no');
    assert.equal(found.get('data-list'), 'no');
    assert.equal(found.get('builds-list'), 'no');
    const db = await readFile(join(h.dataDir, 'slipway.db'));
    assert.ok(!db.includes(`HOSTILE${mark}`), 'the build wrote into the database');
    // The server still answers with the same database.
    assert.equal((await h.client.whoami()).actor.role, 'admin');
  });

  test('it sees only its own processes, and kills none of the host’s', async () => {
    const pids = (found.get('pids') ?? '').trim().split(' ');
    // Its own few (the shell, ls, tr …), numbered from 1 in a PID namespace of its own.
    assert.ok(pids.length < 10 && pids.every((p) => Number(p) < 100), `the build saw ${pids.join(', ')}`);
    assert.ok(pids.includes('1'), 'a PID namespace of its own');
    assert.equal(found.get('kill-spree'), undefined);
    assert.equal(found.get('kill-server'), 'no');
    assert.equal(found.has('killed'), false, `it killed ${found.get('killed')}`);
    assert.equal((await h.client.whoami()).actor.role, 'admin');
  });

  test('no process of the build outlives it, setsid or not', async () => {
    await eventually('the daemons to be gone', async () => (hostProcessesWith(`sleep ${sleepFor}`).length === 0 ? true : undefined), 5000);
  });

  test('it wrote nothing outside its directories; its own directory is removed, whoever owns its files', async () => {
    for (const [what, value] of found) {
      if (what.startsWith('write ')) assert.equal(value, 'no', `${what} succeeded`);
    }
    assert.equal(found.get('write-tmp'), 'yes', 'its own /tmp is writable');
    for (const path of [`/etc/hostile-${mark}`, `/usr/hostile-${mark}`, `/hostile-${mark}`, `/tmp/hostile-${mark}`]) {
      assert.equal(existsSync(path), false, `${path} exists on the host`);
    }
    await eventually('the build dir to go', async () => ((await readdir(join(h.dataDir, 'builds'))).every((n) => n === 'cache') ? true : undefined), 10_000);
    const walk = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        out.push(entry.name);
        if (entry.isDirectory()) out.push(...(await walk(join(dir, entry.name))));
      }
      return out;
    };
    const names = await walk(h.dataDir);
    assert.ok(!names.some((n) => n.includes(mark)), `the data dir holds ${names.filter((n) => n.includes(mark)).join(', ')}`);
  });

});

describe('the network and the cache of a sandboxed build', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.dispose());

  const connect = (port: number) =>
    `node -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('net=ok'); process.exit(0) }).on('error', (e) => { console.log('net=' + e.code); process.exit(0) })"`;

  test('the network is on by default: the build reaches the server’s port on loopback', async () => {
    const { build, stdout } = await h.build({
      'slipway.yaml': yaml(`${connect(h.server.port)} && echo kept > "$HOME/kept-$TAG" && mkdir dist && echo x > dist/x`, { TAG: 'one' }),
    });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.ok(stdout.includes('net=ok'), stdout.join('\n'));
  });

  test('build.network: false leaves the build only its own loopback', async () => {
    const { build, stdout, text } = await h.build({
      'slipway.yaml': yaml(`${connect(h.server.port)} && mkdir dist && echo x > dist/x`, {}, '  network: false\n'),
    });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.ok(stdout.includes('net=ECONNREFUSED'), stdout.join('\n'));
    assert.ok(text.includes('Network: off (build.network: false)'));
  });

  test('HOME is the project’s cache, kept from one build to the next', async () => {
    const { build, stdout } = await h.build({ 'slipway.yaml': yaml('cat "$HOME/kept-one" && mkdir dist && echo x > dist/x', {}) });
    assert.equal(build.state, 'succeeded', build.error ?? '');
    assert.ok(stdout.includes('kept'));
    assert.deepEqual(await readdir(join(h.dataDir, 'builds', 'cache')), ['app']);
  });
});

describe('without a working bubblewrap', () => {
  test('the server fails each build at once, saying why, and runs nothing', async () => {
    const h = await startHarness({ bwrapPath: '/bin/false' });
    try {
      const marker = join(tmpdir(), `slipway-unsandboxed-${randomBytes(6).toString('hex')}`);
      const { build, text } = await h.build({ 'slipway.yaml': yaml(`touch ${marker}`, {}) });
      assert.equal(build.state, 'failed');
      assert.match(build.error ?? '', /^this runner has no build sandbox: \/bin\/false cannot make a sandbox here .*--unsafe-builds/);
      assert.ok(!text.includes('Fetching'), 'it failed before fetching anything');
      assert.equal(existsSync(marker), false, 'the command ran');
    } finally {
      await h.dispose();
    }
  });

  test('--unsafe-builds runs them without one, and the log says so', async () => {
    const h = await startHarness({ bwrapPath: '/bin/false', unsafeBuilds: true });
    const marker = join(tmpdir(), `slipway-unsandboxed-${randomBytes(6).toString('hex')}`);
    try {
      const { build, text } = await h.build({ 'slipway.yaml': yaml(`touch ${marker} && mkdir dist && echo x > dist/x`, {}) });
      assert.equal(build.state, 'succeeded', build.error ?? '');
      assert.match(text, /warning: this runner builds without a sandbox \(--unsafe-builds\)/);
      assert.equal(existsSync(marker), true, 'unsandboxed, the command wrote to the host’s /tmp');
    } finally {
      await rm(marker, { force: true });
      await h.dispose();
    }
  });

  test('slipway runner refuses to start (SANDBOX_UNAVAILABLE, exit 1) unless --unsafe-builds', async () => {
    const h = await startHarness({ runners: 0 });
    const base = await mkdtemp(join(tmpdir(), 'slipway-sandbox-cli-'));
    try {
      const env = {
        SLIPWAY_URL: `http://127.0.0.1:${h.server.port}`,
        SLIPWAY_TOKEN: (await h.client.createToken({ name: 'cli-runner', role: 'runner' })).secret,
        SLIPWAY_BWRAP: '/nonexistent/bwrap',
        XDG_CONFIG_HOME: base,
      };
      const refused = createMemoryContext(env);
      assert.equal(await run(['runner', '--work-dir', join(base, 'builds')], refused), 1);
      assert.match(refused.stderr(), /bubblewrap is not installed at \/nonexistent\/bwrap.*\(SANDBOX_UNAVAILABLE\)/);
      assert.doesNotMatch(refused.stderr(), /is building for/);

      const unsafe = createMemoryContext(env);
      assert.equal(await run(['runner', '--unsafe-builds', '--work-dir', join(base, 'builds')], unsafe), 0);
      assert.match(unsafe.stderr(), /--unsafe-builds: builds run WITHOUT a sandbox/);
      assert.match(unsafe.stderr(), /is building for/);

      const sandboxed = createMemoryContext({ ...env, SLIPWAY_BWRAP: '/usr/bin/bwrap' });
      assert.equal(await run(['runner', '--work-dir', resolve(base, 'builds')], sandboxed), 0, sandboxed.stderr());
      assert.doesNotMatch(sandboxed.stderr(), /WITHOUT a sandbox/);
    } finally {
      await rm(base, { recursive: true, force: true });
      await h.dispose();
    }
  });
});
