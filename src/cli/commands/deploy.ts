import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { deltaSize, diffManifests, type ManifestDelta } from '../../core/manifest-delta.ts';
import { canonicalManifest, validateManifest, type ManifestEntry } from '../../core/manifest.ts';
import type { CreateUploadRequest, Deployment, DeploymentMeta, Upload } from '../../protocol/api.ts';
import { ApiError, type SlipwayClient } from '../../protocol/client.ts';
import { cacheHome, HashCache, type Base } from '../../publish/hash-cache.ts';
import { connect, requireProject } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { findGitMeta } from '../git.ts';
import { formatBytes, plural } from '../output.ts';
import { createProgress } from '../progress.ts';
import { serviceMetaOf } from '../service-meta.ts';
import { DELTA_FALL_BACK, hashTree, readTree, uploadMissing, type LocalFile, type TreeFile } from '../../publish/upload.ts';

export interface DeployOptions {
  dir: string;
  project?: string | undefined;
  spa?: boolean | undefined;
  message?: string | undefined;
  /** The deployment to send the manifest against (default: the last one made from this directory). */
  base?: string | undefined;
  /** false (`--no-cache`): hash every file and send the whole manifest (unless `base` names one). */
  cache?: boolean | undefined;
  json?: boolean | undefined;
}

/** `--json` prints the deployment with what this upload had to send. */
export interface DeployResult extends Deployment {
  upload: {
    id: string;
    files: number;
    /** Files read and hashed (the rest had an unchanged stat in the hash cache). */
    hashed: number;
    missing: string[];
    uploadedBytes: number;
    /** The manifest went as a delta against `base` (counts of entries), or whole (null). */
    delta: { base: string; added: number; changed: number; removed: number } | null;
  };
}

const CONCURRENCY = 8;
const ATTEMPTS = 3;

/** The manifest of the tree, made from its files (read and hashed, or vouched for by the hash cache) and validated. */
interface Plan {
  files: LocalFile[];
  /** Files read and hashed. */
  hashed: number;
  entries: ManifestEntry[];
  canonical: string;
  digest: string;
}

/**
 * Plan, then apply: read the tree, hash what the hash cache cannot vouch for, validate the
 * manifest (nothing leaves the machine if that fails), then create the upload — its manifest
 * as a delta against the last deployment from this directory when there is one — send only
 * the blobs the server lacks, and finalize (in the same request when none is missing). Human
 * output ends with the deployment URL alone on the last line.
 *
 * A tree whose every file the cache vouches for unchanged (`HashCache.unchangedManifest`) makes
 * the manifest it made last time: when that is the base's, it goes as an empty delta without
 * looking at each file's digest. Anything else — or the server not taking that delta — makes
 * the manifest file by file as above.
 */
export const deploy: Command<DeployOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const root = resolve(ctx.cwd, options.dir);
  const showProgress = !options.json;

  // Asked of git while the tree is read.
  const gitMeta = findGitMeta(root);
  const [tree, cache] = await Promise.all([
    readTree(root),
    options.cache === false ? undefined : realpath(root).then((real) => HashCache.open(cacheHome(ctx.env, homedir()), real)),
  ]);
  for (const warning of tree.warnings) ctx.out.warn(warning);

  let planned: Plan | undefined;
  const plan = async (): Promise<Plan> => (planned ??= await makePlan(ctx, tree.files, cache, showProgress));
  const unchanged = options.base === undefined ? cache?.unchangedManifest(tree.files) : undefined;
  // Validated before anything is asked of the server (unless the cache vouches for the manifest).
  if (unchanged === undefined) await plan();

  const meta: DeploymentMeta = { source: 'cli', ...(await gitMeta) };
  if (options.message !== undefined) meta.message = options.message;
  if (options.spa) meta.spa = true;
  const service = await serviceMetaOf(root);
  if (service !== undefined) meta.service = service;

  const client = await connect(ctx);
  const base = cache !== undefined || options.base !== undefined ? await findBase(ctx, client, cache, project, options.base) : undefined;
  const digest = unchanged !== undefined && unchanged === base?.manifestDigest ? unchanged : (await plan()).digest;
  const { upload, delta } = await createUpload(ctx, client, project, meta, base, digest, plan);
  let deployment = upload.finalized;
  let sent = { blobs: 0, bytes: 0 };
  if (deployment === undefined) {
    const files = upload.missing.length > 0 ? (await plan()).files : [];
    const sending = createProgress(ctx.out.stderr, 'uploading', new Set(upload.missing).size, sizeOf(upload.missing, files), showProgress);
    sent = await uploadMissing(client, upload.missing, files, { concurrency: CONCURRENCY, attempts: ATTEMPTS, progress: sending });
    sending.done();
    deployment = await client.finalizeUpload(project, upload.id, delta ? { base: delta.base } : {});
  }
  if (cache) {
    const canonical = planned?.canonical ?? base?.canonical();
    if (canonical !== undefined) await saveQuietly(ctx, () => cache.rememberBase(client.url, project, deployment.id, canonical));
  }

  const deltaCounts = delta ? { base: delta.base, added: delta.added.length, changed: delta.changed.length, removed: delta.removed.length } : null;
  if (options.json) {
    const result: DeployResult = {
      ...deployment,
      upload: { id: upload.id, files: tree.files.length, hashed: planned?.hashed ?? 0, missing: upload.missing, uploadedBytes: sent.bytes, delta: deltaCounts },
    };
    ctx.out.json(result);
  } else {
    const against = deltaCounts ? `; manifest as changes against ${deltaCounts.base} (${describeDelta(deltaCounts)})` : '';
    ctx.out.line(
      `Deployed ${deployment.id} to ${project}: ${plural(deployment.fileCount, 'file')} (${formatBytes(deployment.totalBytes)}), ` +
        `uploaded ${plural(sent.blobs, 'new blob')} (${formatBytes(sent.bytes)})${against}`,
    );
    ctx.out.line(deployment.url);
  }
  return ExitCode.OK;
};

/** Hashes what the cache cannot vouch for, validates the manifest and remembers the digests. */
async function makePlan(ctx: Context, tree: readonly TreeFile[], cache: HashCache | undefined, showProgress: boolean): Promise<Plan> {
  const { known, unknown }: { known: readonly LocalFile[]; unknown: readonly TreeFile[] } = cache ? cache.lookup(tree) : { known: [], unknown: tree };
  if (cache?.ignored !== undefined) ctx.out.warn(`ignoring the hash cache in ${cache.dir}: ${cache.ignored}`);
  const unknownBytes = unknown.reduce((sum, f) => sum + f.size, 0);
  const hashing = createProgress(ctx.out.stderr, 'hashing  ', unknown.length, unknownBytes, showProgress);
  const hashedAt = Date.now();
  const hashed = await hashTree(unknown, CONCURRENCY, hashing);
  hashing.done();
  const files = inTreeOrder(tree, known, hashed);
  const manifest = validateManifest(files);
  const canonical = canonicalManifest(manifest.entries);
  const digest = createHash('sha256').update(canonical).digest('hex');
  if (cache) {
    cache.update(tree, hashed, hashedAt, digest);
    await saveQuietly(ctx, () => cache.save());
  }
  return { files, hashed: hashed.length, entries: manifest.entries, canonical, digest };
}

/** The base to send the manifest against: `--base`, else the last deployment from this directory to this project. */
async function findBase(ctx: Context, client: SlipwayClient, cache: HashCache | undefined, project: string, wanted: string | undefined): Promise<Base | undefined> {
  const remembered = await cache?.base(client.url, project);
  if (wanted === undefined || wanted === remembered?.deployment) return remembered;
  try {
    const found = await client.getDeploymentManifest(project, wanted);
    return { deployment: found.deployment, manifestDigest: found.manifestDigest, entries: () => found.files, canonical: () => undefined };
  } catch (err) {
    if (!(err instanceof ApiError) || !err.code.endsWith('_NOT_FOUND')) throw err;
    ctx.out.warn(`--base ${wanted}: ${err.message} (${err.code}); sending the whole manifest`);
    return undefined;
  }
}

/**
 * Creates the upload, asking the server to finalize it at once if it lacks no blob, with the
 * manifest (`digest`) as a delta against `base` when that is smaller, and with the whole
 * manifest when there is no base, the delta would be larger, or the server cannot apply it
 * (DELTA_FALL_BACK). The same manifest as the base's (a redeploy of an unchanged tree) needs no diff.
 */
async function createUpload(
  ctx: Context,
  client: SlipwayClient,
  project: string,
  meta: DeploymentMeta,
  base: Base | undefined,
  digest: string,
  plan: () => Promise<Plan>,
): Promise<{ upload: Upload; delta: (ManifestDelta & { base: string }) | undefined }> {
  if (base !== undefined) {
    const same = digest === base.manifestDigest;
    const delta = same ? { added: [], changed: [], removed: [] } : diffManifests(base.entries(), (await plan()).entries);
    // Each entry of a delta costs about what it costs in a full manifest.
    if (same || deltaSize(delta) <= (await plan()).entries.length) {
      const body: CreateUploadRequest = { delta: { base: base.deployment, manifestDigest: digest, ...delta }, meta, finalize: true };
      try {
        return { upload: await client.createUpload(project, body), delta: { base: base.deployment, ...delta } };
      } catch (err) {
        if (!(err instanceof ApiError) || !DELTA_FALL_BACK.has(err.code)) throw err;
        ctx.out.warn(`the server did not take the changes against ${base.deployment} (${err.code}); sending the whole manifest`);
      }
    }
  }
  return { upload: await client.createUpload(project, { files: (await plan()).entries, meta, finalize: true }), delta: undefined };
}

/** The cache only saves work: failing to write it never fails a deploy. */
async function saveQuietly(ctx: Context, save: () => Promise<void>): Promise<void> {
  try {
    await save();
  } catch (err) {
    ctx.out.warn(`could not write the hash cache: ${(err as Error).message}`);
  }
}

function inTreeOrder(tree: readonly { path: string }[], known: readonly LocalFile[], hashed: readonly LocalFile[]): LocalFile[] {
  const byPath = new Map<string, LocalFile>();
  for (const file of known) byPath.set(file.path, file);
  for (const file of hashed) byPath.set(file.path, file);
  return tree.map((f) => byPath.get(f.path) as LocalFile);
}

function describeDelta(delta: { added: number; changed: number; removed: number }): string {
  const parts = [`${delta.added} added`, `${delta.changed} changed`, `${delta.removed} removed`];
  return parts.join(', ');
}

function sizeOf(digests: readonly string[], files: readonly { sha256: string; size: number }[]): number {
  if (digests.length === 0) return 0;
  const sizes = new Map(files.map((f) => [f.sha256, f.size]));
  let total = 0;
  for (const digest of new Set(digests)) total += sizes.get(digest) ?? 0;
  return total;
}
