import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSandboxArgs, handOver, prepareSandbox, resolveBwrapPath, sandboxPath, SANDBOX_UID } from './sandbox.ts';
import type { SandboxHost, SandboxSpec } from './sandbox.ts';

const host = (asRoot: boolean): SandboxHost => ({
  bwrapPath: '/usr/bin/bwrap',
  asRoot,
  setprivPath: '/usr/bin/setpriv',
  envPath: '/usr/bin/env',
  system: [{ path: '/usr' }, { path: '/bin', symlink: 'usr/bin' }, { path: '/etc' }],
  readOnly: ['/run/systemd/resolve'],
});

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  command: 'npm ci && npm run build',
  env: { PATH: '/usr/bin:/bin', HOME: '/data/builds/cache/shop', LD_PRELOAD: '/data/builds/b1/src/evil.so' },
  cwd: '/data/builds/b1/src',
  writable: ['/data/builds/b1/tmp', '/data/builds/cache/shop'],
  network: true,
  hidden: ['/data'],
  ...over,
});

/** The operations before the `--` that ends bwrap's own options. */
const bwrapPart = (args: string[]): string[] => args.slice(0, args.indexOf('--'));
const at = (args: string[], ...op: string[]): number => {
  for (let i = 0; i + op.length <= args.length; i++) if (op.every((word, j) => args[i + j] === word)) return i;
  return -1;
};

describe('createSandboxArgs', () => {
  test('a root runner: no user namespace; setpriv drops to 65534 with nothing left; the environment is set after it', () => {
    const args = createSandboxArgs(host(true), spec());
    const own = bwrapPart(args);
    assert.ok(!own.includes('--unshare-user'));
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session', '--clearenv']) {
      assert.ok(own.includes(flag), flag);
    }
    assert.ok(at(own, '--cap-add', 'CAP_SETUID') >= 0 && at(own, '--cap-add', 'CAP_SETGID') >= 0);
    const tail = args.slice(args.indexOf('--') + 1);
    assert.deepEqual(tail.slice(0, 8), [
      '/usr/bin/setpriv',
      `--reuid=${SANDBOX_UID}`,
      `--regid=${SANDBOX_UID}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    ]);
    assert.deepEqual(tail.slice(8), [
      '/usr/bin/env',
      '-i',
      'PATH=/usr/bin:/bin',
      'HOME=/data/builds/cache/shop',
      'LD_PRELOAD=/data/builds/b1/src/evil.so',
      '/bin/sh',
      '-c',
      'npm ci && npm run build',
    ]);
    // The build's variables (LD_PRELOAD!) never reach bwrap or setpriv themselves.
    assert.ok(!own.some((a) => a.includes('LD_PRELOAD')));
    assert.ok(!own.includes('--setenv'));
  });

  test('a runner that is not root: an unprivileged user namespace, no setpriv, no capabilities', () => {
    const args = createSandboxArgs(host(false), spec());
    assert.ok(bwrapPart(args).includes('--unshare-user'));
    assert.ok(!args.includes('--cap-add'));
    assert.ok(!args.includes('/usr/bin/setpriv'));
    assert.deepEqual(args.slice(args.indexOf('--') + 1, args.indexOf('--') + 3), ['/usr/bin/env', '-i']);
  });

  test('build.network: false adds a network namespace of its own', () => {
    assert.ok(!createSandboxArgs(host(true), spec()).includes('--unshare-net'));
    assert.ok(bwrapPart(createSandboxArgs(host(true), spec({ network: false }))).includes('--unshare-net'));
  });

  test('system dirs read-only, symlinks recreated, fresh /proc /dev /tmp; the checkout, TMPDIR and HOME the only binds writable', () => {
    const own = bwrapPart(createSandboxArgs(host(true), spec()));
    assert.ok(at(own, '--ro-bind', '/usr', '/usr') >= 0);
    assert.ok(at(own, '--ro-bind', '/etc', '/etc') >= 0);
    assert.ok(at(own, '--symlink', 'usr/bin', '/bin') >= 0);
    assert.ok(at(own, '--ro-bind-try', '/run/systemd/resolve', '/run/systemd/resolve') >= 0);
    assert.ok(at(own, '--proc', '/proc') >= 0 && at(own, '--dev', '/dev') >= 0);
    assert.ok(at(own, '--perms', '1777', '--tmpfs', '/tmp') >= 0);
    const writable = own.flatMap((a, i) => (a === '--bind' ? [own[i + 1]] : []));
    assert.deepEqual(writable, ['/data/builds/b1/src', '/data/builds/b1/tmp', '/data/builds/cache/shop']);
    for (const path of writable) assert.ok(at(own, '--bind', path ?? '', path ?? '') >= 0, 'bound at the same path');
    assert.ok(at(own, '--chdir', '/data/builds/b1/src') >= 0);
    // Nothing else of the host: no bind of / or of the data dir.
    assert.ok(!own.some((a, i) => (a === '--bind' || a === '--ro-bind') && ['/', '/data', '/data/builds'].includes(own[i + 1] ?? '')));
  });

  test('directories on the way to a bind can be passed through, not listed, and come before it', () => {
    const own = bwrapPart(createSandboxArgs(host(true), spec()));
    const dirs = own.flatMap((a, i) => (a === '--dir' ? [own[i + 1]] : []));
    assert.deepEqual(dirs, ['/data', '/data/builds', '/data/builds/b1', '/data/builds/cache']);
    for (const dir of dirs) assert.equal(own[own.indexOf(dir ?? '') - 2], '0711');
    assert.ok(at(own, '--dir', '/data/builds/b1') < at(own, '--bind', '/data/builds/b1/src'));
  });

  test('under /tmp, the binds come after the fresh /tmp', () => {
    const own = bwrapPart(createSandboxArgs(host(false), spec({ cwd: '/tmp/w/b1/src', writable: ['/tmp/w/b1/tmp'], hidden: [] })));
    const tmpfs = at(own, '--tmpfs', '/tmp');
    assert.ok(tmpfs >= 0 && tmpfs < at(own, '--dir', '/tmp/w') && tmpfs < at(own, '--bind', '/tmp/w/b1/src'));
    assert.equal(at(own, '--dir', '/tmp'), -1);
  });

  test('a data dir under a system dir is covered by an empty tmpfs, after the system bind and before the build’s binds', () => {
    const own = bwrapPart(
      createSandboxArgs(host(true), spec({ cwd: '/etc/slipway/builds/b1/src', writable: [], hidden: ['/etc/slipway', '/srv/elsewhere'] })),
    );
    const hide = at(own, '--tmpfs', '/etc/slipway');
    assert.ok(hide > at(own, '--ro-bind', '/etc', '/etc'));
    assert.ok(hide < at(own, '--bind', '/etc/slipway/builds/b1/src'));
    assert.equal(at(own, '--tmpfs', '/srv/elsewhere'), -1, 'nothing to hide where nothing is bound');
  });

  test('a variable name that is not one is refused', () => {
    assert.throws(() => createSandboxArgs(host(true), spec({ env: { 'A=B': 'x' } })), /invalid environment variable name/);
    assert.throws(() => createSandboxArgs(host(true), spec({ env: { '-u': 'x' } })), /invalid environment variable name/);
  });
});

describe('sandboxPath and resolveBwrapPath', () => {
  test('PATH keeps only what the sandbox has', () => {
    assert.equal(sandboxPath('/root/.cargo/bin:/usr/local/bin:/usr/bin:/bin:/opt/x/bin:relative', host(true)), '/usr/local/bin:/usr/bin:/bin');
    assert.equal(sandboxPath('/root/bin', host(true)), '/usr/local/bin:/usr/bin:/bin');
    assert.equal(sandboxPath(undefined, host(true)), '/usr/local/bin:/usr/bin:/bin');
  });

  test('the option, then SLIPWAY_BWRAP, then /usr/bin/bwrap', () => {
    assert.equal(resolveBwrapPath('/opt/bwrap', { SLIPWAY_BWRAP: '/x' }), '/opt/bwrap');
    assert.equal(resolveBwrapPath(undefined, { SLIPWAY_BWRAP: '/x' }), '/x');
    assert.equal(resolveBwrapPath(undefined, { SLIPWAY_BWRAP: '' }), '/usr/bin/bwrap');
    assert.equal(resolveBwrapPath(undefined, {}), '/usr/bin/bwrap');
  });
});

describe('prepareSandbox and handOver', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-sandbox-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('bubblewrap as installed makes a sandbox; the probe leaves nothing behind', async () => {
    const state = await prepareSandbox({ bwrapPath: '/usr/bin/bwrap', workDir: join(dir, 'work') });
    assert.equal(state.mode, 'sandboxed', state.mode === 'unavailable' ? state.reason : '');
    assert.deepEqual(await readdir(join(dir, 'work')), []);
  });

  test('a missing or broken bubblewrap is unavailable, with the reason', async () => {
    const missing = await prepareSandbox({ bwrapPath: join(dir, 'no-bwrap'), workDir: join(dir, 'work') });
    assert.deepEqual(missing, { mode: 'unavailable', reason: `bubblewrap is not installed at ${join(dir, 'no-bwrap')}` });
    const broken = join(dir, 'broken-bwrap');
    await writeFile(broken, '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', { mode: 0o755 });
    const state = await prepareSandbox({ bwrapPath: broken, workDir: join(dir, 'work') });
    assert.deepEqual(state, { mode: 'unavailable', reason: `${broken} cannot make a sandbox here: bwrap: No permissions to create new namespace` });
  });

  test('--unsafe-builds probes nothing', async () => {
    assert.deepEqual(await prepareSandbox({ bwrapPath: join(dir, 'no-bwrap'), workDir: join(dir, 'work'), unsafe: true }), { mode: 'unsafe' });
  });

  test('a root runner hands the checkout to 65534 without following its symlinks', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const tree = join(dir, 'tree');
    const outside = join(dir, 'outside.txt');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'file'), 'x');
    await writeFile(outside, 'root’s');
    await symlink(outside, join(tree, 'link'));
    const cache = join(dir, 'cache');
    await mkdir(join(cache, 'old'), { recursive: true });
    await handOver(host(true), [cache], [tree]);
    for (const path of [tree, join(tree, 'sub'), join(tree, 'sub', 'file'), join(tree, 'link'), cache]) {
      assert.equal((await lstat(path)).uid, SANDBOX_UID, path);
    }
    assert.equal((await lstat(outside)).uid, 0, 'the symlink’s target stays root’s');
    assert.equal((await lstat(join(cache, 'old'))).uid, 0, 'a cache is handed over itself, not walked');
  });

  test('a runner that is not root changes no owner', async () => {
    const file = join(dir, 'mine');
    await writeFile(file, 'x');
    const before = (await lstat(file)).uid;
    await handOver(host(false), [file], [file]);
    assert.equal((await lstat(file)).uid, before);
  });
});
