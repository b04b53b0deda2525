import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBuildEnv, runCommand } from './build-command.ts';
import type { OutputStream } from './build-command.ts';

/** Alive and not a zombie (in a container nobody may reap the killed children). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

interface Captured {
  lines: { stream: OutputStream; text: string; at: Date }[];
  onLine: (stream: OutputStream, text: string, at: Date) => void;
  stdout: () => string[];
}

function capture(): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    onLine: (stream, text, at) => lines.push({ stream, text, at }),
    stdout: () => lines.filter((l) => l.stream === 'stdout').map((l) => l.text),
  };
}

describe('runCommand', () => {
  let dir: string;
  const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-cmd-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('captures stdout and stderr line by line with timestamps, and the exit code', async () => {
    const out = capture();
    const before = Date.now();
    const result = await runCommand({
      command: 'echo one; echo two >&2; printf "no newline"; exit 3',
      cwd: dir,
      env: env(),
      timeoutMs: 10_000,
      onLine: out.onLine,
    });
    assert.equal(result.exitCode, 3);
    assert.equal(result.timedOut, false);
    assert.deepEqual(out.stdout(), ['one', 'no newline']);
    assert.deepEqual(
      out.lines.filter((l) => l.stream === 'stderr').map((l) => l.text),
      ['two'],
    );
    for (const line of out.lines) assert.ok(line.at.getTime() >= before - 1);
  });

  test('a timeout kills the whole process group, background jobs included', async () => {
    const out = capture();
    const result = await runCommand({
      command: 'sleep 100 & echo $!; sleep 100 & echo $!; wait',
      cwd: dir,
      env: env(),
      timeoutMs: 500,
      killGraceMs: 2000,
      onLine: out.onLine,
    });
    assert.equal(result.timedOut, true);
    const pids = out.stdout().map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(await waitUntil(() => !isAlive(pid)), true, `sleep ${pid} survived`);
  });

  test('a process that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const out = capture();
    const result = await runCommand({
      command: `sh -c 'trap "" TERM; echo $$; while true; do sleep 0.1; done' & wait`,
      cwd: dir,
      env: env(),
      timeoutMs: 300,
      killGraceMs: 300,
      onLine: out.onLine,
    });
    assert.equal(result.timedOut, true);
    const [pid] = out.stdout().map(Number);
    assert.ok(pid);
    assert.equal(await waitUntil(() => !isAlive(pid)), true);
  });

  test('aborting (a cancel) kills the process group', async () => {
    const out = capture();
    const abort = new AbortController();
    const running = runCommand({
      command: 'sleep 100 & echo $!; sleep 100 & echo $!; wait',
      cwd: dir,
      env: env(),
      timeoutMs: 60_000,
      signal: abort.signal,
      onLine: out.onLine,
    });
    assert.equal(await waitUntil(() => out.lines.length === 2), true);
    abort.abort();
    const result = await running;
    assert.equal(result.aborted, true);
    assert.equal(result.timedOut, false);
    for (const pid of out.stdout().map(Number)) assert.equal(await waitUntil(() => !isAlive(pid)), true);
  });

  test('when the shell exits, what it left running in its group is killed and the build does not wait for it', async () => {
    const out = capture();
    const started = Date.now();
    const result = await runCommand({
      command: 'sleep 100 & echo $!; echo built',
      cwd: dir,
      env: env(),
      timeoutMs: 60_000,
      killGraceMs: 1000,
      onLine: out.onLine,
    });
    assert.equal(result.exitCode, 0);
    // Not a speed check: waiting for the background job would take its full 100 s.
    assert.ok(Date.now() - started < 50_000);
    const [pid] = out.stdout().map(Number);
    assert.ok(pid);
    assert.equal(await waitUntil(() => !isAlive(pid)), true);
  });

  test('the child sees only the build environment, never the runner’s own', async () => {
    process.env.SLIPWAY_RUNNER_SECRET_FOR_TEST = 'hunter2';
    try {
      const buildEnv = createBuildEnv({
        path: process.env.PATH,
        home: dir,
        tmpDir: dir,
        lang: undefined,
        env: { NODE_ENV: 'production', SLIPWAY_COMMIT: 'fake', CI: 'no' },
        commit: 'a'.repeat(40),
        branch: 'main',
        ref: 'refs/heads/main',
        project: 'web',
        buildId: 'bld-1',
      });
      const out = capture();
      const result = await runCommand({ command: 'env', cwd: dir, env: buildEnv, timeoutMs: 10_000, onLine: out.onLine });
      assert.equal(result.exitCode, 0);
      const seen = Object.fromEntries(out.stdout().map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      assert.equal(seen.SLIPWAY_RUNNER_SECRET_FOR_TEST, undefined);
      assert.ok(!out.stdout().some((line) => line.includes('hunter2')));
      assert.equal(seen.NODE_ENV, 'production');
      assert.equal(seen.SLIPWAY_COMMIT, 'a'.repeat(40));
      assert.equal(seen.SLIPWAY_BRANCH, 'main');
      assert.equal(seen.SLIPWAY_REF, 'refs/heads/main');
      assert.equal(seen.SLIPWAY_PROJECT, 'web');
      assert.equal(seen.SLIPWAY_BUILD_ID, 'bld-1');
      assert.equal(seen.CI, 'true');
      assert.equal(seen.HOME, dir);
      const names = Object.keys(seen).filter((name) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(name));
      assert.deepEqual(names.sort(), ['CI', 'HOME', 'LANG', 'NODE_ENV', 'PATH', 'SLIPWAY_BRANCH', 'SLIPWAY_BUILD_ID', 'SLIPWAY_COMMIT', 'SLIPWAY_PROJECT', 'SLIPWAY_REF', 'TMPDIR']);
    } finally {
      delete process.env.SLIPWAY_RUNNER_SECRET_FOR_TEST;
    }
  });

  test('a missing working directory is reported, not thrown', async () => {
    const result = await runCommand({ command: 'true', cwd: join(dir, 'nope'), env: env(), timeoutMs: 10_000, onLine: () => undefined });
    assert.ok(result.error);
  });
});
