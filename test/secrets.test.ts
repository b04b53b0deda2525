import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isSlipwayError } from '../src/core/errors.ts';
import { createMemoryContext } from '../src/cli/memory-context.ts';
import { run } from '../src/cli/program.ts';
import { LEASE_HEADER } from '../src/protocol/builds.ts';
import { SlipwayClient } from '../src/protocol/client.ts';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/server.ts';
import { migrate } from '../src/store/migrate.ts';
import { openStore } from '../src/store/open-store.ts';
import { connect as connectPostgres } from '../src/store/postgres/connect.ts';
import { connect as connectSqlite } from '../src/store/sqlite/connect.ts';
import { backends, rawDatabase, TEST_SECRET_KEY } from './support/backends.ts';
import { rejectsWithCode } from './support/assert.ts';
import { ADMIN_TOKEN } from './support/server.ts';

const TOKEN = 'ghp_RepoToken4242secretvalue';
const REPO = `https://x-access-token:${TOKEN}@github.com/acme/shop.git`;
const WEBHOOK_SECRET = 'whsec-Webhook-Secret-8931';
const SHOWN = 'https://***@github.com/acme/shop';

function assertNoSecret(text: string, where: string): void {
  for (const secret of [TOKEN, WEBHOOK_SECRET, 'RepoToken4242', 'Webhook-Secret']) assert.ok(!text.includes(secret), `${where} contains ${secret}`);
}

/** A GitHub delivery signed with `secret`, addressed to one project; answers the status. */
async function github(server: RunningServer, project: string, secret: string, event: string, payload: unknown): Promise<number> {
  const body = JSON.stringify(payload);
  const res = await fetch(`http://127.0.0.1:${server.port}/hooks/github?project=${project}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

const ping = (server: RunningServer, project: string, secret: string) => github(server, project, secret, 'ping', { zen: 'Keep it logically awesome.', hook_id: 7 });

interface Instance {
  server: RunningServer;
  client: SlipwayClient;
  as(token: string): SlipwayClient;
}

async function start(dataDir: string, databaseUrl: string, options: Partial<ServerOptions> = {}): Promise<Instance> {
  const server = await startServer({ dataDir, databaseUrl, port: 0, adminToken: ADMIN_TOKEN, quiet: true, runners: 0, ...options });
  const url = `http://127.0.0.1:${server.port}`;
  return { server, client: new SlipwayClient({ url, token: ADMIN_TOKEN }), as: (token) => new SlipwayClient({ url, token }) };
}

for (const backend of backends) {
  describe(`secrets at rest on ${backend.name}`, () => {
    let db: { url: string; dispose(): Promise<void> };
    let dataDir: string;
    let instance: Instance | undefined;
    let viewer: string;

    before(async () => {
      db = await backend.create();
      dataDir = await mkdtemp(join(tmpdir(), 'slipway-secrets-'));
      instance = await start(dataDir, db.url);
      viewer = (await instance.client.createToken({ name: 'viewer', role: 'viewer' })).secret;
    });
    after(async () => {
      await instance?.server.close();
      await db.dispose();
      await rm(dataDir, { recursive: true, force: true });
    });

    test('the key file is made on the first start, 32 bytes, readable by its owner only', async () => {
      const info = await stat(join(dataDir, 'secret.key'));
      assert.equal(info.mode & 0o777, 0o600);
      assert.equal(Buffer.from((await readFile(join(dataDir, 'secret.key'), 'utf8')).trim(), 'base64').length, 32);
    });

    test('a repository token and a webhook secret are stored sealed and shown to no one', async () => {
      const { client } = instance!;
      const created = await client.createProject('shop', { repo: REPO, webhookSecret: WEBHOOK_SECRET });
      assert.equal(created.repo, SHOWN);
      assert.equal(created.hasWebhookSecret, true);

      const asViewer = instance!.as(viewer);
      const answers = JSON.stringify([await asViewer.listProjects(), await asViewer.getProjectStatus('shop'), await asViewer.listEvents()]);
      assertNoSecret(answers, 'what a viewer reads');
      assert.equal((await asViewer.getProjectStatus('shop')).project.repo, SHOWN);
      const event = (await asViewer.listEvents()).events.find((e) => e.action === 'project.create');
      assert.deepEqual(event?.after, { name: 'shop', repo: SHOWN });

      // The CLI shows what the API shows.
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${instance!.server.port}`, SLIPWAY_TOKEN: viewer, XDG_CONFIG_HOME: dataDir });
      assert.equal(await run(['projects', '--json'], ctx), 0);
      assertNoSecret(ctx.stdout(), 'slipway projects');
      assert.match(ctx.stdout(), /https:\/\/\*\*\*@github\.com\/acme\/shop/);

      const raw = await rawDatabase(backend.name, db.url);
      assertNoSecret(raw, 'the database');
      assert.match(raw, /v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:/, 'sealed values are there');
      assert.ok(raw.includes('https://github.com/acme/shop'), 'the repository URL itself is stored without its credentials');
    });

    test('a webhook signed with the secret verifies, after a restart too; a wrong secret does not', async () => {
      assert.equal(await ping(instance!.server, 'shop', WEBHOOK_SECRET), 200);
      assert.equal(await ping(instance!.server, 'shop', 'another-secret-123'), 401);
      await instance!.server.close();
      instance = undefined;
      instance = await start(dataDir, db.url);
      assert.equal(await ping(instance.server, 'shop', WEBHOOK_SECRET), 200);
    });

    test('projects set: changes the repository and the secret, audited by field names and the redacted URL', async () => {
      const { client } = instance!;
      await rejectsWithCode(instance!.as(viewer).updateProject('shop', { webhookSecret: 'x'.repeat(12) }), 'FORBIDDEN', 403);
      await rejectsWithCode(client.updateProject('shop', { repo: 'file:///etc' }), 'REPO_URL_FORBIDDEN', 400);
      await rejectsWithCode(client.updateProject('shop', { repo: 'http://127.0.0.1:5432/' }), 'REPO_URL_FORBIDDEN', 400);
      await rejectsWithCode(client.updateProject('shop', {}), 'INVALID_REQUEST', 400);
      await rejectsWithCode(client.updateProject('nope', { webhookSecret: 'x'.repeat(12) }), 'PROJECT_NOT_FOUND', 404);
      assert.equal((await client.getProjectStatus('shop')).project.repo, SHOWN, 'refused changes changed nothing');

      const newToken = 'glpat-NewRepoToken777';
      const ctx = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${instance!.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN, XDG_CONFIG_HOME: dataDir });
      const args = ['projects', 'set', 'shop', '--repo', `https://oauth2:${newToken}@gitlab.com/acme/shop.git`, '--webhook-secret', 'whsec-Rotated-5555'];
      assert.equal(await run(args, ctx), 0, ctx.stderr());
      assert.match(ctx.stdout(), /repository: +https:\/\/\*\*\*@gitlab\.com\/acme\/shop/);
      assert.ok(!ctx.stdout().includes(newToken));
      assert.equal(await ping(instance!.server, 'shop', 'whsec-Rotated-5555'), 200);
      assert.equal(await ping(instance!.server, 'shop', WEBHOOK_SECRET), 401);

      const update = (await client.listEvents()).events.find((e) => e.action === 'project.update');
      assert.deepEqual(update?.before, { repo: SHOWN });
      assert.deepEqual(update?.after, { repo: 'https://***@gitlab.com/acme/shop', changed: ['repo', 'repoCredentials', 'webhookSecret'] });

      const cleared = createMemoryContext({ SLIPWAY_URL: `http://127.0.0.1:${instance!.server.port}`, SLIPWAY_TOKEN: ADMIN_TOKEN, XDG_CONFIG_HOME: dataDir });
      assert.equal(await run(['projects', 'set', 'shop', '--clear-webhook-secret', '--json'], cleared), 0, cleared.stderr());
      assert.equal((JSON.parse(cleared.stdout()) as { hasWebhookSecret: boolean }).hasWebhookSecret, false);
      assert.equal(await run(['projects', 'set', 'shop'], cleared), 2);

      const raw = await rawDatabase(backend.name, db.url);
      assertNoSecret(raw, 'the database');
      assert.ok(!raw.includes(newToken) && !raw.includes('Rotated-5555'), 'the new secrets are sealed too');
    });

    test('the credentials reach only the runner that claims a build of that repository, as a header', async () => {
      const { client } = instance!;
      const token = 'ghp_CredsForTheRunner999';
      await client.createProject('creds', { repo: `https://ci:${token}@github.com/acme/creds.git`, webhookSecret: 'whsec-creds-12345' });
      const push = {
        ref: 'refs/heads/main',
        before: '0'.repeat(40),
        after: 'c'.repeat(40),
        repository: { full_name: 'acme/creds', clone_url: 'https://github.com/acme/creds.git', html_url: 'https://github.com/acme/creds' },
      };
      assert.equal(await github(instance!.server, 'creds', 'whsec-creds-12345', 'push', push), 202);
      const runner = instance!.as((await client.createToken({ name: 'runner', role: 'runner' })).secret);
      const claimed = await runner.claimBuild({ runner: 'r-creds', leaseSeconds: 60, waitSeconds: 10 });
      assert.equal(claimed?.gitUrl, 'https://github.com/acme/creds');
      assert.equal(claimed?.gitAuthorization, `Basic ${Buffer.from(`ci:${token}`).toString('base64')}`);
      const visible = JSON.stringify([await instance!.as(viewer).listBuilds('creds'), await instance!.as(viewer).listDeliveries('creds')]);
      assert.ok(!visible.includes(token) && !visible.includes(Buffer.from(`ci:${token}`).toString('base64')));

      // A build that prints the URL with the token (a tool echoing its remote) is shown and stored redacted.
      const holder = runner.withHeaders({ [LEASE_HEADER]: claimed.lease });
      const leaked = `fatal: unable to access 'https://ci:${token}@github.com/acme/creds.git/'`;
      await holder.appendBuildLogs(claimed.build.id, { runner: 'r-creds', lines: [{ at: new Date().toISOString(), stream: 'stderr', text: leaked }] });
      await holder.completeBuild(claimed.build.id, { runner: 'r-creds', state: 'failed', error: leaked, report: {} });
      const logs = await instance!.as(viewer).getBuildLogs('creds', claimed.build.id);
      assert.deepEqual(
        logs.lines.map((l) => l.text),
        ["fatal: unable to access 'https://***@github.com/acme/creds.git/'"],
      );
      assert.equal(logs.build.error, "fatal: unable to access 'https://***@github.com/acme/creds.git/'");
      assert.ok(!(await rawDatabase(backend.name, db.url)).includes(token));
    });

    test('a different key is refused at start (SECRET_KEY_MISMATCH), before anything is served', async () => {
      await instance!.server.close();
      instance = undefined;
      await assert.rejects(start(dataDir, db.url, { secretKey: randomBytes(32).toString('base64') }), (err: unknown) => isSlipwayError(err, 'SECRET_KEY_MISMATCH'));
      const other = await mkdtemp(join(tmpdir(), 'slipway-secrets-other-'));
      try {
        // Another data dir: another key file, the same database.
        await assert.rejects(start(other, db.url), (err: unknown) => isSlipwayError(err, 'SECRET_KEY_MISMATCH'));
      } finally {
        await rm(other, { recursive: true, force: true });
      }
      instance = await start(dataDir, db.url);
    });

    test('a sealed value copied into another project does not open', async () => {
      await instance!.client.createProject('copycat', { repo: 'https://github.com/acme/copycat', webhookSecret: 'whsec-copycat-1234' });
      await instance!.client.updateProject('shop', { webhookSecret: WEBHOOK_SECRET });
      await instance!.server.close();
      instance = undefined;
      const conn = backend.name === 'sqlite' ? connectSqlite(db.url) : connectPostgres(db.url);
      try {
        await sql`UPDATE projects SET webhook_secret = (SELECT webhook_secret FROM projects WHERE name = 'shop') WHERE name = 'copycat'`.execute(conn.db);
      } finally {
        await conn.close();
      }
      const key = Buffer.from((await readFile(join(dataDir, 'secret.key'), 'utf8')).trim(), 'base64');
      const store = await openStore(db.url, { secretKey: key });
      try {
        assert.equal((await store.findProjectByName('shop'))?.webhookSecret, WEBHOOK_SECRET);
        await assert.rejects(store.findProjectByName('copycat'), (err: unknown) => isSlipwayError(err, 'SECRET_KEY_MISMATCH'));
      } finally {
        await store.close();
      }
    });
  });

  describe(`secrets stored before sealing existed, on ${backend.name}`, () => {
    test('are sealed at the first start, credentials leave URLs, builds, deliveries and the audit log', async () => {
      const db = await backend.create();
      const dataDir = await mkdtemp(join(tmpdir(), 'slipway-secrets-upgrade-'));
      const before007 = await mkdtemp(join(tmpdir(), 'slipway-migrations-'));
      let instance: Instance | undefined;
      try {
        // The database as the release before migration 007 left it, with secrets in plain text.
        const conn = backend.name === 'sqlite' ? connectSqlite(db.url) : connectPostgres(db.url);
        try {
          for (const file of await readdir(conn.migrationsDir)) {
            if (/^00[0-6]_/.test(file)) await copyFile(join(conn.migrationsDir, file), join(before007, file));
          }
          await migrate({ ...conn, migrationsDir: before007 });
          const at = '2026-01-01T00:00:00.000Z';
          await sql`INSERT INTO projects (id, name, created_at, created_by, repo_url, webhook_secret)
            VALUES ('prj-old', 'old', ${at}, 'admin', ${'https://x-access-token:' + TOKEN + '@github.com/acme/old'}, ${WEBHOOK_SECRET})`.execute(conn.db);
          await sql`INSERT INTO events (at, actor, action, project_id, target, after)
            VALUES (${at}, 'admin', 'project.create', 'prj-old', 'old', ${JSON.stringify({ name: 'old', repo: 'https://x-access-token:' + TOKEN + '@github.com/acme/old' })})`.execute(conn.db);
          await sql`INSERT INTO builds (id, project_id, commit_sha, ref, branch, state, source_url, trigger_kind, created_at, created_by)
            VALUES ('bld-old', 'prj-old', ${'a'.repeat(40)}, 'refs/heads/main', 'main', 'failed', ${'https://x-access-token:' + TOKEN + '@github.com/acme/old'}, 'github', ${at}, 'github')`.execute(conn.db);
        } finally {
          await conn.close();
        }

        instance = await start(dataDir, db.url);
        const project = (await instance.client.getProjectStatus('old')).project;
        assert.equal(project.repo, 'https://***@github.com/acme/old');
        assert.equal(await ping(instance.server, 'old', WEBHOOK_SECRET), 200, 'the old secret still verifies');
        const builds = await instance.client.listBuilds('old');
        assert.equal(builds.builds[0]?.sourceUrl, 'https://github.com/acme/old');
        const events = JSON.stringify(await instance.client.listEvents());
        assertNoSecret(events, 'the audit log');
        assert.ok(events.includes('https://***@github.com/acme/old'));
        const stored = await instance.server.deps.store.findProjectByName('old');
        assert.deepEqual(stored?.repoCredentials, { username: 'x-access-token', password: TOKEN });
        await instance.server.close();
        instance = undefined;
        assertNoSecret(await rawDatabase(backend.name, db.url), 'the database after the upgrade');
        // A second start has nothing left to upgrade and the same key opens everything.
        instance = await start(dataDir, db.url);
        assert.equal(await ping(instance.server, 'old', WEBHOOK_SECRET), 200);
      } finally {
        await instance?.server.close();
        await db.dispose();
        await rm(dataDir, { recursive: true, force: true });
        await rm(before007, { recursive: true, force: true });
      }
    });
  });
}

describe('the secret key', () => {
  const sqlite = backends[0]!;
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'slipway-secret-key-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  const startsWith = async (dataDir: string, options: Partial<ServerOptions> = {}) => {
    const db = await sqlite.create();
    try {
      const instance = await start(dataDir, db.url, options);
      await instance.server.close();
    } finally {
      await db.dispose();
    }
  };
  const invalid = (err: unknown) => isSlipwayError(err, 'SECRET_KEY_INVALID');

  test('a key file others may read, or of the wrong size, is refused: SECRET_KEY_INVALID', async () => {
    const loose = join(base, 'loose');
    await startsWith(loose);
    await chmod(join(loose, 'secret.key'), 0o644);
    await assert.rejects(startsWith(loose), invalid);
    await chmod(join(loose, 'secret.key'), 0o600);
    await startsWith(loose);
    await writeFile(join(loose, 'secret.key'), `${randomBytes(16).toString('base64')}\n`, { mode: 0o600 });
    await assert.rejects(startsWith(loose), invalid);
    await writeFile(join(loose, 'secret.key'), 'not a key at all', { mode: 0o600 });
    await assert.rejects(startsWith(loose), invalid);
  });

  test('SLIPWAY_SECRET_KEY (or the secretKey option) wins over the file: 32 bytes as base64 or hex', async () => {
    await startsWith(join(base, 'hex'), { secretKey: randomBytes(32).toString('hex') });
    await startsWith(join(base, 'b64'), { secretKey: TEST_SECRET_KEY.toString('base64url') });
    await assert.rejects(startsWith(join(base, 'short'), { secretKey: randomBytes(31).toString('base64') }), invalid);
    await assert.rejects(startsWith(join(base, 'junk'), { secretKey: 'correct horse battery staple' }), invalid);
    const saved = process.env.SLIPWAY_SECRET_KEY;
    process.env.SLIPWAY_SECRET_KEY = 'too-short';
    try {
      await assert.rejects(startsWith(join(base, 'env')), invalid);
    } finally {
      if (saved === undefined) delete process.env.SLIPWAY_SECRET_KEY;
      else process.env.SLIPWAY_SECRET_KEY = saved;
    }
    await assert.rejects(stat(join(base, 'hex', 'secret.key')), { code: 'ENOENT' }, 'no key file when a key is given');
  });
});
