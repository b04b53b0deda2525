#!/usr/bin/env node
/* global setTimeout, clearTimeout, fetch, Buffer */
// The package as a user gets it: `npm pack`, `npm install -g` of the tarball into a temporary
// prefix, then the installed `slipway` (from a directory outside the checkout, with only the
// prefix's bin on PATH before the system's) starts a server on a free port with a temp data
// dir, deploys a small directory, and the deployment's URL serves it; the dashboard, the agent
// bundle and its digest are checked too. Run by .ci/run after the tests; exits non-zero on the
// first thing that is wrong. `--tarball <file>` checks a tarball made already.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'slipway-package-'));
const prefix = join(tmp, 'prefix');
const token = `slw_package_check_${createHash('sha256').update(tmp).digest('hex').slice(0, 24)}`;
let server;

function step(text) {
  console.log(`-- ${text}`);
}

function fail(text) {
  throw new Error(text);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** GET through the loopback port with a Host header (fetch does not let one set Host). */
function get(port, host, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const given = process.argv.indexOf('--tarball');
  let tarball;
  if (given !== -1) {
    tarball = process.argv[given + 1] ?? fail('--tarball needs a file');
  } else {
    step('npm pack');
    run('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    tarball = join(tmp, readdirSync(tmp).find((name) => name.endsWith('.tgz')) ?? fail('npm pack made no tarball'));
  }

  step(`npm install -g --prefix ${prefix} ${tarball}`);
  run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
  const installed = join(prefix, 'lib', 'node_modules', 'slipway');
  for (const absent of ['src', 'test', 'node_modules/tsx', 'node_modules/typescript']) {
    if (existsSync(join(installed, absent))) fail(`the installed package has ${absent}/, which it should not need`);
  }
  for (const present of ['dist/bundle/slipway.js', 'dist/agent/slipway-agent.js', 'web/dist/index.html', 'schema/slipway.schema.json', 'dist/store/sqlite/migrations/001_init.sql']) {
    if (!existsSync(join(installed, present))) fail(`the installed package lacks ${present}`);
  }

  const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: tmp, XDG_CONFIG_HOME: join(tmp, 'config') };
  const slipway = (args, extra = {}) => run('slipway', args, { cwd: tmp, env: { ...env, ...extra } });

  step('slipway --version');
  const said = slipway(['--version']).trim();
  if (said !== version) fail(`slipway --version said "${said}", expected ${version}`);

  step('slipway server');
  server = spawn('slipway', ['server', '--port', '0', '--data', join(tmp, 'data'), '--json', '--log-level', 'warn'], {
    cwd: tmp,
    env: { ...env, SLIPWAY_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s: ${out}`)), 60_000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    });
    server.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const api = { SLIPWAY_URL: base, SLIPWAY_TOKEN: token };

  step('slipway projects create, slipway deploy');
  const site = join(tmp, 'site');
  mkdirSync(join(site, 'css'), { recursive: true });
  const page = `<h1>package check ${tmp}</h1>\n`;
  writeFileSync(join(site, 'index.html'), page);
  writeFileSync(join(site, 'css', 'site.css'), 'h1 { color: teal }\n');
  slipway(['projects', 'create', 'check'], api);
  const deployed = JSON.parse(slipway(['deploy', site, '--project', 'check', '--json'], api));
  const host = new URL(deployed.url).host;
  for (const [path, body] of [['/', page], ['/css/site.css', 'h1 { color: teal }\n']]) {
    const response = await get(port, host, path);
    if (response.status !== 200 || response.body !== body) fail(`GET ${deployed.url}${path.slice(1)}: ${response.status} ${response.body.slice(0, 200)}`);
  }
  const status = JSON.parse(slipway(['status', '--project', 'check', '--json'], api));
  if (status.project?.name !== 'check' && status.name !== 'check') fail(`slipway status: ${JSON.stringify(status).slice(0, 200)}`);

  step('dashboard, health, agent bundle');
  const dashboard = await (await fetch(`${base}/`)).text();
  if (!/<script[^>]+src="\/assets\//.test(dashboard)) fail(`the dashboard is not built into the package: ${dashboard.slice(0, 200)}`);
  const health = await (await fetch(`${base}/healthz`)).json();
  if (health.status !== 'ok') fail(`healthz: ${JSON.stringify(health)}`);
  const agent = Buffer.from(await (await fetch(`${base}/agent/slipway-agent.js`)).arrayBuffer());
  const manifest = await (await fetch(`${base}/agent/manifest.json`)).json();
  const digest = createHash('sha256').update(agent).digest('hex');
  if (manifest.sha256 !== digest || manifest.version !== version) fail(`agent manifest ${JSON.stringify(manifest)} vs sha256 ${digest}`);
  const agentDir = join(tmp, 'agent-host');
  mkdirSync(agentDir);
  writeFileSync(join(agentDir, 'slipway-agent.js'), agent);
  const agentVersion = run(process.execPath, ['slipway-agent.js', '--version'], { cwd: agentDir, env: { PATH: env.PATH } }).trim();
  if (agentVersion !== version) fail(`the agent bundle says it is ${agentVersion}, the package is ${version}`);
  const unit = run(process.execPath, ['slipway-agent.js', '--print-systemd', '--dir', join(agentDir, 'dir'), '--server', base], { cwd: agentDir, env: { PATH: env.PATH } });
  if (!/^ExecStart=.*slipway-agent\.js --dir /m.test(unit)) fail(`the agent's systemd unit: ${unit}`);
  console.log(`package check passed: slipway ${version} installed from ${tarball.replace(`${tmp}/`, '')}, served ${deployed.url}`);
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`package check FAILED: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);
