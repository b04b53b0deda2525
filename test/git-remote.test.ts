import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gitPushTokenName, type PushToken } from '../src/cli/commands/git-remote.ts';
import { gitPushTokensPath } from '../src/cli/git-push-tokens.ts';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import { backends } from './support/backends.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from './support/server.ts';

/**
 * `slipway git-remote` never puts the login's admin token into a URL that git keeps in
 * `.git/config`: it uses a deployer token made for pushing from this machine. Real server, the
 * CLI in process, the real git client.
 */

function git(home: string, cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Ada',
    GIT_AUTHOR_EMAIL: 'ada@example.com',
    GIT_COMMITTER_NAME: 'Ada',
    GIT_COMMITTER_EMAIL: 'ada@example.com',
  };
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

interface RemoteJson {
  project: string;
  url: string;
  token: PushToken | null;
}

describe('slipway git-remote', () => {
  const backend = backends[0];
  assert.ok(backend);
  let t: TestServer;
  let tmp: string;
  let home: string;
  let env: Record<string, string>;

  async function cli(args: string[], token = ADMIN_TOKEN): Promise<{ code: number; stdout: string; stderr: string }> {
    const ctx = createMemoryContext({ ...env, SLIPWAY_TOKEN: token });
    const code = await run(args, ctx);
    return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
  }

  async function remoteJson(token = ADMIN_TOKEN): Promise<RemoteJson> {
    const result = await cli(['git-remote', '-p', 'shop', '--json'], token);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as RemoteJson;
  }

  before(async () => {
    // The push output would follow the build, and no runner runs here.
    process.env.SLIPWAY_PUSH_WAIT_SECONDS = '0';
    t = await startTestServer(backend);
    tmp = await mkdtemp(join(tmpdir(), 'slipway-git-remote-'));
    home = join(tmp, 'home');
    await mkdir(home);
    env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), SLIPWAY_URL: `http://127.0.0.1:${t.server.port}` };
    await t.client.createProject('shop');
  });

  after(async () => {
    await t.dispose();
    await rm(tmp, { recursive: true, force: true });
  });

  test('an admin login gets a deployer token named after the machine in .git/config, never the admin token, and the push works', async () => {
    const result = await cli(['git-remote', '-p', 'shop']);
    assert.equal(result.code, 0, result.stderr);
    const url = new URL(result.stdout.trim().split('\n').at(-1) ?? '');
    assert.notEqual(url.password, ADMIN_TOKEN);
    assert.match(result.stderr, new RegExp(`Created deployer token git-push@${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    const { tokens } = await t.client.listTokens();
    const pushTokens = tokens.filter((tk) => tk.name === gitPushTokenName());
    assert.equal(pushTokens.length, 1);
    assert.equal(pushTokens[0]?.role, 'deployer');
    assert.equal((await t.clientWith(decodeURIComponent(url.password)).whoami()).actor.id, pushTokens[0]?.id);

    const repo = join(tmp, 'repo');
    await mkdir(repo);
    assert.equal((await git(home, repo, ['init', '-q', '-b', 'main'])).code, 0);
    await writeFile(join(repo, 'index.html'), '<h1>hi</h1>\n');
    assert.equal((await git(home, repo, ['add', '.'])).code, 0);
    assert.equal((await git(home, repo, ['commit', '-qm', 'first'])).code, 0);
    assert.equal((await git(home, repo, ['remote', 'add', 'slipway', url.toString()])).code, 0);
    const config = await readFile(join(repo, '.git', 'config'), 'utf8');
    assert.ok(!config.includes(ADMIN_TOKEN), '.git/config holds the admin token');
    assert.ok(config.includes(url.password), '.git/config holds the push token');
    const pushed = await git(home, repo, ['push', '-q', 'slipway', 'main']);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((await t.client.listBuilds('shop')).builds.length, 1);

    // The saved secret is readable by its owner only.
    assert.equal((await stat(gitPushTokensPath(env))).mode & 0o777, 0o600);
  });

  test('a second run reuses the token; once it is revoked, a new one is made', async () => {
    const first = await remoteJson();
    const again = await remoteJson();
    assert.equal(again.token?.source, 'reused');
    assert.equal(again.token?.id, first.token?.id);
    assert.equal(again.url, first.url);
    const live = (await t.client.listTokens()).tokens.filter((tk) => tk.name === gitPushTokenName() && tk.revokedAt === null);
    assert.equal(live.length, 1);

    await t.client.revokeToken(first.token?.id ?? '');
    const renewed = await remoteJson();
    assert.equal(renewed.token?.source, 'created');
    assert.notEqual(renewed.token?.id, first.token?.id);
    assert.ok(!renewed.url.includes(ADMIN_TOKEN));
  });

  test('a tampered saved secret (someone else’s token) is not reused', async () => {
    const other = await t.client.createToken({ name: 'someone-else', role: 'deployer' });
    const current = await remoteJson();
    const saved = JSON.parse(await readFile(gitPushTokensPath(env), 'utf8')) as Record<string, { id: string; name: string; secret: string }>;
    const key = Object.keys(saved)[0] ?? '';
    saved[key] = { id: current.token?.id ?? '', name: gitPushTokenName(), secret: other.secret };
    await writeFile(gitPushTokensPath(env), JSON.stringify(saved));
    const next = await remoteJson();
    assert.equal(next.token?.source, 'created');
    assert.ok(!next.url.includes(other.secret));
    // An admin secret saved there is not reused either (its id does not match, its role is admin).
    saved[key] = { id: next.token?.id ?? '', name: gitPushTokenName(), secret: ADMIN_TOKEN };
    await writeFile(gitPushTokensPath(env), JSON.stringify(saved));
    const after = await remoteJson();
    assert.ok(!after.url.includes(ADMIN_TOKEN));
    // Garbage in the file is ignored, not fatal.
    await writeFile(gitPushTokensPath(env), '{not json');
    assert.equal((await remoteJson()).token?.source, 'created');
  });

  test('a deployer login uses its own token; a viewer is refused; --no-token prints no secret', async () => {
    const deployer = await t.client.createToken({ name: 'dev', role: 'deployer' });
    const own = await remoteJson(deployer.secret);
    assert.equal(own.token?.source, 'own');
    assert.equal(decodeURIComponent(new URL(own.url).password), deployer.secret);

    const viewer = await t.client.createToken({ name: 'watcher', role: 'viewer' });
    const refused = await cli(['git-remote', '-p', 'shop'], viewer.secret);
    assert.equal(refused.code, 6);
    assert.match(refused.stderr, /\(FORBIDDEN\)/);
    assert.ok(!refused.stdout.includes(viewer.secret));

    const bare = await cli(['git-remote', '-p', 'shop', '--no-token']);
    assert.equal(bare.code, 0);
    assert.ok(!bare.stdout.includes(ADMIN_TOKEN));
    assert.match(bare.stdout.trim(), /\/git\/shop\.git$/);
  });
});
