import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, SlipwayError } from '../../core/errors.ts';

/** The one place where error codes become HTTP statuses. Unlisted codes are 400. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  WEBHOOK_SIGNATURE_INVALID: 401,
  NOT_FOUND: 404,
  PROJECT_NOT_FOUND: 404,
  DEPLOYMENT_NOT_FOUND: 404,
  ENVIRONMENT_NOT_FOUND: 404,
  RELEASE_NOT_FOUND: 404,
  ROLLOUT_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  DOMAIN_NOT_FOUND: 404,
  BUILD_NOT_FOUND: 404,
  BUILD_NOT_RUNNING: 409,
  BUILD_FINISHED: 409,
  ROLLOUT_NOT_RUNNING: 409,
  PROJECT_EXISTS: 409,
  DOMAIN_EXISTS: 409,
  RELEASE_CONFLICT: 409,
  LOCK_CONFLICT: 409,
  UPLOAD_CONFLICT: 409,
  ALREADY_LIVE: 409,
  NO_PREVIOUS_RELEASE: 409,
  ROLLBACK_TARGET_INVALID: 409,
  BLOBS_MISSING: 409,
  BASE_NOT_FOUND: 404,
  MANIFEST_DELTA_MISMATCH: 409,
  ENVIRONMENT_LOCKED: 423,
  ENVIRONMENT_PINNED: 423,
  ENVIRONMENT_NOT_LOCKED: 409,
  PAYLOAD_TOO_LARGE: 413,
  DIGEST_MISMATCH: 422,
  SANDBOX_UNAVAILABLE: 503,
  SECRET_KEY_MISMATCH: 500,
  SECRET_KEY_INVALID: 500,
  REPO_URL_FORBIDDEN: 400,
  LEASE_LOST: 409,
  DEPLOYMENT_NOT_OF_BUILD: 409,
  DOMAIN_RESERVED: 400,
  STORAGE_FULL: 507,
  BLOB_SIZE_MISMATCH: 422,
  DATA_DIR_IN_USE: 409,
  UNSUPPORTED_MEDIA_TYPE: 415,
  COMMIT_NOT_FOUND: 404,
  CONFIRMATION_MISMATCH: 400,
  BUILD_NOT_RETRYABLE: 409,
  BUILD_ALREADY_RETRIED: 409,
  LINEAGE_VIOLATION: 409,
  CHECK_FAILED: 409,
  WINDOW_CLOSED: 409,
  FROZEN: 409,
  FREEZE_NOT_FOUND: 404,
  FREEZE_INVALID: 400,
  POLICY_INVALID: 400,
  CHECK_STATE_INVALID: 400,
  RELEASE_NOT_WAITING: 409,
  RELEASE_TRANSITION_INVALID: 409,
  JOB_NOT_FOUND: 404,
  JOB_NOT_DEAD: 409,
  USER_NOT_FOUND: 404,
  USER_EXISTS: 409,
  EMAIL_TAKEN: 409,
  MEMBER_NOT_FOUND: 404,
  PASSWORD_WEAK: 400,
  SIGN_IN_FAILED: 401,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  CSRF_FAILED: 403,
  ENROLLMENT_INVALID: 401,
  AGENT_NOT_FOUND: 404,
  AGENT_RETIRED: 401,
  NOT_A_SERVICE: 409,
  BLOB_NOT_FOUND: 404,
  APPROVAL_NOT_ALLOWED: 403,
  ALREADY_APPROVED: 409,
  AUTHOR_NOT_IN_BATCH: 400,
  HOTFIX_EXISTS: 409,
  NOTHING_LIVE: 409,
  NOTIFY_TARGET_NOT_FOUND: 404,
  URL_FORBIDDEN: 400,
  CONFIG_INVALID_KEY: 400,
  CONFIG_TOO_LARGE: 413,
  INTERNAL: 500,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Fastify's own errors (bad JSON, body too large …) mapped onto our codes. */
function fromFastify(err: FastifyError): SlipwayError | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) return new SlipwayError(ErrorCode.PAYLOAD_TOO_LARGE, 'request body is too large');
  if (err.statusCode === 415) return new SlipwayError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, err.message);
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new SlipwayError(ErrorCode.INVALID_REQUEST, err.message);
  }
  return undefined;
}

export function handleError(err: FastifyError | SlipwayError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const known = err instanceof SlipwayError ? err : fromFastify(err as FastifyError);
  if (known) {
    const retryAfter = known.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply.status(statusOf(known.code)).send(errorBody(known.code, known.message, known.details));
    return;
  }
  request.log.error({ err }, 'unexpected error');
  void reply.status(500).send(errorBody(ErrorCode.INTERNAL, 'internal error; see the server log'));
}
