import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MAX_CONFIG_VALUE_BYTES, MAX_CONFIG_VARS } from '../src/core/config-vars.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { rejectsWithCode } from './support/assert.ts';
import { backends, rawDatabase, type TestBackend } from './support/backends.ts';
import { slipway } from './support/cli.ts';
import { eventually } from './support/eventually.ts';
import { ADMIN_TOKEN, deployFiles, type TestServer } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/slipway', import.meta.url));

/** Values that must never leave the server but to an agent: each is searched for in the database, the log, events and output. */
const SECRETS = {
  DATABASE_URL: 'postgres://shop:Pw-7f3e9a1c-db@db.internal/shop',
  API_KEY: 'ak-Secret-2b8d4e6f',
  STRIPE_KEY: 'sk_live_Stdin-5c1a9e2d',
  LOCKED_KEY: 'Held-By-Lock-9e8d7c6b',
  ROLLED: 'Rolled-Config-4a5b6c7d',
} as const;
const SERVICE = { start: 'node server.js', port: 8080 };

/**
 * A real `slipway server` process (its log is what the server writes to stderr, at trace
 * level), on a fresh database of the backend; shaped as the CLI helper wants a TestServer.
 */
interface ServerProcess {
  t: TestServer;
  client: SlipwayClient;
  databaseUrl: string;
  log(): string;
  stop(): Promise<void>;
}

async function startServerProcess(backend: TestBackend): Promise<ServerProcess> {
  const db = await backend.create();
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'server', '--port', '0', '--json', '--data', dataDir, '--database-url', db.url, '--log-level', 'trace'],
    { env: { PATH: process.env.PATH ?? '', HOME: dataDir, SLIPWAY_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`slipway server exited (${code}): ${stderr}`)));
  });
  const client = new SlipwayClient({ url: `http://127.0.0.1:${port}`, token: ADMIN_TOKEN });
  return {
    t: { server: { port } } as unknown as TestServer,
    client,
    databaseUrl: db.url,
    log: () => stderr,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await db.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function countConfigVersions(backend: TestBackend['name'], url: string): Promise<number> {
  if (backend === 'sqlite') {
    const db = new Database(url, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM config_versions').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM config_versions')).rows[0]?.n);
  } finally {
    await client.end();
  }
}

function assertNoSecret(text: string, where: string): void {
  for (const [key, value] of Object.entries(SECRETS)) assert.ok(!text.includes(value), `${where} holds the value of ${key}`);
}

for (const backend of backends) {
  describe(`config vars (${backend.name})`, () => {
    let s: ServerProcess;
    let first = '';
    let second = '';

    before(async () => {
      s = await startServerProcess(backend);
      await s.client.createProject('shop');
      first = (await deployFiles(s.client, 'shop', { 'server.js': 'one' }, { service: SERVICE })).id;
      second = (await deployFiles(s.client, 'shop', { 'server.js': 'two' }, { service: SERVICE })).id;
      await s.client.promote('shop', 'production', { deployment: first });
    });
    after(async () => {
      await s?.stop();
    });

    test('set, set --stdin, list and unset round-trip through the CLI; a service environment gets a config release each time', async () => {
      const set = await slipway(s.t, ['config', 'set', `DATABASE_URL=${SECRETS.DATABASE_URL}`, `API_KEY=${SECRETS.API_KEY}`, '-p', 'shop', '-e', 'production']);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /set API_KEY, DATABASE_URL \(config v1\)/);
      assert.match(set.stdout, /production v2 \(config\) live/);
      assertNoSecret(set.stdout + set.stderr, 'config set output');

      const stdin = await slipway(s.t, ['config', 'set', 'STRIPE_KEY', '--stdin', '-p', 'shop', '-e', 'production'], { stdin: `${SECRETS.STRIPE_KEY}\n` });
      assert.equal(stdin.code, 0, stdin.stderr);
      assert.match(stdin.stdout, /set STRIPE_KEY \(config v2\)/);

      const listed = await slipway(s.t, ['config', 'list', '-p', 'shop', '-e', 'production', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assertNoSecret(listed.stdout, 'config list --json');
      const list = JSON.parse(listed.stdout) as { version: number; vars: { key: string; fingerprint: string; size: number; version: number; setBy: string }[]; live: { configVersion: number } };
      assert.equal(list.version, 2);
      assert.deepEqual(
        list.vars.map((v) => [v.key, v.version, v.size]),
        [
          ['API_KEY', 1, SECRETS.API_KEY.length],
          ['DATABASE_URL', 1, SECRETS.DATABASE_URL.length],
          ['STRIPE_KEY', 2, SECRETS.STRIPE_KEY.length],
        ],
      );
      assert.equal(list.live.configVersion, 2);
      for (const v of list.vars) assert.match(v.fingerprint, /^[0-9a-f]{12}$/);
      const table = await slipway(s.t, ['config', '-p', 'shop', '-e', 'production']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /config v2: 3 vars/);
      assertNoSecret(table.stdout, 'config list');

      // The same value has the same fingerprint elsewhere: values are compared without being shown.
      const staging = await s.client.changeConfig('shop', 'staging', { set: { OTHER: SECRETS.API_KEY } });
      assert.equal(staging.vars[0]?.fingerprint, list.vars[0]?.fingerprint);
      assert.equal(staging.release, null, 'nothing live in staging: no release');

      const unset = await slipway(s.t, ['config', 'unset', 'API_KEY', '-p', 'shop', '-e', 'production']);
      assert.equal(unset.code, 0, unset.stderr);
      assert.match(unset.stdout, /unset API_KEY \(config v3\)/);
      const after = await s.client.getConfig('shop', 'production');
      assert.deepEqual(
        after.vars.map((v) => v.key),
        ['DATABASE_URL', 'STRIPE_KEY'],
      );

      const releases = (await s.client.listReleases('shop', 'production')).releases;
      assert.deepEqual(
        releases.map((r) => [r.number, r.kind, r.state, r.deployment, r.configVersion]),
        [
          [4, 'config', 'live', first, 3],
          [3, 'config', 'superseded', first, 2],
          [2, 'config', 'superseded', first, 1],
          [1, 'promote', 'superseded', first, null],
        ],
      );
      assert.match(releases[0]?.reason ?? '', /^config v3: unset API_KEY$/);

      // Setting what is there already changes nothing.
      const same = await s.client.changeConfig('shop', 'production', { set: { DATABASE_URL: SECRETS.DATABASE_URL } });
      assert.equal(same.changed, false);
      assert.equal(same.version, 3);
      assert.equal(same.release, null);
    });

    test('a static site environment keeps versions but gets no release', async () => {
      const site = (await deployFiles(s.client, 'shop', { 'index.html': 'static' })).id;
      await s.client.promote('shop', 'site', { deployment: site });
      const changed = await s.client.changeConfig('shop', 'site', { set: { FEATURE: 'on' } });
      assert.equal(changed.version, 1);
      assert.equal(changed.release, null);
      assert.equal((await s.client.listReleases('shop', 'site')).releases.length, 1);
    });

    test('bad keys and sizes are refused with stable codes and change nothing', async () => {
      const before = await s.client.getConfig('shop', 'production');
      const releasesBefore = (await s.client.listReleases('shop', 'production')).releases.length;
      for (const key of ['1ABC', 'PORT', 'port', 'SLIPWAY_TOKEN', 'slipway_x', 'A-B', 'A B', '', 'É']) {
        await rejectsWithCode(s.client.changeConfig('shop', 'production', { set: { OK: 'fine', [key]: 'x' } }), 'CONFIG_INVALID_KEY', 400);
      }
      await rejectsWithCode(s.client.changeConfig('shop', 'production', { unset: ['PORT'] }), 'CONFIG_INVALID_KEY', 400);
      // `__proto__` would be dropped silently by schema parsing: the body is refused before (prototype poisoning).
      const proto = await fetch(`http://127.0.0.1:${s.t.server.port}/api/v1/projects/shop/environments/production/config`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: '{"set":{"__proto__":"x","OK":"fine"}}',
      });
      assert.equal(proto.status, 400);
      assert.equal(((await proto.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');

      const tooBig = 'v'.repeat(MAX_CONFIG_VALUE_BYTES + 1);
      const big = await rejectsWithCode(s.client.changeConfig('shop', 'production', { set: { BIG: tooBig } }), 'CONFIG_TOO_LARGE', 413);
      assert.ok(!big.message.includes('vvvv'), 'the error does not quote the value');
      await s.client.changeConfig('shop', 'scratch', { set: { EDGE: 'v'.repeat(MAX_CONFIG_VALUE_BYTES) } });
      const many = Object.fromEntries(Array.from({ length: MAX_CONFIG_VARS + 1 }, (_, i) => [`K${i}`, 'x']));
      await rejectsWithCode(s.client.changeConfig('shop', 'production', { set: many }), 'CONFIG_TOO_LARGE', 413);
      await rejectsWithCode(s.client.changeConfig('shop', 'production', {}), 'INVALID_REQUEST', 400);
      await rejectsWithCode(s.client.changeConfig('shop', 'production', { set: { A: 'x' }, unset: ['A'] }), 'INVALID_REQUEST', 400);

      const cli = await slipway(s.t, ['config', 'set', `SLIPWAY_X=${SECRETS.API_KEY}`, '-p', 'shop', '-e', 'production']);
      assert.equal(cli.code, 2);
      assert.match(cli.stderr, /CONFIG_INVALID_KEY/);
      assertNoSecret(cli.stdout + cli.stderr, 'a refused set');
      const notPair = await slipway(s.t, ['config', 'set', 'JUSTAKEY', '-p', 'shop', '-e', 'production']);
      assert.equal(notPair.code, 2);

      // A refused change to an environment that does not exist does not make it.
      await rejectsWithCode(s.client.changeConfig('shop', 'nowhere', { set: { PORT: '1' } }), 'CONFIG_INVALID_KEY');
      await rejectsWithCode(s.client.getEnvironment('shop', 'nowhere'), 'ENVIRONMENT_NOT_FOUND');

      const after = await s.client.getConfig('shop', 'production');
      assert.deepEqual(after, before);
      assert.equal((await s.client.listReleases('shop', 'production')).releases.length, releasesBefore);
    });

    test('a viewer lists keys but cannot set; a deployer cannot either', async () => {
      const viewer = await s.client.createToken({ name: 'looker', role: 'viewer' });
      const deployer = await s.client.createToken({ name: 'shipper', role: 'deployer' });
      const asViewer = new SlipwayClient({ url: `http://127.0.0.1:${s.t.server.port}`, token: viewer.secret });
      const list = await asViewer.getConfig('shop', 'production');
      assert.ok(list.vars.some((v) => v.key === 'DATABASE_URL'));
      assertNoSecret(JSON.stringify(list), 'a viewer’s list');
      await rejectsWithCode(asViewer.changeConfig('shop', 'production', { set: { X: 'y' } }), 'FORBIDDEN', 403);
      const asDeployer = new SlipwayClient({ url: `http://127.0.0.1:${s.t.server.port}`, token: deployer.secret });
      await rejectsWithCode(asDeployer.changeConfig('shop', 'production', { unset: ['DATABASE_URL'] }), 'FORBIDDEN', 403);
      const cli = await slipway(s.t, ['config', 'set', 'X=y', '-p', 'shop', '-e', 'production'], { token: viewer.secret });
      assert.equal(cli.code, 6);
      const listed = await slipway(s.t, ['config', 'list', '-p', 'shop', '-e', 'production'], { token: viewer.secret });
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal((await s.client.getConfig('shop', 'production')).version, list.version);
    });

    test('a lock holds a config release until it is lifted', async () => {
      await s.client.lock('shop', 'production', { reason: 'incident' });
      const held = await s.client.changeConfig('shop', 'production', { set: { LOCKED_KEY: SECRETS.LOCKED_KEY } });
      assert.equal(held.release?.state, 'waiting');
      assert.equal(held.release?.kind, 'config');
      assert.equal(held.live?.configVersion, held.version - 1, 'what runs keeps its config meanwhile');
      await s.client.unlock('shop', 'production', {});
      await eventually('the config release to go live', async () => {
        const live = (await s.client.listReleases('shop', 'production')).releases.find((r) => r.id === held.release?.id);
        return live?.state === 'live' ? live : undefined;
      });
    });

    test('a promotion carries the latest config version; a rollback the version its target ran with', async () => {
      const latest = (await s.client.getConfig('shop', 'production')).version;
      const promoted = await s.client.promote('shop', 'production', { deployment: second });
      assert.equal(promoted.configVersion, latest);
      const changed = await s.client.changeConfig('shop', 'production', { set: { ROLLED: SECRETS.ROLLED } });
      assert.equal(changed.release?.deployment, second);
      assert.equal(changed.release?.configVersion, latest + 1);
      // Like Heroku's: the previous release is the same deployment with the config before ROLLED.
      const rolledBack = await s.client.rollback('shop', 'production', { reason: 'bad config' });
      assert.equal(rolledBack.deployment, second);
      assert.equal(rolledBack.configVersion, latest, 'the version before ROLLED was set');
      const list = await s.client.getConfig('shop', 'production');
      assert.equal(list.version, latest + 1, 'the latest version stays what it was');
      assert.equal(list.live?.configVersion, latest);
    });

    test("an agent reads the vars of its own environment's releases, and of no other", async () => {
      // A project of its own: agents that never report would hold shop's rollouts open.
      await s.client.createProject('api');
      const service = (await deployFiles(s.client, 'api', { 'server.js': 'api' }, { service: SERVICE })).id;
      const production = await s.client.promote('api', 'production', { deployment: service });
      const staging = await s.client.promote('api', 'staging', { deployment: service });
      const prodConfig = await s.client.changeConfig('api', 'production', { set: { DATABASE_URL: SECRETS.DATABASE_URL, MODE: 'prod' } });
      await s.client.changeConfig('api', 'staging', { set: { API_KEY: SECRETS.API_KEY } });
      const configRelease = prodConfig.release;
      assert.equal(configRelease?.state, 'live', 'no agent serves it yet: it went live at once');

      const enroll = async (environment: string) => {
        const { token } = await s.client.createEnrollment('api', environment);
        const enrolled = await s.client.enrollAgent({ token, name: `host-${environment}`, version: 'test', address: '127.0.0.1', port: 9 });
        return new SlipwayClient({ url: `http://127.0.0.1:${s.t.server.port}`, token: enrolled.credential });
      };
      const agent = await enroll('production');
      const read = (client: SlipwayClient, release: string) => client.agentReleaseConfig(release);

      assert.deepEqual(await read(agent, configRelease?.id ?? ''), { version: prodConfig.version, vars: { DATABASE_URL: SECRETS.DATABASE_URL, MODE: 'prod' } });
      assert.deepEqual(await read(agent, production.id), { version: null, vars: {} }, 'the first release ran with no config');
      await rejectsWithCode(read(agent, staging.id), 'RELEASE_NOT_FOUND', 404);
      const shopRelease = (await s.client.listReleases('shop', 'production')).releases[0];
      await rejectsWithCode(read(agent, shopRelease?.id ?? ''), 'RELEASE_NOT_FOUND', 404);
      await rejectsWithCode(read(agent, 'rel-nope'), 'RELEASE_NOT_FOUND', 404);
      // Only an agent's credential reaches the route; an agent's reaches nothing else.
      await rejectsWithCode(read(s.client, configRelease?.id ?? ''), 'FORBIDDEN', 403);
      await rejectsWithCode(agent.getConfig('api', 'production'), 'FORBIDDEN', 403);
    });

    test("a deleted project's config versions are deleted with it", async () => {
      await s.client.createProject('gone');
      await s.client.changeConfig('gone', 'production', { set: { A: '1' } });
      await s.client.changeConfig('gone', 'production', { set: { B: '2' } });
      const before = await countConfigVersions(backend.name, s.databaseUrl);
      const deleted = await s.client.deleteProject('gone', 'gone');
      assert.equal(deleted.project, 'gone');
      assert.equal(await countConfigVersions(backend.name, s.databaseUrl), before - 2);
      const event = (await s.client.listEvents({ limit: 20 })).events.find((e) => e.action === 'project.delete');
      assert.equal((event?.after as { configVersionsDeleted?: number } | null)?.configVersionsDeleted, 2);
    });

    test('audit events name keys, never values; neither the database nor the server log holds a value', async () => {
      const events = (await s.client.listEvents({ project: 'shop', limit: 200 })).events;
      const changes = events.filter((e) => e.action === 'config.change');
      assert.ok(changes.length >= 5);
      assert.ok(changes.some((e) => JSON.stringify(e.after).includes('STRIPE_KEY')));
      assertNoSecret(JSON.stringify(events), 'the audit log');
      assertNoSecret(await rawDatabase(backend.name, s.databaseUrl), 'the database');
      const log = s.log();
      assert.match(log, /\/config/, 'the server logged the config requests');
      assertNoSecret(log, 'the server log');
    });
  });
}
