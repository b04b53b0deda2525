import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ExitCode } from './exit-codes.ts';
import { run } from './program.ts';
import { createMemoryContext } from './memory-context.ts';

/** Argument handling that fails before any request, run in-process (no server needed). */
describe('slipway argument handling', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'slipway-cli-args-'));
  });
  after(() => rm(home, { recursive: true, force: true }));

  const invoke = async (argv: string[], env: Record<string, string> = {}) => {
    const ctx = createMemoryContext({ XDG_CONFIG_HOME: home, ...env });
    const code = await run(argv, ctx);
    return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
  };

  test('--help and --version exit 0 on stdout', async () => {
    const help = await invoke(['--help']);
    assert.equal(help.code, ExitCode.OK);
    assert.match(help.stdout, /Usage: slipway/);
    const version = await invoke(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test('commander errors are usage errors with a code', async () => {
    for (const argv of [['nope'], ['promote', 'dpl-x', '-p', 'web'], ['tokens', 'create', '--name', 'x', '--role', 'god'], ['projects', '--bogus']]) {
      const result = await invoke(argv);
      assert.equal(result.code, ExitCode.USAGE, argv.join(' '));
      assert.match(result.stderr, /error: .*\(USAGE\)/, argv.join(' '));
    }
  });

  test('no command prints the help on stderr and exits 2', async () => {
    const result = await invoke([]);
    assert.equal(result.code, ExitCode.USAGE);
    assert.match(result.stderr, /Usage: slipway/);
  });

  test('checks made before connecting', async () => {
    const noProject = await invoke(['deployments']);
    assert.equal(noProject.code, ExitCode.USAGE);
    assert.match(noProject.stderr, /--project/);
    const force = await invoke(['rollback', '-p', 'web', '-e', 'production', '--force']);
    assert.equal(force.code, ExitCode.USAGE);
    assert.match(force.stderr, /\(REASON_REQUIRED\)/);
    const expect = await invoke(['promote', 'dpl-x', '-p', 'web', '-e', 'production', '--expect', 'latest']);
    assert.equal(expect.code, ExitCode.USAGE);
    const limit = await invoke(['events', '--limit', '0']);
    assert.equal(limit.code, ExitCode.USAGE);
    const login = await invoke(['login', 'localhost:7070', '--token', 't']);
    assert.equal(login.code, ExitCode.USAGE);
  });

  test('no login and no SLIPWAY_URL/SLIPWAY_TOKEN is an auth error', async () => {
    const result = await invoke(['projects']);
    assert.equal(result.code, ExitCode.AUTH);
    assert.match(result.stderr, /\(NOT_LOGGED_IN\)/);
  });

  test('a malformed config file is reported, not ignored', async () => {
    const xdg = join(home, 'broken');
    await mkdir(join(xdg, 'slipway'), { recursive: true });
    await writeFile(join(xdg, 'slipway', 'config.json'), '{"url": ');
    const result = await invoke(['projects'], { XDG_CONFIG_HOME: xdg });
    assert.equal(result.code, ExitCode.USAGE);
    assert.match(result.stderr, /\(CONFIG_INVALID\)/);
    // Both variables set: the file is not read at all.
    const overridden = await invoke(['projects'], { XDG_CONFIG_HOME: xdg, SLIPWAY_URL: 'http://127.0.0.1:1', SLIPWAY_TOKEN: 't' });
    assert.equal(overridden.code, ExitCode.UNREACHABLE);
  });

  test('SLIPWAY_PROJECT stands in for --project', async () => {
    // Gets past the project check and fails on the missing login instead.
    const result = await invoke(['deployments'], { SLIPWAY_PROJECT: 'web' });
    assert.equal(result.code, ExitCode.AUTH);
  });
});
