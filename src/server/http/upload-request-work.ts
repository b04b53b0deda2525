import { parentPort, workerData } from 'node:worker_threads';
import { isSlipwayError } from '../../core/errors.ts';
import type { ManifestLimits } from '../../core/manifest.ts';
import { prepareUploadRequest } from './upload-request.ts';

/** Runs on the worker thread: one body in, one answer out (see upload-request.ts). */
const { body, limits } = workerData as { body: Uint8Array; limits: ManifestLimits };
try {
  const upload = prepareUploadRequest(body, limits);
  const bytes = upload.manifest.bytes;
  parentPort?.postMessage({ ok: true, upload }, bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : []);
} catch (err) {
  if (isSlipwayError(err)) parentPort?.postMessage({ ok: false, error: { code: err.code, message: err.message, details: err.details } });
  else parentPort?.postMessage({ ok: false, error: { code: 'INTERNAL', message: `validating the manifest failed: ${(err as Error).message}` } });
}
