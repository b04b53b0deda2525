/**
 * The one table of stable error codes. Domain code throws `SlipwayError` with a code and
 * details; only the HTTP layer (server/http/errors.ts) knows which status each code maps to,
 * and only the CLI knows which exit code it becomes. Tests assert on codes, never messages.
 */
export const ErrorCode = {
  // input
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_NAME: 'INVALID_NAME',
  INVALID_DURATION: 'INVALID_DURATION',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  // manifest
  MANIFEST_PATH_TRAVERSAL: 'MANIFEST_PATH_TRAVERSAL',
  MANIFEST_PATH_ABSOLUTE: 'MANIFEST_PATH_ABSOLUTE',
  MANIFEST_PATH_BACKSLASH: 'MANIFEST_PATH_BACKSLASH',
  MANIFEST_PATH_NUL: 'MANIFEST_PATH_NUL',
  MANIFEST_PATH_EMPTY_SEGMENT: 'MANIFEST_PATH_EMPTY_SEGMENT',
  MANIFEST_PATH_TOO_LONG: 'MANIFEST_PATH_TOO_LONG',
  MANIFEST_PATH_INVALID_CHAR: 'MANIFEST_PATH_INVALID_CHAR',
  MANIFEST_DUPLICATE_PATH: 'MANIFEST_DUPLICATE_PATH',
  MANIFEST_PATH_CONFLICT: 'MANIFEST_PATH_CONFLICT',
  MANIFEST_TOO_MANY_FILES: 'MANIFEST_TOO_MANY_FILES',
  MANIFEST_TOO_LARGE: 'MANIFEST_TOO_LARGE',
  MANIFEST_EMPTY: 'MANIFEST_EMPTY',
  MANIFEST_INVALID_DIGEST: 'MANIFEST_INVALID_DIGEST',
  MANIFEST_INVALID_MODE: 'MANIFEST_INVALID_MODE',
  // blobs and uploads
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  BLOBS_MISSING: 'BLOBS_MISSING',
  // auth
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  // lookups
  NOT_FOUND: 'NOT_FOUND',
  PROJECT_NOT_FOUND: 'PROJECT_NOT_FOUND',
  DEPLOYMENT_NOT_FOUND: 'DEPLOYMENT_NOT_FOUND',
  ENVIRONMENT_NOT_FOUND: 'ENVIRONMENT_NOT_FOUND',
  RELEASE_NOT_FOUND: 'RELEASE_NOT_FOUND',
  UPLOAD_NOT_FOUND: 'UPLOAD_NOT_FOUND',
  TOKEN_NOT_FOUND: 'TOKEN_NOT_FOUND',
  DOMAIN_NOT_FOUND: 'DOMAIN_NOT_FOUND',
  // conflicts and policy
  PROJECT_EXISTS: 'PROJECT_EXISTS',
  DOMAIN_EXISTS: 'DOMAIN_EXISTS',
  RELEASE_CONFLICT: 'RELEASE_CONFLICT',
  LOCK_CONFLICT: 'LOCK_CONFLICT',
  UPLOAD_CONFLICT: 'UPLOAD_CONFLICT',
  ENVIRONMENT_LOCKED: 'ENVIRONMENT_LOCKED',
  ENVIRONMENT_PINNED: 'ENVIRONMENT_PINNED',
  ENVIRONMENT_NOT_LOCKED: 'ENVIRONMENT_NOT_LOCKED',
  ALREADY_LIVE: 'ALREADY_LIVE',
  NO_PREVIOUS_RELEASE: 'NO_PREVIOUS_RELEASE',
  ROLLBACK_TARGET_INVALID: 'ROLLBACK_TARGET_INVALID',
  REASON_REQUIRED: 'REASON_REQUIRED',
  // anything else
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'SlipwayError';
    this.code = code;
    this.details = details;
  }
}

export function isSlipwayError(err: unknown, code?: ErrorCode): err is SlipwayError {
  return err instanceof SlipwayError && (code === undefined || err.code === code);
}
