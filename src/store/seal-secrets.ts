import type { Kysely } from 'kysely';
import { ErrorCode, SlipwayError } from '../core/errors.ts';
import { normalizeRepoUrl, redactDeep, redactUrl, splitCredentials } from '../core/repo-url.ts';
import type { Connection } from './connection.ts';
import { secretContext } from './kysely/family-context.ts';
import type { Database } from './schema.ts';
import type { SecretBox } from './secret-box.ts';

const KEY_CHECK_ID = 'default';
const KEY_CHECK_TEXT = 'slipway secret key check';
const KEY_CHECK_CONTEXT = 'secret_key_checks/default';
const UPGRADE = 'seal-secrets';
const PLAIN = 'plain:';
/** Rows that may quote a URL with credentials: `scheme://…@`. */
const HAS_USERINFO = '%://%@%';

/**
 * Runs once per start, after the migrations, under the same lock:
 *   1. the key check — the first start with a key stores a value sealed with it; every later
 *      start opens it, so a different key fails here (SECRET_KEY_MISMATCH) rather than at the
 *      first webhook;
 *   2. while migration 007's upgrade is pending: seal the secrets it marked `plain:`, move
 *      credentials out of repository URLs into their sealed column, strip them from builds and
 *      queued deliveries, redact them in audit events — in one transaction, then make the
 *      rewritten rows the only copy on disk.
 */
export async function prepareSecrets(conn: Connection, box: SecretBox): Promise<void> {
  await conn.withMigrationLock(async () => {
    await checkKey(conn.db, box);
    const pending = await conn.db.selectFrom('slipway_upgrades').select('name').where('name', '=', UPGRADE).executeTakeFirst();
    if (!pending) return;
    await conn.db.transaction().execute(async (trx) => {
      await sealProjects(trx, box);
      await stripBuilds(trx);
      await stripDeliveries(trx);
      await redactEvents(trx, conn);
      await trx.deleteFrom('slipway_upgrades').where('name', '=', UPGRADE).execute();
    });
    await conn.checkpoint();
  });
}

async function checkKey(db: Kysely<Database>, box: SecretBox): Promise<void> {
  const row = await db.selectFrom('secret_key_checks').select('value').where('id', '=', KEY_CHECK_ID).executeTakeFirst();
  if (!row) {
    await db
      .insertInto('secret_key_checks')
      .values({ id: KEY_CHECK_ID, value: box.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT), created_at: new Date().toISOString() })
      .execute();
    return;
  }
  let opened: string | undefined;
  try {
    opened = box.open(row.value, KEY_CHECK_CONTEXT);
  } catch {
    opened = undefined;
  }
  if (opened !== KEY_CHECK_TEXT) {
    throw new SlipwayError(
      ErrorCode.SECRET_KEY_MISMATCH,
      'this database was sealed with another secret key: start with the SLIPWAY_SECRET_KEY (or <data dir>/secret.key) it was first started with; every replica needs the same key',
    );
  }
}

async function sealProjects(trx: Kysely<Database>, box: SecretBox): Promise<void> {
  const rows = await trx
    .selectFrom('projects')
    .select(['id', 'repo_url', 'webhook_secret', 'repo_credentials'])
    .where((eb) => eb.or([eb('webhook_secret', 'like', `${PLAIN}%`), eb('repo_url', 'like', HAS_USERINFO)]))
    .execute();
  for (const row of rows) {
    const update: { webhook_secret?: string; repo_url?: string; repo_credentials?: string | null } = {};
    if (row.webhook_secret?.startsWith(PLAIN)) {
      update.webhook_secret = box.seal(row.webhook_secret.slice(PLAIN.length), secretContext(row.id, 'webhook_secret'));
    }
    if (row.repo_url !== null) {
      const { url, credentials } = splitCredentials(row.repo_url);
      if (credentials !== null) {
        update.repo_url = normalizeRepoUrl(url);
        update.repo_credentials = box.seal(JSON.stringify(credentials), secretContext(row.id, 'repo_credentials'));
      } else if (url !== row.repo_url || redactUrl(url) !== url) {
        update.repo_url = normalizeRepoUrl(redactUrl(url).replace('***@', ''));
      }
    }
    if (Object.keys(update).length > 0) await trx.updateTable('projects').set(update).where('id', '=', row.id).execute();
  }
}

async function stripBuilds(trx: Kysely<Database>): Promise<void> {
  const rows = await trx.selectFrom('builds').select(['id', 'source_url']).where('source_url', 'like', HAS_USERINFO).execute();
  for (const row of rows) {
    if (row.source_url === null) continue;
    await trx.updateTable('builds').set({ source_url: withoutCredentials(row.source_url) }).where('id', '=', row.id).execute();
  }
}

async function stripDeliveries(trx: Kysely<Database>): Promise<void> {
  const rows = await trx.selectFrom('webhook_deliveries').select(['seq', 'push']).where('push', 'like', HAS_USERINFO).execute();
  for (const row of rows) {
    if (row.push === null) continue;
    const push = JSON.parse(row.push) as Record<string, unknown>;
    if (typeof push.sourceUrl === 'string') push.sourceUrl = withoutCredentials(push.sourceUrl);
    await trx.updateTable('webhook_deliveries').set({ push: JSON.stringify(redactDeep(push)) }).where('seq', '=', row.seq).execute();
  }
}

/** The one rewrite of the append-only audit log: credentials recorded in events before redaction existed. */
async function redactEvents(trx: Kysely<Database>, conn: Connection): Promise<void> {
  const rows = await trx
    .selectFrom('events')
    .select(['id', 'target', 'reason', 'before', 'after'])
    .where((eb) => eb.or([eb('target', 'like', HAS_USERINFO), eb('reason', 'like', HAS_USERINFO), eb('before', 'like', HAS_USERINFO), eb('after', 'like', HAS_USERINFO)]))
    .execute();
  if (rows.length === 0) return;
  await conn.runScript(trx, conn.eventsAppendOnly.off);
  for (const row of rows) {
    const json = (text: string | null) => (text === null ? null : JSON.stringify(redactDeep(JSON.parse(text) as unknown)));
    await trx
      .updateTable('events')
      .set({
        target: row.target === null ? null : redactUrl(row.target),
        reason: row.reason === null ? null : redactUrl(row.reason),
        before: json(row.before),
        after: json(row.after),
      })
      .where('id', '=', row.id)
      .execute();
  }
  await conn.runScript(trx, conn.eventsAppendOnly.on);
}

function withoutCredentials(url: string): string {
  const split = splitCredentials(url);
  return split.credentials === null ? redactUrl(split.url).replace('***@', '') : split.url;
}

