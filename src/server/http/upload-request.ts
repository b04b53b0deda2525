import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import { applyManifestDelta } from '../../core/manifest-delta.ts';
import { parseCanonicalManifest, type ManifestLimits } from '../../core/manifest.ts';
import { CreateUploadRequest, type ManifestDeltaRequest } from '../../protocol/api.ts';
import type { DeploymentMetaRow } from '../../store/store.ts';
import { prepareManifest, type PreparedManifest } from '../services/prepared-manifest.ts';
import { parse } from './parse.ts';

/** Bodies up to this size are parsed on the event loop (a few milliseconds); larger ones on a worker thread. */
export const INLINE_UPLOAD_BYTES = 512 * 1024;

/**
 * An upload request read: a full manifest already validated, or a delta still to be applied to
 * its base (which the service looks up: `prepareDeltaUpload`).
 */
export type PreparedUpload = (
  | { manifest: PreparedManifest; meta: DeploymentMetaRow | undefined }
  | { delta: ManifestDeltaRequest; meta: DeploymentMetaRow | undefined }
) & { finalize?: boolean | undefined };

/**
 * The JSON body of `POST …/uploads` parsed, schema-checked and, for a full manifest, validated.
 * Pure and synchronous: for a 100,000-file manifest (15–60 MB) it takes seconds, which is why
 * large bodies run it on a worker thread (`readUploadRequest`).
 */
export function prepareUploadRequest(body: Uint8Array, limits: ManifestLimits): PreparedUpload {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `body is not JSON: ${(err as Error).message}`);
  }
  const request = parse(CreateUploadRequest, json);
  if (request.delta !== undefined) return { delta: request.delta, meta: request.meta, finalize: request.finalize };
  return { manifest: prepareManifest(request.files ?? [], limits), meta: request.meta, finalize: request.finalize };
}

/**
 * The manifest a delta makes of its base (the base deployment's canonical manifest), checked
 * exactly like a full manifest, and only if it is the one the client meant: a delta that makes
 * any other tree is MANIFEST_DELTA_MISMATCH. Pure and synchronous, like prepareUploadRequest.
 */
export function prepareDeltaManifest(delta: ManifestDeltaRequest, base: Uint8Array, limits: ManifestLimits): PreparedManifest {
  const entries = parseCanonicalManifest(Buffer.from(base.buffer, base.byteOffset, base.byteLength).toString('utf8'));
  const manifest = prepareManifest(applyManifestDelta(entries, delta), limits);
  if (manifest.digest !== delta.manifestDigest) {
    throw new SlipwayError(
      ErrorCode.MANIFEST_DELTA_MISMATCH,
      `the delta against ${delta.base} makes manifest ${manifest.digest}, not ${delta.manifestDigest}; send the full manifest`,
      { base: delta.base, expected: delta.manifestDigest, actual: manifest.digest },
    );
  }
  return manifest;
}

/** Workers running at once; further large uploads wait for one to finish (each may hold ~10× its body in memory). */
const MAX_WORKERS = Math.max(1, Math.min(2, availableParallelism() - 1));
let running = 0;
const waiting: (() => void)[] = [];

/**
 * `prepareUploadRequest` without blocking the event loop for a large body: the body is
 * transferred to a worker thread, which sends back the prepared manifest (one byte array and
 * one string, cheap to receive). Errors keep their code (MANIFEST_*, INVALID_REQUEST).
 */
export async function readUploadRequest(body: Buffer, limits: ManifestLimits): Promise<PreparedUpload> {
  if (body.byteLength <= INLINE_UPLOAD_BYTES) return prepareUploadRequest(body, limits);
  return withWorkerSlot(() => onWorker<PreparedUpload>({ task: 'body', body: owned(body), limits }));
}

/**
 * Base manifests up to this size are rebuilt on the event loop. A canonical entry is about half
 * the size of a request's (no keys), so this is about as many files, and as many milliseconds,
 * as a full body of INLINE_UPLOAD_BYTES: ~8,000 files. Past it, starting a worker costs more
 * than the work (100–300 ms on a busy 2-core machine).
 */
export const INLINE_BASE_BYTES = 2 * INLINE_UPLOAD_BYTES;

/** `prepareDeltaManifest`, on a worker thread when the base manifest is large (a 50,000-file base is ~6 MB). */
export async function prepareDeltaUpload(delta: ManifestDeltaRequest, base: Uint8Array, limits: ManifestLimits): Promise<PreparedManifest> {
  if (base.byteLength <= INLINE_BASE_BYTES) return prepareDeltaManifest(delta, base, limits);
  return withWorkerSlot(() => onWorker<PreparedManifest>({ task: 'delta', delta, body: owned(base), limits }));
}

async function withWorkerSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_WORKERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/** A buffer that owns its whole ArrayBuffer (moved to the worker); one inside a shared buffer is copied first. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
}

/** What the worker (upload-request-work.ts) is asked to do. */
export type UploadWork =
  | { task: 'body'; body: Uint8Array; limits: ManifestLimits }
  | { task: 'delta'; delta: ManifestDeltaRequest; body: Uint8Array; limits: ManifestLimits };

type WorkerAnswer<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

function onWorker<T>(work: UploadWork): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./upload-request-worker.mjs', import.meta.url), {
      workerData: work,
      transferList: [work.body.buffer as ArrayBuffer],
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
    let settled = false;
    worker.once('message', (answer: WorkerAnswer<T>) => {
      settled = true;
      if (answer.ok) resolve(answer.result);
      else reject(new SlipwayError(answer.error.code as ErrorCode, answer.error.message, answer.error.details));
      void worker.terminate();
    });
    worker.once('error', (err) => {
      if (settled) return;
      settled = true;
      reject(isSlipwayError(err) ? err : new SlipwayError(ErrorCode.INTERNAL, `validating the manifest failed: ${err.message}`));
    });
    worker.once('exit', (code) => {
      if (settled) return;
      settled = true;
      reject(new SlipwayError(ErrorCode.INTERNAL, `the manifest validator stopped (exit code ${code})`));
    });
  });
}
