import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCode, isSlipwayError, SlipwayError } from '../../core/errors.ts';
import type { ManifestLimits } from '../../core/manifest.ts';
import { CreateUploadRequest } from '../../protocol/api.ts';
import type { DeploymentMetaRow } from '../../store/store.ts';
import { prepareManifest, type PreparedManifest } from '../services/prepared-manifest.ts';
import { parse } from './parse.ts';

/** Bodies up to this size are parsed on the event loop (a few milliseconds); larger ones on a worker thread. */
export const INLINE_UPLOAD_BYTES = 512 * 1024;

export interface PreparedUpload {
  manifest: PreparedManifest;
  meta: DeploymentMetaRow | undefined;
}

/**
 * The JSON body of `POST …/uploads` parsed, schema-checked and validated. Pure and synchronous:
 * for a 100,000-file manifest (15–60 MB) it takes seconds, which is why large bodies run it on
 * a worker thread (`readUploadRequest`).
 */
export function prepareUploadRequest(body: Uint8Array, limits: ManifestLimits): PreparedUpload {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, `body is not JSON: ${(err as Error).message}`);
  }
  const request = parse(CreateUploadRequest, json);
  return { manifest: prepareManifest(request.files, limits), meta: request.meta };
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
  if (running >= MAX_WORKERS) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await onWorker(body, limits);
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

type WorkerAnswer = { ok: true; upload: PreparedUpload } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

function onWorker(body: Buffer, limits: ManifestLimits): Promise<PreparedUpload> {
  // A body that owns its whole buffer moves to the worker; one inside a shared buffer is copied first.
  const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./upload-request-worker.mjs', import.meta.url), {
      workerData: { body: own, limits },
      transferList: [own.buffer as ArrayBuffer],
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
    let settled = false;
    worker.once('message', (answer: WorkerAnswer) => {
      settled = true;
      if (answer.ok) resolve({ manifest: { ...answer.upload.manifest, bytes: answer.upload.manifest.bytes }, meta: answer.upload.meta });
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
