import type { FastifyRequest } from 'fastify';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { BlobBody } from '../../blobs/blobs.ts';

/** Most bodies in one `POST /api/v1/blobs`; clients send small files this way, large ones with PUT. */
export const MAX_BATCH_BLOBS = 1000;
/** Most bytes of all bodies of one batch together. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

function tooLarge(message: string, details: Record<string, unknown>): SlipwayError {
  return new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, message, details);
}

/**
 * The bodies of a multipart/form-data batch, as they stream in: each file part is one blob,
 * its field name the digest. Anything else (a text field, a part past the limits) ends the
 * batch with an error before anything is stored.
 */
export async function* blobBatch(request: FastifyRequest, maxBlobBytes: number): AsyncGenerator<BlobBody> {
  if (!request.isMultipart()) {
    throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'send the blobs as multipart/form-data, one file part per blob named by its sha256');
  }
  // One byte over a limit is enough to know it is exceeded; our own checks then say which.
  const parts = request.parts({
    limits: { files: MAX_BATCH_BLOBS + 1, fileSize: Math.min(maxBlobBytes, MAX_BATCH_BYTES) + 1, parts: MAX_BATCH_BLOBS + 1 },
  });
  let count = 0;
  let total = 0;
  for await (const part of parts) {
    if (part.type !== 'file') {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, `part "${part.fieldname}" is not a file; every part must be a blob named by its sha256`);
    }
    count += 1;
    if (count > MAX_BATCH_BLOBS) throw tooLarge(`a batch holds at most ${MAX_BATCH_BLOBS} blobs`, { limit: MAX_BATCH_BLOBS });
    const file = part.file;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of file as AsyncIterable<Buffer>) {
        total += chunk.byteLength;
        if (total > MAX_BATCH_BYTES) throw tooLarge(`a batch holds at most ${MAX_BATCH_BYTES} bytes`, { limit: MAX_BATCH_BYTES });
        yield chunk;
      }
    }
    yield { digest: part.fieldname, source: counted() };
    if (file.truncated) throw tooLarge(`blob ${part.fieldname} is larger than ${maxBlobBytes} bytes`, { digest: part.fieldname });
  }
}
