import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Deployment, Event, MovedRelease, ProjectStatus, Release } from '../src/protocol/api.ts';
import { startServer } from '../src/server/server.ts';
import type { RunningServer } from '../src/server/server.ts';
import type { DeployResult } from '../src/cli/commands/deploy.ts';
import type { LinkResult } from '../src/cli/commands/link.ts';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run as runProgram } from '../src/cli/program.ts';
import { backends } from './support/backends.ts';
import { deployFiles, edgeGet, hostOf, startTestServer, type TestServer } from './support/server.ts';

/**
 * Defects a new user hit in the CLI, end to end: a real server in this process, the real
 * `bin/slipway` in child processes, real files and a real git work tree.
 */

const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));
const ADMIN_TOKEN = 'test-admin-token';
const git = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bin/slipway` in a child process: what a person or a script really runs. */
function spawnCli(args: readonly string[], env: Record<string, string>, cwd?: string): Promise<Run> {
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

/**
 * The same program in this process (only main.ts's process.exit is left out), against the same
 * real server over HTTP: most checks use it, since a child process costs seconds on a busy machine.
 */
async function run(args: readonly string[], env: Record<string, string>, cwd = process.cwd()): Promise<Run> {
  const ctx = createMemoryContext(env, cwd);
  const code = await runProgram(args, ctx);
  return { code, stdout: ctx.stdout(), stderr: ctx.stderr() };
}

function ok(result: Run): Run {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

function parse<T>(result: Run): T {
  return JSON.parse(ok(result).stdout) as T;
}

/** A `--json` error: exactly one line on stdout, the API's envelope. */
function jsonError(result: Run): { code: string; message: string } {
  const lines = result.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stdout: ${result.stdout}`);
  const body = JSON.parse(lines[0] as string) as { error: { code: string; message: string } };
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

describe('slipway CLI defects', () => {
  let server: RunningServer;
  let tmp: string;
  let env: Record<string, string>;
  let one: Deployment;
  let two: Deployment;
  const slipway = (...args: string[]): Promise<Run> => run(args, env);

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'slipway-cli-defects-'));
    server = await startServer({ dataDir: join(tmp, 'data'), port: 0, adminToken: ADMIN_TOKEN, quiet: true, runners: 0 });
    const home = join(tmp, 'home');
    await mkdir(home);
    env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), SLIPWAY_URL: server.url, SLIPWAY_TOKEN: ADMIN_TOKEN };
    ok(await slipway('projects', 'create', 'shop'));
    const site = join(tmp, 'site');
    await mkdir(site);
    await writeFile(join(site, 'index.html'), 'one');
    one = parse<Deployment>(await run(['deploy', 'site', '-p', 'shop', '--json'], env, tmp));
    await writeFile(join(site, 'index.html'), 'two');
    two = parse<Deployment>(await run(['deploy', 'site', '-p', 'shop', '--json'], env, tmp));
  });

  after(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  test('status hides retired previews; --all lists them as retired', async () => {
    ok(await slipway('promote', one.id, '-p', 'shop', '-e', 'production'));
    ok(await slipway('promote', one.id, '-p', 'shop', '-e', 'preview-gone'));
    const project = await server.deps.store.findProjectByName('shop');
    const preview = project && (await server.deps.store.findEnvironment(project.id, 'preview-gone'));
    assert.ok(preview);
    await server.deps.store.retireEnvironment(preview.id, '2026-01-02T03:04:05.000Z');

    const human = ok(await spawnCli(['status', '-p', 'shop'], env));
    assert.match(human.stdout, /^production\s/m);
    assert.doesNotMatch(human.stdout, /preview-gone/);
    assert.match(human.stdout, /1 retired environment not shown \(--all shows them\)/);
    const all = ok(await slipway('status', '-p', 'shop', '--all'));
    assert.match(all.stdout, /^preview-gone\s+dpl-\S+\s+v1\s+retired\s/m);
    assert.doesNotMatch(all.stdout, /^preview-gone.*\sok\s/m);

    const json = parse<ProjectStatus>(await slipway('status', '-p', 'shop', '--json'));
    assert.deepEqual(json.environments.map((e) => e.name), ['production']);
    const jsonAll = parse<ProjectStatus>(await slipway('status', '-p', 'shop', '--json', '--all'));
    assert.equal(jsonAll.environments.find((e) => e.name === 'preview-gone')?.retiredAt, '2026-01-02T03:04:05.000Z');
    // Named on its own, a retired environment is shown as retired.
    assert.match(ok(await slipway('status', '-p', 'shop', '-e', 'preview-gone')).stdout, /\sretired\s/);
  });

  test('promote says when it cleared a pin, in words and in --json', async () => {
    ok(await slipway('promote', two.id, '-p', 'shop', '-e', 'production'));
    ok(await slipway('rollback', '-p', 'shop', '-e', 'production', '--reason', 'two is broken'));
    const human = ok(await spawnCli(['promote', two.id, '-p', 'shop', '-e', 'production'], env));
    assert.match(human.stdout, /UNPINNED: cleared the pin admin set at .*: two is broken/);
    const plain = parse<MovedRelease>(await slipway('promote', one.id, '-p', 'shop', '-e', 'production', '--json'));
    assert.equal(plain.clearedPin, null);
    ok(await slipway('rollback', '-p', 'shop', '-e', 'production', '--to', two.id, '--reason', 'back'));
    const cleared = parse<MovedRelease>(await slipway('promote', one.id, '-p', 'shop', '-e', 'production', '--json'));
    assert.equal(cleared.clearedPin?.reason, 'back');
    assert.equal(cleared.clearedPin?.by, 'admin');
    assert.doesNotMatch(ok(await slipway('promote', two.id, '-p', 'shop', '-e', 'production')).stdout, /UNPINNED/);
  });

  test('releases without --env lists every environment, newest first', async () => {
    const json = parse<{ releases: Release[] }>(await slipway('releases', '-p', 'shop', '--json'));
    const environments = new Set(json.releases.map((r) => r.environment));
    assert.deepEqual([...environments].sort(), ['preview-gone', 'production']);
    const times = json.releases.map((r) => r.createdAt);
    assert.deepEqual(times, [...times].sort().reverse());
    const limited = parse<{ releases: Release[] }>(await slipway('releases', '-p', 'shop', '--json', '--limit', '2'));
    assert.equal(limited.releases.length, 2);
    const human = ok(await spawnCli(['releases', '-p', 'shop'], env));
    assert.match(human.stdout, /^ENVIRONMENT\s+RELEASE\s+KIND/);
    assert.match(human.stdout, /^preview-gone\s+v1\s+promote/m);
    assert.match(human.stdout, /^production\s+v\d+\s+rollback/m);
    // One environment still works as before.
    assert.match(ok(await slipway('releases', '-p', 'shop', '-e', 'production')).stdout, /^RELEASE\s+KIND/);
  });

  test('events shows a release as the move it made (v1 → v2), as the dashboard does', async () => {
    const { events } = parse<{ events: Event[] }>(await slipway('events', '-p', 'shop', '-e', 'production', '--json'));
    const promotion = events.find((e) => e.action === 'release.promote' && (e.before as { release: string | null }).release === 'v1');
    assert.ok(promotion);
    const human = ok(await spawnCli(['events', '-p', 'shop', '-e', 'production', '--limit', '500'], env));
    assert.match(human.stdout, new RegExp(`release\\.promote\\s+shop/production\\s+v1 → v2 · ${two.id}`));
    // The first release has nothing before it.
    assert.match(human.stdout, new RegExp(`release\\.promote\\s+shop/production\\s+v1 · ${one.id}`));
    assert.doesNotMatch(human.stdout, /\srel-[a-z0-9]+\s/);
  });

  test('with --json, an error is one JSON line on stdout, with the same exit code', async () => {
    const missing = await spawnCli(['promote', 'dpl-nope', '-p', 'shop', '-e', 'production', '--json'], env);
    assert.equal(missing.code, 3);
    assert.equal(jsonError(missing).code, 'DEPLOYMENT_NOT_FOUND');
    assert.match(missing.stderr, /\(DEPLOYMENT_NOT_FOUND\)/);

    const human = await slipway('promote', 'dpl-nope', '-p', 'shop', '-e', 'production');
    assert.equal(human.code, 3);
    assert.equal(human.stdout, '', 'without --json nothing goes to stdout');

    const usage = await spawnCli(['promote', one.id, '-p', 'shop', '--json'], env);
    assert.equal(usage.code, 2);
    assert.equal(jsonError(usage).code, 'USAGE');

    const noProject = await run(['status', '--json'], env, tmp);
    assert.equal(noProject.code, 2);
    assert.equal(jsonError(noProject).code, 'USAGE');

    const unreachable = await run(['status', '-p', 'shop', '--json'], { ...env, SLIPWAY_URL: 'http://127.0.0.1:1' });
    assert.equal(unreachable.code, 7);
    assert.equal(jsonError(unreachable).code, 'NETWORK_ERROR');

    const forbidden = await run(['status', '-p', 'shop', '--json'], { ...env, SLIPWAY_TOKEN: 'wrong' });
    assert.equal(forbidden.code, 6);
    assert.equal(jsonError(forbidden).code, 'UNAUTHENTICATED');
  });

  describe('link', () => {
    let repo: string;
    let nested: string;
    before(async () => {
      repo = join(tmp, 'outer', 'repo');
      nested = join(repo, 'web', 'src');
      await mkdir(nested, { recursive: true });
      await git('git', ['init', '-q', repo]);
    });

    test('link --project remembers the project for a directory and the directories below it', async () => {
      const linked = parse<LinkResult>(await run(['link', '--project', 'shop', '--json'], env, repo));
      assert.equal(linked.project, 'shop');
      assert.equal(linked.path, join(repo, '.slipway.json'));
      assert.deepEqual(JSON.parse(await readFile(join(repo, '.slipway.json'), 'utf8')), { project: 'shop' });

      const status = parse<ProjectStatus>(await spawnCli(['status', '--json'], env, nested));
      assert.equal(status.project.name, 'shop');
      const shown = ok(await run(['link'], env, nested));
      assert.match(shown.stdout, new RegExp(`^shop \\(linked in ${join(repo, '.slipway.json')}\\)`));

      // --project and SLIPWAY_PROJECT still win over the link.
      ok(await slipway('projects', 'create', 'other'));
      assert.equal(parse<ProjectStatus>(await run(['status', '--json', '-p', 'other'], env, nested)).project.name, 'other');
      assert.equal(parse<ProjectStatus>(await run(['status', '--json'], { ...env, SLIPWAY_PROJECT: 'other' }, nested)).project.name, 'other');
      // The events filter is a filter: a link does not narrow it.
      const events = parse<{ events: Event[] }>(await run(['events', '--json', '--limit', '500'], env, nested));
      assert.ok(events.events.some((e) => e.project === 'other'));
    });

    test('a deploy from a linked directory needs no --project and never uploads .slipway.json', async () => {
      await writeFile(join(repo, 'index.html'), 'linked');
      const result = parse<DeployResult>(await spawnCli(['deploy', '.', '--json'], env, repo));
      assert.equal(result.project, 'shop');
      assert.equal(result.fileCount, 1, 'only index.html');
      assert.equal((await edgeGet(Number(new URL(result.url).port), hostOf(result.url), '/')).body, 'linked');
      assert.equal((await edgeGet(Number(new URL(result.url).port), hostOf(result.url), '/.slipway.json')).status, 404);
    });

    test('the search stops at the git root: a link above it does not apply', async () => {
      await writeFile(join(tmp, 'outer', '.slipway.json'), '{"project":"other"}');
      await rm(join(repo, '.slipway.json'));
      const unlinked = await run(['status', '--json'], env, nested);
      assert.equal(unlinked.code, 2);
      assert.equal(jsonError(unlinked).code, 'USAGE');
      // Outside a work tree only the current directory counts.
      const plain = join(tmp, 'outer', 'plain');
      await mkdir(plain);
      assert.equal((await run(['status', '--json'], env, plain)).code, 2);
      assert.equal(parse<ProjectStatus>(await run(['status', '--json'], env, join(tmp, 'outer'))).project.name, 'other');
    });

    test('link without arguments shows the link; --unlink removes it', async () => {
      ok(await run(['link', '-p', 'shop'], env, nested));
      assert.match(ok(await run(['link'], env, nested)).stdout, /^shop \(linked in /);
      assert.deepEqual(parse<LinkResult>(await run(['link', '--json'], env, nested)), { project: 'shop', path: join(nested, '.slipway.json') });
      const unlinked = ok(await run(['link', '--unlink'], env, nested));
      assert.match(unlinked.stdout, /Unlinked from shop/);
      await assert.rejects(stat(join(nested, '.slipway.json')), { code: 'ENOENT' });
      assert.match(ok(await run(['link'], env, nested)).stdout, /^Not linked/);
      assert.deepEqual(parse<LinkResult>(await run(['link', '--json'], env, nested)), { project: null, path: null });
    });

    test('an invalid link file is CONFIG_INVALID and changes nothing; link refuses unknown or malformed projects', async () => {
      const file = join(nested, '.slipway.json');
      const hostile = [
        'not json',
        '{"project": 5}',
        '{"project": "Shop!"}',
        '{"project": "../../etc"}',
        // A link names a project and nothing else: never where to send the token.
        `{"project": "shop", "url": "http://evil.example", "token": "x"}`,
        '[]',
        'null',
        `{"project": "${'a'.repeat(70_000)}"}`,
      ];
      for (const [i, text] of hostile.entries()) {
        await writeFile(file, text);
        const result = await (i === 0 ? spawnCli : run)(['status', '--json'], env, nested);
        assert.equal(result.code, 2, text.slice(0, 60));
        assert.equal(jsonError(result).code, 'CONFIG_INVALID', text.slice(0, 60));
        assert.match(result.stderr, /\.slipway\.json/);
        assert.equal((await run(['link'], env, nested)).code, 2);
      }
      await rm(file);
      await mkdir(file);
      assert.equal(jsonError(await run(['deploy', '.', '--json'], env, nested)).code, 'CONFIG_INVALID');
      await rm(file, { recursive: true });

      await writeFile(file, 'broken');
      // --unlink is how a broken link goes away.
      ok(await run(['link', '--unlink'], env, nested));
      await assert.rejects(stat(file), { code: 'ENOENT' });

      const unknown = await run(['link', '-p', 'nope', '--json'], env, nested);
      assert.equal(unknown.code, 3);
      assert.equal(jsonError(unknown).code, 'PROJECT_NOT_FOUND');
      const malformed = await run(['link', '-p', '../x'], env, nested);
      assert.equal(malformed.code, 2);
      assert.match(malformed.stderr, /\(INVALID_NAME\)/);
      await assert.rejects(stat(file), { code: 'ENOENT' }, 'a refused link writes nothing');
    });
  });
});

for (const backend of backends) {
  describe(`promote reports a cleared pin on ${backend.name}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer(backend);
      await t.client.createProject('shop');
    });
    after(() => t.dispose());

    test('clearedPin names the pin a promote cleared, and is null otherwise', async () => {
      const a = await deployFiles(t.client, 'shop', { 'index.html': 'a' });
      const b = await deployFiles(t.client, 'shop', { 'index.html': 'b' });
      assert.equal((await t.client.promote('shop', 'production', { deployment: a.id })).clearedPin, null);
      assert.equal((await t.client.promote('shop', 'production', { deployment: b.id })).clearedPin, null);
      const rolledBack = await t.client.rollback('shop', 'production', { reason: 'b is bad' });
      assert.equal(rolledBack.clearedPin, null);
      const promoted = await t.client.promote('shop', 'production', { deployment: b.id, reason: 'b is fixed' });
      assert.deepEqual(promoted.clearedPin && { by: promoted.clearedPin.by, reason: promoted.clearedPin.reason }, { by: 'admin', reason: 'b is bad' });
      assert.ok(promoted.clearedPin && !Number.isNaN(Date.parse(promoted.clearedPin.at)));
      assert.equal((await t.client.getEnvironment('shop', 'production')).pin, null);
    });
  });
}
