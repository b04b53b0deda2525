import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Membership, Token, User, Whoami } from '../src/protocol/api.ts';
import { backends } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** `slipway users`, `members`, `tokens create --user/--project/--expires` and `login --email`: the real bin/slipway against a real server. */


const [sqlite] = backends;

describe('users, members and tokens from the CLI', () => {
  let t: TestServer;
  let home: string;
  before(async () => {
    t = await startTestServer(sqlite ?? backends[0]!);
    await t.client.createProject('shop');
    await t.client.createProject('blog');
    home = await mkdtemp(join(tmpdir(), 'slipway-cli-home-'));
  });
  after(async () => {
    await t.dispose();
    await rm(home, { recursive: true, force: true });
  });

  test('users create takes emails and a password from stdin; a duplicate name or email exits 4 and changes nothing', async () => {
    const created = await slipway(t, ['users', 'create', 'dev1', '--email', 'Dev1@Example.com', '--email', 'dev1@users.noreply.github.com', '--role', 'viewer', '--password-stdin', '--json'], {
      stdin: 'correct horse battery\n',
    });
    assert.equal(created.code, 0, created.stderr);
    const user = JSON.parse(created.stdout) as User;
    assert.deepEqual(user.emails, ['dev1@example.com', 'dev1@users.noreply.github.com']);
    assert.equal(user.hasPassword, true);

    const twice = await slipway(t, ['users', 'create', 'dev1', '--email', 'other@example.com']);
    assert.equal(twice.code, 4);
    assert.match(twice.stderr, /USER_EXISTS/);
    const taken = await slipway(t, ['users', 'create', 'dev2', '--email', 'DEV1@example.com']);
    assert.equal(taken.code, 4);
    assert.match(taken.stderr, /EMAIL_TAKEN/);
    const weak = await slipway(t, ['users', 'create', 'dev3', '--password-stdin'], { stdin: 'short\n' });
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /PASSWORD_WEAK/);
    assert.deepEqual(
      (await t.client.listUsers()).users.map((u) => u.name),
      ['dev1'],
      'no refused create left a user behind',
    );
  });

  test('members add raises a role on one project; the personal token acts with it there and nowhere else', async () => {
    const added = await slipway(t, ['members', 'add', 'dev1', '--project', 'shop', '--role', 'approver', '--json']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse(added.stdout) as Membership).role, 'approver');
    const list = await slipway(t, ['members', '--project', 'shop']);
    assert.match(list.stdout, /dev1\s+approver/);

    const made = await slipway(t, ['tokens', 'create', '--name', 'laptop', '--user', 'dev1', '--expires', '30d', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { token, secret } = JSON.parse(made.stdout) as { token: Token; secret: string };
    assert.equal(token.user, 'dev1');
    assert.ok(token.expiresAt !== null && Date.parse(token.expiresAt) > Date.now() + 29 * 86_400_000);

    const who = await slipway(t, ['whoami'], { token: secret });
    assert.match(who.stdout, /^dev1 \(viewer, personal token tok-/);
    assert.match(who.stdout, /approver on shop/);
    // approver on shop reaches deployer there; on blog dev1 is a viewer.
    const lockShop = await slipway(t, ['lock', '--project', 'shop', '--env', 'production', '--reason', 'checking'], { token: secret });
    assert.equal(lockShop.code, 0, lockShop.stderr);
    const lockBlog = await slipway(t, ['lock', '--project', 'blog', '--env', 'production', '--reason', 'checking'], { token: secret });
    assert.equal(lockBlog.code, 6);
    assert.match(lockBlog.stderr, /FORBIDDEN/);
    // A deployer cannot manage members.
    const addByDev = await slipway(t, ['members', 'add', 'dev1', '--project', 'blog', '--role', 'admin'], { token: secret });
    assert.equal(addByDev.code, 6);

    const removed = await slipway(t, ['members', 'remove', 'dev1', '--project', 'shop']);
    assert.equal(removed.code, 0, removed.stderr);
    const unlock = await slipway(t, ['unlock', '--project', 'shop', '--env', 'production'], { token: secret });
    assert.equal(unlock.code, 6, 'the role went with the membership, for the same token at once');
    const again = await slipway(t, ['members', 'remove', 'dev1', '--project', 'shop']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /MEMBER_NOT_FOUND/);
  });

  test('a project-scoped service token lists its project only and is refused elsewhere', async () => {
    const made = await slipway(t, ['tokens', 'create', '--name', 'ci', '--role', 'deployer', '--project', 'shop', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { secret } = JSON.parse(made.stdout) as { secret: string };
    const projects = await slipway(t, ['projects', '--json'], { token: secret });
    assert.deepEqual((JSON.parse(projects.stdout) as { projects: { name: string }[] }).projects.map((p) => p.name), ['shop']);
    const other = await slipway(t, ['deployments', '--project', 'blog'], { token: secret });
    assert.equal(other.code, 3);
    assert.match(other.stderr, /PROJECT_NOT_FOUND/);
    const users = await slipway(t, ['users'], { token: secret });
    assert.equal(users.code, 6);
  });

  test('login --email signs in, saves a personal token (never the password), and a wrong password exits 6', async () => {
    const login = await slipway(t, ['login', `http://127.0.0.1:${t.server.port}`, '--email', 'dev1@example.com', '--password-stdin', '--json'], {
      token: null,
      stdin: 'correct horse battery\n',
      home,
    });
    assert.equal(login.code, 0, login.stderr);
    const answer = JSON.parse(login.stdout) as Whoami & { config: string };
    assert.equal(answer.actor.name, 'dev1');
    assert.equal(answer.token?.user, 'dev1');
    const saved = await readFile(answer.config, 'utf8');
    assert.doesNotMatch(saved, /correct horse battery/);
    const who = await slipway(t, ['whoami'], { token: null, home });
    assert.match(who.stdout, /^dev1 \(viewer, personal token/);

    const wrong = await slipway(t, ['login', `http://127.0.0.1:${t.server.port}`, '--email', 'dev1@example.com', '--password-stdin'], { token: null, stdin: 'nope\n', home });
    assert.equal(wrong.code, 6);
    assert.match(wrong.stderr, /SIGN_IN_FAILED/);
  });
});
