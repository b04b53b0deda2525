import type { BlobBody, StoredBlob } from '../../blobs/blobs.ts';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import { parseCanonicalManifest, type ManifestEntry } from '../../core/manifest.ts';
import type { Actor } from '../../core/release-planner.ts';
import type { BuildRow, DeploymentMetaRow, DeploymentRow, UploadRow } from '../../store/store.ts';
import { requireRole } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import { recordEvent } from './events.ts';
import { newId } from './ids.ts';
import { digestsOf, prepareManifest, type PreparedManifest } from './prepared-manifest.ts';
import { requireLease } from './leases.ts';
import { getProject } from './projects.ts';

/**
 * Who may upload: a deployer, or a runner for the build whose current lease it names (the
 * build it returns). Nobody else.
 */
async function uploader(deps: ServiceDeps, actor: Actor, lease: string | undefined): Promise<BuildRow | undefined> {
  if (actor.role === 'runner') return requireLease(deps, actor, lease);
  requireRole(actor, 'deployer');
  return undefined;
}

function notOfBuild(build: BuildRow, message: string, details: Record<string, unknown>): SlipwayError {
  return new SlipwayError(ErrorCode.FORBIDDEN, `${message}: the lease is for build ${build.id}`, { build: build.id, ...details });
}

/**
 * The digest upload protocol: the client sends a manifest, learns which blobs the server
 * lacks, PUTs only those, then finalizes. A deployment row exists only once every blob is
 * stored, so an interrupted upload never yields a visible deployment.
 *
 * `meta.build` says which build made the deployment, and a build completes only with its own
 * deployment, so only the runner holding the build's lease may set it (to that build).
 */
export async function createUpload(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  input:
    | { files: ManifestEntry[]; meta?: DeploymentMetaRow | undefined }
    | { manifest: PreparedManifest; meta?: DeploymentMetaRow | undefined }
    | {
        base: string;
        rebuild: (baseManifest: Uint8Array) => Promise<PreparedManifest>;
        /** The entries the delta adds or changes: only these can be missing or of a wrong size. */
        fresh: readonly ManifestEntry[];
        meta?: DeploymentMetaRow | undefined;
      },
  lease?: string,
  options: { finalize?: boolean | undefined } = {},
): Promise<{ upload: UploadRow; missing: string[]; deployment?: DeploymentRow | undefined }> {
  const build = await uploader(deps, actor, lease);
  const project = await getProject(deps, projectName);
  let meta: DeploymentMetaRow = input.meta ?? {};
  if (build !== undefined) {
    if (build.projectId !== project.id) throw notOfBuild(build, `a runner uploads only to its build's project, not ${projectName}`, { project: projectName });
    if (meta.build !== undefined && meta.build !== build.id) throw notOfBuild(build, `meta.build ${meta.build} is another build`, {});
    meta = { ...meta, build: build.id };
  } else if (meta.build !== undefined) {
    throw new SlipwayError(ErrorCode.FORBIDDEN, 'meta.build is set only by the runner holding the build\'s lease', { build: meta.build });
  }
  const manifest =
    'manifest' in input
      ? input.manifest
      : 'base' in input
        ? await input.rebuild(await baseManifest(deps, project.id, projectName, input.base))
        : prepareManifest(input.files, deps.limits.manifest);
  const upload: UploadRow = {
    id: newId('upl'),
    projectId: project.id,
    manifestDigest: manifest.digest,
    fileCount: manifest.fileCount,
    totalBytes: manifest.totalBytes,
    meta,
    createdAt: deps.clock.now().toISOString(),
    createdBy: actor.name,
    deploymentId: null,
  };
  // The row first, then the manifest, then the question which blobs are missing: a project
  // deletion collecting blobs meanwhile either sees this upload's row and keeps what it uses,
  // or moved the blobs away before this asks, which then reports them missing (see
  // collectProjectBlobs).
  await deps.store.insertUpload(upload);
  // Its digest was computed here (or on our worker): stored without hashing megabytes again on this thread.
  if (!(await deps.blobs.has(manifest.digest))) await deps.blobs.put(manifest.digest, chunksOf(manifest.bytes));
  // A delta's other entries are its base's, a finalized deployment of this project whose
  // blobs are all stored: asking only about the fresh ones spares a lookup per file (5,000 for
  // an unchanged 5,000-file redeploy). See `vouchedBy` for why they stay stored.
  const missing = await deps.blobs.missing('fresh' in input ? input.fresh.map((e) => e.sha256) : digestsOf(manifest));
  if (!options.finalize || missing.length > 0) return { upload, missing };
  // Finalized here, with finalize's checks: of a delta, its fresh entries (the rest are the
  // base's, checked when it was finalized); of a full manifest, every entry.
  await checkBlobs(deps, 'fresh' in input ? input.fresh : parseCanonicalManifest(Buffer.from(manifest.bytes).toString('utf8')), undefined);
  return { upload, missing, deployment: await createDeployment(deps, actor, projectName, project.id, upload) };
}

/**
 * The canonical manifest of the deployment a delta upload names as its base. Only a deployment
 * of the same project will do (the uploader may deploy there, so may read it); any other id is
 * BASE_NOT_FOUND, whether it exists elsewhere or not, and the client sends the full manifest.
 */
async function baseManifest(deps: ServiceDeps, projectId: string, projectName: string, base: string): Promise<Uint8Array> {
  const deployment = await deps.store.findDeployment(base);
  if (!deployment || deployment.projectId !== projectId) {
    throw new SlipwayError(ErrorCode.BASE_NOT_FOUND, `no deployment ${base} in ${projectName} to apply a delta to; send the full manifest`, { base });
  }
  return deps.blobs.read(deployment.manifestDigest);
}

/** A large body in 1 MiB pieces, so that hashing and writing it take turns with other requests. */
function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += 1024 * 1024) yield bytes.subarray(at, at + 1024 * 1024);
}

export async function putBlob(
  deps: ServiceDeps,
  actor: Actor,
  digest: string,
  body: AsyncIterable<Uint8Array>,
  lease?: string,
): Promise<{ created: boolean; size: number }> {
  await uploader(deps, actor, lease);
  return deps.blobs.put(digest, body, { maxBytes: deps.limits.maxBlobBytes });
}

/** Many small bodies at once (one multipart request); all are stored or none. */
export async function putBlobs(deps: ServiceDeps, actor: Actor, bodies: AsyncIterable<BlobBody>, lease?: string): Promise<StoredBlob[]> {
  await uploader(deps, actor, lease);
  return deps.blobs.putMany(bodies, { maxBytes: deps.limits.maxBlobBytes });
}

/** How long an upload may wait for its blobs and its finalize before it is forgotten. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Forgets uploads never finalized within UPLOAD_TTL_MS (an interrupted deploy): finalizing one
 * afterwards is UPLOAD_NOT_FOUND and the deploy starts over, sending only blobs still missing.
 * The blobs it sent stay, shared by digest.
 */
export async function expireUploads(deps: ServiceDeps): Promise<number> {
  return deps.store.deleteStaleUploads(new Date(deps.clock.now().getTime() - UPLOAD_TTL_MS).toISOString());
}

export async function finalizeUpload(
  deps: ServiceDeps,
  actor: Actor,
  projectName: string,
  uploadId: string,
  lease?: string,
  options: { base?: string | undefined } = {},
): Promise<DeploymentRow> {
  const build = await uploader(deps, actor, lease);
  const project = await getProject(deps, projectName);
  const upload = await deps.store.findUpload(uploadId);
  if (!upload || upload.projectId !== project.id) {
    throw new SlipwayError(ErrorCode.UPLOAD_NOT_FOUND, `no upload ${uploadId} in ${projectName}`, { upload: uploadId });
  }
  if (build !== undefined && upload.meta.build !== build.id) throw notOfBuild(build, `upload ${uploadId} is not this build's`, { upload: uploadId });
  if (upload.deploymentId !== null) return getDeployment(deps, projectName, upload.deploymentId);
  const [entries, vouched] = await Promise.all([
    deps.blobs.read(upload.manifestDigest).then((bytes) => parseCanonicalManifest(bytes.toString('utf8'))),
    options.base === undefined ? undefined : vouchedBy(deps, project.id, options.base),
  ]);
  await checkBlobs(deps, entries, vouched);
  return createDeployment(deps, actor, projectName, project.id, upload);
}

/**
 * The blob sizes a finalized deployment of the project vouches for (undefined: `base` is not
 * one). Its finalize found each of its files' blobs stored with the declared size; blobs never
 * change, and none of them is deleted while the project lives: a project deletion collects only
 * blobs that no live project's deployment or upload references (collectProjectBlobs), and this
 * deployment is one. So a file with the same digest and size needs no second look.
 */
async function vouchedBy(deps: ServiceDeps, projectId: string, base: string): Promise<Map<string, number> | undefined> {
  const deployment = await deps.store.findDeployment(base);
  if (!deployment || deployment.projectId !== projectId) return undefined;
  const sizes = new Map<string, number>();
  for (const entry of await getManifest(deps, deployment)) sizes.set(entry.sha256, entry.size);
  return sizes;
}

/**
 * Every file's blob is stored (else BLOBS_MISSING) with the size the file declares (else
 * BLOB_SIZE_MISMATCH): the edge sends a file's declared size as its Content-Length. Files whose
 * digest and size `vouched` lists are taken as checked.
 */
async function checkBlobs(deps: ServiceDeps, entries: readonly ManifestEntry[], vouched: ReadonlyMap<string, number> | undefined): Promise<void> {
  const unvouched = vouched === undefined ? entries : entries.filter((e) => vouched.get(e.sha256) !== e.size);
  const sizes = await blobSizes(deps, unvouched);
  const missing = [...sizes].filter(([, size]) => size === undefined).map(([digest]) => digest);
  if (missing.length > 0) {
    throw new SlipwayError(ErrorCode.BLOBS_MISSING, `${missing.length} file bodies are not uploaded yet`, {
      count: missing.length,
      missing: missing.slice(0, 100),
    });
  }
  const mismatched = unvouched.filter((e) => sizes.get(e.sha256) !== e.size);
  if (mismatched.length > 0) {
    const first = mismatched[0] as ManifestEntry;
    throw new SlipwayError(
      ErrorCode.BLOB_SIZE_MISMATCH,
      `${mismatched.length} files declare a size their blob does not have ("${first.path}" declares ${first.size} bytes, its blob has ${sizes.get(first.sha256)})`,
      {
        count: mismatched.length,
        files: mismatched.slice(0, 100).map((e) => ({ path: e.path, sha256: e.sha256, declared: e.size, actual: sizes.get(e.sha256) })),
      },
    );
  }
}

/** The deployment an upload whose blobs were checked becomes (once: a second finalize answers with the first's). */
async function createDeployment(deps: ServiceDeps, actor: Actor, projectName: string, projectId: string, upload: UploadRow): Promise<DeploymentRow> {
  const now = deps.clock.now();
  const deployment: DeploymentRow = {
    id: newId('dpl'),
    projectId,
    manifestDigest: upload.manifestDigest,
    fileCount: upload.fileCount,
    totalBytes: upload.totalBytes,
    meta: upload.meta,
    createdAt: now.toISOString(),
    createdBy: actor.name,
  };
  try {
    await deps.store.transaction(async (tx) => {
      await tx.insertDeployment(deployment, upload.id);
      await recordEvent(tx, now, actor, 'deployment.create', {
        projectId,
        target: deployment.id,
        after: { id: deployment.id, files: deployment.fileCount, bytes: deployment.totalBytes, ...deployment.meta },
      });
    });
  } catch (err) {
    // Two finalize calls raced: the other one made the deployment; answer with it.
    if (err instanceof SlipwayError && err.code === ErrorCode.UPLOAD_CONFLICT) {
      const done = await deps.store.findUpload(upload.id);
      if (done?.deploymentId) return getDeployment(deps, projectName, done.deploymentId);
    }
    throw err;
  }
  return deployment;
}

/** The stored size of each distinct blob of a manifest (undefined: not stored), asked a few at a time. */
async function blobSizes(deps: ServiceDeps, entries: readonly ManifestEntry[]): Promise<Map<string, number | undefined>> {
  const digests = [...new Set(entries.map((e) => e.sha256))];
  const sizes = new Map<string, number | undefined>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(64, digests.length) }, async () => {
      while (next < digests.length) {
        const digest = digests[next++] as string;
        sizes.set(digest, await deps.blobs.size(digest));
      }
    }),
  );
  return sizes;
}

export async function getDeployment(deps: ServiceDeps, projectName: string, id: string): Promise<DeploymentRow> {
  const project = await getProject(deps, projectName);
  const deployment = await deps.store.findDeployment(id);
  if (!deployment || deployment.projectId !== project.id) {
    throw new SlipwayError(ErrorCode.DEPLOYMENT_NOT_FOUND, `no deployment ${id} in ${projectName}`, { deployment: id });
  }
  return deployment;
}

/** Words a deployment search takes, and how long each may be: a search stays a few indexed-scan comparisons per row. */
const MAX_SEARCH_WORDS = 6;
const MAX_SEARCH_WORD = 100;

/**
 * A page of a project's deployments, newest first: `before` the last deployment of the page
 * above; `q` words that must each appear in its branch, commit, author, message or id (case
 * does not matter; `%` and `_` are plain characters).
 */
export async function listDeployments(deps: ServiceDeps, projectName: string, page: { limit: number; before?: string | undefined; q?: string | undefined }): Promise<DeploymentRow[]> {
  const project = await getProject(deps, projectName);
  const after = page.before === undefined ? undefined : await getDeployment(deps, projectName, page.before);
  const search = searchWords(page.q ?? '');
  return deps.store.listDeployments(project.id, { limit: page.limit, after: after && { createdAt: after.createdAt, id: after.id }, search });
}

/** `q` as the words a search looks for: split on white space (control characters count as such), the first few, each cut short. */
export function searchWords(q: string): string[] {
  // eslint-disable-next-line no-control-regex -- a NUL or escape in a search is a space, not a character PostgreSQL refuses
  return [...new Set(q.split(/[\s\u0000-\u001f\u007f]+/).filter((w) => w !== ''))].slice(0, MAX_SEARCH_WORDS).map((w) => w.slice(0, MAX_SEARCH_WORD));
}

/** Deployments of its project a build's base is looked for among, newest first. */
const BASE_LOOKBACK = 100;

/**
 * Runner (the build's lease): the latest deployment of the build's project made from the
 * build's branch, among the last BASE_LOOKBACK, with its manifest — what the build's upload is
 * sent against as a delta. Undefined for a branch's first build, and for a build of no branch.
 */
export async function buildBase(deps: ServiceDeps, actor: Actor, buildId: string, lease: string | undefined): Promise<{ deployment: DeploymentRow; files: ManifestEntry[] } | undefined> {
  const build = await requireLease(deps, actor, lease, buildId);
  if (build.branch === null) return undefined;
  const recent = await deps.store.listDeployments(build.projectId, { limit: BASE_LOOKBACK });
  const deployment = recent.find((d) => d.meta.branch === build.branch);
  return deployment && { deployment, files: await getManifest(deps, deployment) };
}

export async function getManifest(deps: ServiceDeps, deployment: DeploymentRow): Promise<ManifestEntry[]> {
  return parseCanonicalManifest((await deps.blobs.read(deployment.manifestDigest)).toString('utf8'));
}
