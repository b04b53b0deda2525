import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CreatedToken, Deployment, Environment, Event, ProjectStatus, Release } from '../src/protocol/api.ts';
import { startServer } from '../src/server/server.ts';
import type { RunningServer } from '../src/server/server.ts';
import type { DeployResult } from '../src/cli/commands/deploy.ts';
import { edgeGet, hostOf } from './support/server.ts';
import type { EdgeResponse } from './support/server.ts';

/**
 * The `slipway` CLI end to end: a real server in this process, the real `bin/slipway` in child
 * processes, real files, real git, real HTTP on loopback.
 */

const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));
const ADMIN_TOKEN = 'test-admin-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/slipway …` with only the environment given (plus PATH, for git). */
function run(args: readonly string[], env: Record<string, string>, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run slipway ${args.join(' ')}: ${err.message}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

function parse<T>(result: Run): T {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** GETs an edge URL on loopback (Node's resolver does not map `*.localhost` as browsers do). */
function get(url: string, path = '/'): Promise<EdgeResponse> {
  return edgeGet(Number(new URL(url).port), hostOf(url), path);
}

describe('slipway CLI against a running server', () => {
  let server: RunningServer;
  let tmp: string;
  /** Environment of every run: the server and the admin token, and a private config home. */
  let env: Record<string, string>;
  const slipway = (...args: string[]): Promise<Run> => run(args, env);
  const site = (): string => join(tmp, 'site');
  let first: Deployment;
  let second: DeployResult;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'slipway-cli-'));
    server = await startServer({ dataDir: join(tmp, 'data'), port: 0, adminToken: ADMIN_TOKEN, quiet: true, allowLocalRepos: true });
    const home = join(tmp, 'home');
    await mkdir(home);
    env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), SLIPWAY_URL: server.url, SLIPWAY_TOKEN: ADMIN_TOKEN };
    await mkdir(join(site(), 'assets'), { recursive: true });
    await writeFile(join(site(), 'index.html'), '<h1>one</h1>\n');
    await writeFile(join(site(), 'assets', 'app.js'), 'console.log("app");\n');
    await writeFile(join(site(), 'assets', 'style.css'), 'body { color: red }\n');
  });

  after(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  test('login checks the token, saves it with mode 0600, and later commands use it', async () => {
    const configHome = join(tmp, 'login-home');
    const bare = { HOME: configHome, XDG_CONFIG_HOME: join(configHome, 'xdg') };
    const configFile = join(configHome, 'xdg', 'slipway', 'config.json');

    const refused = await run(['login', server.url, '--token', 'wrong'], bare);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, /\(UNAUTHENTICATED\)/);
    await assert.rejects(stat(configFile), { code: 'ENOENT' });

    const notLoggedIn = await run(['whoami'], bare);
    assert.equal(notLoggedIn.code, 6);
    assert.match(notLoggedIn.stderr, /\(NOT_LOGGED_IN\)/);

    const login = await run(['login', server.url, '--token', ADMIN_TOKEN], bare);
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await stat(configFile)).mode & 0o777, 0o600);

    const whoami = parse<{ url: string; token: { role: string } }>(await run(['whoami', '--json'], bare));
    assert.equal(whoami.url, server.url);
    assert.equal(whoami.token.role, 'admin');

    // Without XDG_CONFIG_HOME the file lives under ~/.config.
    const homeOnly = { HOME: configHome };
    assert.equal((await run(['login', server.url, '--token', ADMIN_TOKEN], homeOnly)).code, 0);
    assert.equal((await stat(join(configHome, '.config', 'slipway', 'config.json'))).mode & 0o777, 0o600);
  });

  test('projects create and list', async () => {
    const created = await slipway('projects', 'create', 'web');
    assert.equal(created.code, 0, created.stderr);
    assert.match(lastLine(created.stdout), /^http:\/\/web\.localhost:\d+\/$/);
    const list = parse<{ projects: { name: string }[] }>(await slipway('projects', '--json'));
    assert.deepEqual(
      list.projects.map((p) => p.name),
      ['web'],
    );
    const human = await slipway('projects');
    assert.match(human.stdout, /^NAME\s+CREATED/);
  });

  test('deploy uploads a directory and prints its URL last; the URL serves the files', async () => {
    const result = await run(['deploy', 'site', '--project', 'web', '--message', 'first cut'], env, tmp);
    assert.equal(result.code, 0, result.stderr);
    const url = lastLine(result.stdout);
    assert.match(url, /^http:\/\/dpl-[a-z0-9]+--web\.localhost:\d+\/$/);
    assert.equal(result.stderr, '', 'no progress or warnings without a TTY');

    const page = await get(url);
    assert.equal(page.status, 200);
    assert.equal(page.body, '<h1>one</h1>\n');
    assert.equal((await get(url, '/assets/app.js')).body, 'console.log("app");\n');

    const listed = parse<{ deployments: Deployment[] }>(await slipway('deployments', '--project', 'web', '--json'));
    assert.equal(listed.deployments.length, 1);
    first = listed.deployments[0] as Deployment;
    assert.equal(first.url, url);
    assert.equal(first.fileCount, 3);
    assert.equal(first.meta.source, 'cli');
    assert.equal(first.meta.message, 'first cut');
  });

  test('deploying again with one changed file uploads only that blob', async () => {
    await writeFile(join(site(), 'index.html'), '<h1>two</h1>\n');
    second = parse<DeployResult>(await run(['deploy', 'site', '--json'], { ...env, SLIPWAY_PROJECT: 'web' }, tmp));
    assert.equal(second.fileCount, 3);
    assert.equal(second.upload.missing.length, 1);
    assert.equal(second.upload.uploadedBytes, '<h1>two</h1>\n'.length);
    assert.notEqual(second.id, first.id);
    assert.equal((await get(second.url)).body, '<h1>two</h1>\n');
    // The first deployment is immutable and still addressable.
    assert.equal((await get(first.url)).body, '<h1>one</h1>\n');
  });

  test('a tree of many small files and large ones deploys: small ones in batches, large ones streamed', async () => {
    const tree = join(tmp, 'big-site');
    await mkdir(join(tree, 'pages'), { recursive: true });
    for (let i = 0; i < 1200; i++) await writeFile(join(tree, 'pages', `${i}.html`), `<p>page ${i}</p>\n`);
    const large = Array.from({ length: 60_000 }, (_, i) => `line ${i} of a large file\n`).join('');
    await writeFile(join(tree, 'large.txt'), large);
    await writeFile(join(tree, 'larger.txt'), large.repeat(2));
    assert.equal((await slipway('projects', 'create', 'big')).code, 0);
    const result = parse<DeployResult>(await run(['deploy', 'big-site', '--project', 'big', '--json'], env, tmp));
    assert.equal(result.fileCount, 1202);
    assert.equal(result.upload.missing.length, 1202);
    assert.ok(Buffer.byteLength(large) > 1024 * 1024, 'the large files are past the batch size');
    assert.equal((await get(result.url, '/large.txt')).body, large);
    assert.equal((await get(result.url, '/larger.txt')).body, large.repeat(2));
    assert.equal((await get(result.url, '/pages/1199.html')).body, '<p>page 1199</p>\n');
  });

  test('promote moves production; rollback moves it back and pins it', async () => {
    const promoted = parse<Release>(await slipway('promote', first.id, '--project', 'web', '--env', 'production', '--json'));
    assert.equal(promoted.number, 1);
    const human = await slipway('promote', second.id, '-p', 'web', '-e', 'production', '--reason', 'ship two', '--expect', 'v1');
    assert.equal(human.code, 0, human.stderr);
    const productionUrl = lastLine(human.stdout);
    assert.match(productionUrl, /^http:\/\/web\.localhost:\d+\/$/);
    assert.equal((await get(productionUrl)).body, '<h1>two</h1>\n');

    const rolledBack = parse<Release>(await slipway('rollback', '-p', 'web', '-e', 'production', '--reason', 'two is broken', '--json'));
    assert.equal(rolledBack.kind, 'rollback');
    assert.equal(rolledBack.deployment, first.id);
    assert.equal((await get(productionUrl)).body, '<h1>one</h1>\n');

    const status = parse<ProjectStatus>(await slipway('status', '-p', 'web', '--json'));
    const production = status.environments.find((e) => e.name === 'production');
    assert.ok(production);
    assert.equal(production.deployment, first.id);
    assert.equal(production.release?.number, 3);
    assert.ok(production.pin, 'a rollback pins the environment');
    assert.equal(production.pin.reason, 'two is broken');

    const humanStatus = await slipway('status', '-p', 'web');
    assert.match(humanStatus.stdout, /production: PINNED by admin .*two is broken/);

    const releases = parse<{ releases: Release[] }>(await slipway('releases', '-p', 'web', '-e', 'production', '--json'));
    assert.deepEqual(
      releases.releases.map((r) => [r.number, r.kind]),
      [
        [3, 'rollback'],
        [2, 'promote'],
        [1, 'promote'],
      ],
    );
  });

  test('a lock blocks promote with exit 5 until unlocked', async () => {
    const locked = await slipway('lock', '-p', 'web', '-e', 'production', '--reason', 'release freeze', '--until', '2h');
    assert.equal(locked.code, 0, locked.stderr);
    const environment = parse<Environment>(await slipway('status', '-p', 'web', '-e', 'production', '--json'));
    assert.equal(environment.lock?.reason, 'release freeze');
    assert.ok(environment.lock.until);

    const blocked = await slipway('promote', second.id, '-p', 'web', '-e', 'production');
    assert.equal(blocked.code, 5);
    assert.match(blocked.stderr, /^error: .*\(ENVIRONMENT_LOCKED\)$/m);
    assert.equal(blocked.stdout, '');

    const unlocked = parse<Environment>(await slipway('unlock', '-p', 'web', '-e', 'production', '--reason', 'freeze over', '--json'));
    assert.equal(unlocked.lock, null);
    const promoted = await slipway('promote', second.id, '-p', 'web', '-e', 'production');
    assert.equal(promoted.code, 0, promoted.stderr);
  });

  test('events list what happened', async () => {
    const { events } = parse<{ events: Event[] }>(await slipway('events', '--project', 'web', '--json'));
    const actions = events.map((e) => e.action);
    for (const action of ['release.promote', 'release.rollback', 'environment.lock', 'environment.unlock']) {
      assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
    }
    const lock = events.find((e) => e.action === 'environment.lock');
    assert.equal(lock?.reason, 'release freeze');
    const human = await slipway('events', '-p', 'web', '-e', 'production', '--limit', '2');
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.trimEnd().split('\n').length, 3, 'a header and two events');
  });

  test('status shows an environment that serves nothing as empty, not ok', async () => {
    // A lock creates an environment that points nowhere yet, as a preview whose build failed does.
    assert.equal((await slipway('lock', '-p', 'web', '-e', 'qa', '--reason', 'not yet')).code, 0);
    const rows = (await slipway('status', '-p', 'web')).stdout.split('\n');
    assert.match(rows.find((l) => l.startsWith('qa ')) ?? rows.join('\n'), /^qa\s+-\s+-\s+empty,locked\s/);
    assert.match(rows.find((l) => l.startsWith('production ')) ?? rows.join('\n'), /\sok\s/);
    assert.equal((await slipway('unlock', '-p', 'web', '-e', 'qa')).code, 0);
  });

  test('tokens: create prints the secret once, it works, revoke ends it', async () => {
    const human = await slipway('tokens', 'create', '--name', 'ci', '--role', 'deployer');
    assert.equal(human.code, 0, human.stderr);
    const secret = lastLine(human.stdout);
    const asCi = { ...env, SLIPWAY_TOKEN: secret };
    const whoami = parse<{ token: { name: string; role: string } }>(await run(['whoami', '--json'], asCi));
    assert.deepEqual([whoami.token.name, whoami.token.role], ['ci', 'deployer']);

    const created = parse<CreatedToken>(await slipway('tokens', 'create', '--name', 'viewer-bot', '--role', 'viewer', '--json'));
    const listed = parse<{ tokens: { id: string }[] }>(await slipway('tokens', '--json'));
    assert.ok(listed.tokens.some((t) => t.id === created.token.id));
    const viewer = { ...env, SLIPWAY_TOKEN: created.secret };
    const forbidden = await run(['projects', 'create', 'nope'], viewer);
    assert.equal(forbidden.code, 6);
    assert.match(forbidden.stderr, /\(FORBIDDEN\)/);

    assert.equal((await slipway('tokens', 'revoke', created.token.id)).code, 0);
    const revoked = await run(['whoami'], viewer);
    assert.equal(revoked.code, 6);
    assert.match(revoked.stderr, /\(UNAUTHENTICATED\)/);
  });

  test('domains add, list, remove', async () => {
    const added = await slipway('domains', 'add', 'www.example.test', '-p', 'web', '-e', 'production');
    assert.equal(added.code, 0, added.stderr);
    assert.equal((await get(lastLine(added.stdout))).body, '<h1>two</h1>\n');
    const { domains } = parse<{ domains: { hostname: string }[] }>(await slipway('domains', '-p', 'web', '--json'));
    assert.deepEqual(
      domains.map((d) => d.hostname),
      ['www.example.test'],
    );
    const duplicate = await slipway('domains', 'add', 'www.example.test', '-p', 'web', '-e', 'production');
    assert.equal(duplicate.code, 4);
    assert.match(duplicate.stderr, /\(DOMAIN_EXISTS\)/);
    assert.equal((await slipway('domains', 'remove', 'www.example.test', '-p', 'web')).code, 0);
    const gone = await slipway('domains', 'remove', 'www.example.test', '-p', 'web');
    assert.equal(gone.code, 3);
  });

  test('deploy skips .git, records git commit and branch, and sets spa', async () => {
    const repo = join(tmp, 'repo');
    await mkdir(repo);
    await writeFile(join(repo, 'index.html'), 'spa shell\n');
    const git = (...args: string[]): Promise<Run> => gitRun(repo, args);
    await git('init', '-q', '-b', 'main');
    await git('add', '.');
    await git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-qm', 'init');
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();

    const deployed = parse<DeployResult>(await run(['deploy', '.', '-p', 'web', '--spa', '--json'], env, repo));
    assert.equal(deployed.fileCount, 1, 'nothing from .git');
    assert.deepEqual(deployed.meta, { source: 'cli', commit: head, branch: 'main', spa: true });
    assert.equal((await get(deployed.url, '/.git/HEAD')).body, 'spa shell\n', 'a spa falls back to index.html');
    assert.equal((await get(deployed.url, '/some/route')).body, 'spa shell\n');
  });

  test('deploy refuses symlinks out of the tree and empty trees, before uploading anything', async () => {
    const before = parse<{ deployments: Deployment[] }>(await slipway('deployments', '-p', 'web', '--json')).deployments.length;
    const evil = join(tmp, 'evil');
    await mkdir(evil);
    await writeFile(join(evil, 'index.html'), 'ok\n');
    await writeFile(join(tmp, 'secret.txt'), 'secret\n');
    await symlink(join(tmp, 'secret.txt'), join(evil, 'leak.txt'));
    const refused = await slipway('deploy', evil, '-p', 'web');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /\(SYMLINK_OUTSIDE_ROOT\)/);

    const empty = join(tmp, 'empty');
    await mkdir(empty);
    const nothing = await slipway('deploy', empty, '-p', 'web');
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /\(MANIFEST_EMPTY\)/);

    const after = parse<{ deployments: Deployment[] }>(await slipway('deployments', '-p', 'web', '--json')).deployments.length;
    assert.equal(after, before);
  });

  test('exit codes: not found 3, conflict 4, usage 2, auth 6, unreachable 7', async () => {
    const missing = await slipway('promote', 'dpl-doesnotexist', '-p', 'web', '-e', 'production');
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^error: .*\(DEPLOYMENT_NOT_FOUND\)$/m);
    assert.equal((await slipway('status', '-p', 'no-such-project')).code, 3);

    const exists = await slipway('projects', 'create', 'web');
    assert.equal(exists.code, 4);
    assert.match(exists.stderr, /\(PROJECT_EXISTS\)/);
    const stale = await slipway('promote', first.id, '-p', 'web', '-e', 'production', '--expect', 'v1');
    assert.equal(stale.code, 4);
    assert.match(stale.stderr, /\(RELEASE_CONFLICT\)/);

    const noEnv = await slipway('promote', first.id, '-p', 'web');
    assert.equal(noEnv.code, 2);
    assert.match(noEnv.stderr, /\(USAGE\)/);
    const noProject = await slipway('deployments');
    assert.equal(noProject.code, 2);
    const forceWithoutReason = await slipway('promote', first.id, '-p', 'web', '-e', 'production', '--force');
    assert.equal(forceWithoutReason.code, 2);
    assert.match(forceWithoutReason.stderr, /\(REASON_REQUIRED\)/);
    assert.equal((await slipway('no-such-command')).code, 2);
    const badName = await slipway('projects', 'create', 'Not_A_Name');
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /\(INVALID_NAME\)/);

    const badToken = await run(['projects'], { ...env, SLIPWAY_TOKEN: 'not-a-token' });
    assert.equal(badToken.code, 6);
    assert.match(badToken.stderr, /\(UNAUTHENTICATED\)/);

    const closedPort = await findClosedPort();
    const unreachable = await run(['projects'], { ...env, SLIPWAY_URL: `http://127.0.0.1:${closedPort}` });
    assert.equal(unreachable.code, 7);
    assert.match(unreachable.stderr, /\(NETWORK_ERROR\)/);

    assert.equal((await slipway('--help')).code, 0);
  });
});

describe('slipway server', () => {
  let tmp: string;
  const children: ChildProcess[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'slipway-cli-server-'));
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(tmp, { recursive: true, force: true });
  });

  /** Starts `slipway server` and resolves once it has printed where it listens. */
  async function start(): Promise<{ stdout: string; stop(): Promise<number | null> }> {
    const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data', join(tmp, 'data'), '--log-level', 'warn', '--allow-local-repos'], {
      env: { PATH: process.env.PATH ?? '', HOME: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        // The URL and the token lines arrive in one write.
        if (stdout.includes('listening on') && stdout.endsWith('\n')) resolve();
      });
      void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${stdout}${stderr}`)));
    });
    return {
      stdout,
      async stop() {
        child.kill('SIGTERM');
        return exited;
      },
    };
  }

  test('prints its URL and a new admin token once, and stops cleanly on SIGTERM', async () => {
    const firstStart = await start();
    const url = /listening on (\S+)/.exec(firstStart.stdout)?.[1];
    const token = /Admin token[^\n]*\n\s+(\S+)/.exec(firstStart.stdout)?.[1];
    assert.ok(url && token, firstStart.stdout);
    const whoami = await run(['whoami', '--json'], { HOME: tmp, SLIPWAY_URL: url, SLIPWAY_TOKEN: token });
    assert.equal(parse<{ token: { role: string } }>(whoami).token.role, 'admin');
    assert.equal(await firstStart.stop(), 0);

    // A second start on the same data keeps the admin token and does not print it again.
    const secondStart = await start();
    assert.doesNotMatch(secondStart.stdout, /Admin token/);
    const again = await run(['whoami'], { HOME: tmp, SLIPWAY_URL: /listening on (\S+)/.exec(secondStart.stdout)?.[1] ?? '', SLIPWAY_TOKEN: token });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await secondStart.stop(), 0);
  });
});

function gitRun(cwd: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')}: ${stderr}`));
      else resolve({ code: 0, stdout, stderr });
    });
  });
}

/** A loopback port nothing listens on: bind one, then let it go. */
async function findClosedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}
