import { parentPort, workerData } from 'node:worker_threads';
import { isSlipwayError } from '../../core/errors.ts';
import type { PreparedManifest } from '../services/prepared-manifest.ts';
import { prepareDeltaManifest, prepareUploadRequest, type UploadWork } from './upload-request.ts';

/** Runs on the worker thread: one body (or one delta and its base) in, one answer out (see upload-request.ts). */
const work = workerData as UploadWork;
try {
  const result = work.task === 'body' ? prepareUploadRequest(work.body, work.limits) : prepareDeltaManifest(work.delta, work.body, work.limits);
  const manifest: PreparedManifest | undefined = 'digest' in result ? result : 'manifest' in result ? result.manifest : undefined;
  const bytes = manifest?.bytes;
  const transfer = bytes !== undefined && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : [];
  parentPort?.postMessage({ ok: true, result }, transfer);
} catch (err) {
  if (isSlipwayError(err)) parentPort?.postMessage({ ok: false, error: { code: err.code, message: err.message, details: err.details } });
  else parentPort?.postMessage({ ok: false, error: { code: 'INTERNAL', message: `validating the manifest failed: ${(err as Error).message}` } });
}
