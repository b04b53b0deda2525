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
import { hashTree, readTree, uploadMissing, type LocalFile } from '../../publish/upload.ts';

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

/**
 * Answers to a delta upload that mean "send the whole manifest instead", which is always
 * right: the base is gone or in another project, the server's idea of it differs from ours,
 * or the server predates deltas (INVALID_REQUEST: it wants `files`).
 */
const FALL_BACK = new Set(['BASE_NOT_FOUND', 'MANIFEST_DELTA_MISMATCH', 'MANIFEST_DELTA_UNKNOWN_PATH', 'MANIFEST_DUPLICATE_PATH', 'INVALID_REQUEST']);

/**
 * Plan, then apply: read the tree, hash what the hash cache cannot vouch for, validate the
 * manifest (nothing leaves the machine if that fails), then create the upload — its manifest
 * as a delta against the last deployment from this directory when there is one — send only
 * the blobs the server lacks, and finalize. Human output ends with the deployment URL alone
 * on the last line.
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
  if (cache?.ignored !== undefined) ctx.out.warn(`ignoring the hash cache in ${cache.dir}: ${cache.ignored}`);
  const { known, unknown } = cache ? cache.lookup(tree.files) : { known: [], unknown: tree.files };
  const unknownBytes = unknown.reduce((sum, f) => sum + f.size, 0);
  const hashing = createProgress(ctx.out.stderr, 'hashing  ', unknown.length, unknownBytes, showProgress);
  const hashedAt = Date.now();
  const hashed = await hashTree(unknown, CONCURRENCY, hashing);
  hashing.done();
  const files = inTreeOrder(tree.files, known, hashed);
  const manifest = validateManifest(files);
  if (cache) {
    cache.update(tree.files, hashed, hashedAt);
    await saveQuietly(ctx, () => cache.save());
  }

  const meta: DeploymentMeta = { source: 'cli', ...(await gitMeta) };
  if (options.message !== undefined) meta.message = options.message;
  if (options.spa) meta.spa = true;
  const service = await serviceMetaOf(root);
  if (service !== undefined) meta.service = service;

  const client = await connect(ctx);
  const canonical = canonicalManifest(manifest.entries);
  const base = cache !== undefined || options.base !== undefined ? await findBase(ctx, client, cache, project, options.base) : undefined;
  const { upload, delta } = await createUpload(ctx, client, project, manifest.entries, canonical, meta, base);
  const missingBytes = sizeOf(upload.missing, files);
  const sending = createProgress(ctx.out.stderr, 'uploading', new Set(upload.missing).size, missingBytes, showProgress);
  const sent = await uploadMissing(client, upload.missing, files, { concurrency: CONCURRENCY, attempts: ATTEMPTS, progress: sending });
  sending.done();
  const deployment = await client.finalizeUpload(project, upload.id);
  if (cache) await saveQuietly(ctx, () => cache.rememberBase(client.url, project, deployment.id, canonical));

  const deltaCounts = delta ? { base: delta.base, added: delta.added.length, changed: delta.changed.length, removed: delta.removed.length } : null;
  if (options.json) {
    const result: DeployResult = {
      ...deployment,
      upload: { id: upload.id, files: files.length, hashed: hashed.length, missing: upload.missing, uploadedBytes: sent.bytes, delta: deltaCounts },
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

/** The base to send the manifest against: `--base`, else the last deployment from this directory to this project. */
async function findBase(ctx: Context, client: SlipwayClient, cache: HashCache | undefined, project: string, wanted: string | undefined): Promise<Base | undefined> {
  const remembered = await cache?.base(client.url, project);
  if (wanted === undefined || wanted === remembered?.deployment) return remembered;
  try {
    const found = await client.getDeploymentManifest(project, wanted);
    return { deployment: found.deployment, manifestDigest: found.manifestDigest, entries: () => found.files };
  } catch (err) {
    if (!(err instanceof ApiError) || !err.code.endsWith('_NOT_FOUND')) throw err;
    ctx.out.warn(`--base ${wanted}: ${err.message} (${err.code}); sending the whole manifest`);
    return undefined;
  }
}

/**
 * Creates the upload with the manifest as a delta against `base` when that is smaller, and
 * with the whole manifest when there is no base, the delta would be larger, or the
 * server cannot apply it (FALL_BACK).
 */
async function createUpload(
  ctx: Context,
  client: SlipwayClient,
  project: string,
  entries: ManifestEntry[],
  canonical: string,
  meta: DeploymentMeta,
  base: Base | undefined,
): Promise<{ upload: Upload; delta: (ManifestDelta & { base: string }) | undefined }> {
  if (base !== undefined) {
    const manifestDigest = createHash('sha256').update(canonical).digest('hex');
    // The same manifest as the base (a redeploy of an unchanged tree) needs no diff.
    const delta = manifestDigest === base.manifestDigest ? { added: [], changed: [], removed: [] } : diffManifests(base.entries(), entries);
    // Each entry of a delta costs about what it costs in a full manifest.
    if (deltaSize(delta) <= entries.length) {
      const body: CreateUploadRequest = { delta: { base: base.deployment, manifestDigest, ...delta }, meta };
      try {
        return { upload: await client.createUpload(project, body), delta: { base: base.deployment, ...delta } };
      } catch (err) {
        if (!(err instanceof ApiError) || !FALL_BACK.has(err.code)) throw err;
        ctx.out.warn(`the server did not take the changes against ${base.deployment} (${err.code}); sending the whole manifest`);
      }
    }
  }
  return { upload: await client.createUpload(project, { files: entries, meta }), delta: undefined };
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
