import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { backends } from './support/backends.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/**
 * The agent bundle: built by scripts/build-agent.mjs, run with `node` alone from a directory with
 * no node_modules, and published by a real server with its digest.
 */

const BUILD_AGENT = fileURLToPath(new URL('../scripts/build-agent.mjs', import.meta.url));
const VERSION = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run node ${args.join(' ')}: ${err.message}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

describe('the agent bundle', () => {
  let buildDir: string;
  let host: string;
  let t: TestServer;
  let url: string;

  before(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'slipway-agent-build-'));
    const built = await node([BUILD_AGENT, buildDir], tmpdir());
    assert.equal(built.code, 0, built.stderr);
    // A host: a directory with the one file in it, nothing else (no node_modules, no package.json).
    host = await mkdtemp(join(tmpdir(), 'slipway-agent-host-'));
    await copyFile(join(buildDir, 'slipway-agent.js'), join(host, 'slipway-agent.js'));
    t = await startTestServer(backends[0]!, { agentDir: buildDir });
    url = `http://127.0.0.1:${t.server.port}`;
  });

  after(async () => {
    await t?.dispose();
    await rm(buildDir, { recursive: true, force: true });
    await rm(host, { recursive: true, force: true });
  });

  test('runs with node alone and says its version', async () => {
    const run = await node(['slipway-agent.js', '--version'], host);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), VERSION);
  });

  test('prints a systemd unit that runs this file with node, restarts it, and leaves the service to the agent on a crash', async () => {
    const run = await node(['slipway-agent.js', '--print-systemd', '--dir', '/srv/shop', '--server', url, '--port', '9000'], host);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^ExecStart=${process.execPath.replaceAll('/', '\\/')} ${join(host, 'slipway-agent.js').replaceAll('/', '\\/')} --dir \\/srv\\/shop --server ${url.replaceAll('/', '\\/')} --port 9000$`, 'm'));
    assert.match(run.stdout, /^Restart=always$/m);
    assert.match(run.stdout, /^KillMode=process$/m);
    assert.doesNotMatch(run.stdout, /^ExecStart=.*--token/m, 'the one-time token is not written into the unit');
    const help = await node(['slipway-agent.js', '--help'], host);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--dir <dir>/);
  });

  test('an unreachable server, a bad URL, a missing --dir or enrollment, or an unknown flag fail with the CLI exit codes', async () => {
    const dir = join(host, 'agent-dir');
    const down = await node(['slipway-agent.js', '--dir', dir, '--server', 'http://127.0.0.1:1', '--token', 'x'], host);
    assert.equal(down.code, 7, down.stderr);
    assert.match(down.stderr, /NETWORK_ERROR/);
    for (const args of [
      ['--dir', dir, '--server', 'file:///etc/passwd', '--token', 'x'],
      ['--dir', dir, '--server', 'not a url', '--token', 'x'],
      ['--bogus'],
      ['--server', url, '--token', 'x'],
      ['--dir', dir],
      ['--dir', dir, '--port', '0'],
      ['--dir', dir, '--keep', 'many'],
      ['extra'],
    ]) {
      const run = await node(['slipway-agent.js', ...args], host);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /\(USAGE\)/);
      assert.equal(run.stdout, '');
    }
  });

  test('the server publishes the bundle, its sha256 and a manifest that agree with the bytes', async () => {
    const file = await fetch(`${url}/agent/slipway-agent.js`);
    assert.equal(file.status, 200);
    assert.match(file.headers.get('content-type') ?? '', /^text\/javascript/);
    const bytes = Buffer.from(await file.arrayBuffer());
    const digest = createHash('sha256').update(bytes).digest('hex');
    assert.deepEqual(bytes, await readFile(join(buildDir, 'slipway-agent.js')));
    assert.equal(file.headers.get('x-slipway-agent-sha256'), digest);

    const sum = await fetch(`${url}/agent/slipway-agent.js.sha256`);
    assert.equal(sum.status, 200);
    const sumText = await sum.text();
    assert.equal(sumText, `${digest}  slipway-agent.js\n`);
    assert.equal(sumText, await readFile(join(buildDir, 'slipway-agent.js.sha256'), 'utf8'), 'the build and the server name the same digest');

    const manifest = await fetch(`${url}/agent/manifest.json`);
    assert.equal(manifest.status, 200);
    assert.deepEqual(await manifest.json(), { name: 'slipway-agent', version: VERSION, sha256: digest, size: bytes.length, url: '/agent/slipway-agent.js' });
  });

  test('a rebuilt bundle is served with its new digest; a missing one is a 404, never a stale digest', async () => {
    const path = join(buildDir, 'slipway-agent.js');
    const original = await readFile(path);
    await writeFile(path, Buffer.concat([original, Buffer.from('\n// rebuilt\n')]));
    try {
      const manifest = (await (await fetch(`${url}/agent/manifest.json`)).json()) as { sha256: string };
      assert.equal(manifest.sha256, createHash('sha256').update(await readFile(path)).digest('hex'));
    } finally {
      await writeFile(path, original);
    }
    const empty = await mkdtemp(join(tmpdir(), 'slipway-agent-none-'));
    const bare = await startTestServer(backends[0]!, { agentDir: empty });
    try {
      for (const name of ['slipway-agent.js', 'slipway-agent.js.sha256', 'manifest.json']) {
        const response = await fetch(`http://127.0.0.1:${bare.server.port}/agent/${name}`);
        assert.equal(response.status, 404);
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      }
      const traversal = await fetch(`http://127.0.0.1:${bare.server.port}/agent/..%2f..%2fpackage.json`);
      assert.equal(traversal.status, 404);
    } finally {
      await bare.dispose();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
