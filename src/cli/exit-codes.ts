import type { ErrorCode } from '../core/errors.ts';

/** Process exit codes of `slipway`. Stable: scripts branch on them (docs/cli.md lists them). */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  BLOCKED: 5,
  AUTH: 6,
  UNREACHABLE: 7,
  /** `logs --follow` watched a build that ended failed or canceled. */
  BUILD_FAILED: 8,
  /** `rollout --watch` watched a rollout that ended failed or rolled back. */
  ROLLOUT_FAILED: 9,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Error codes that only the CLI raises (the server never sends them). `NETWORK_ERROR` and
 * `HTTP_ERROR` come from protocol's client when there is no API error envelope to read.
 */
export const CliErrorCode = {
  USAGE: 'USAGE',
  NOT_LOGGED_IN: 'NOT_LOGGED_IN',
  CONFIG_INVALID: 'CONFIG_INVALID',
  SYMLINK_OUTSIDE_ROOT: 'SYMLINK_OUTSIDE_ROOT',
  FILE_CHANGED: 'FILE_CHANGED',
  IO_ERROR: 'IO_ERROR',
  NETWORK_ERROR: 'NETWORK_ERROR',
  HTTP_ERROR: 'HTTP_ERROR',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/**
 * The one table from error code to exit code. Typed over every `ErrorCode`, so a code added to
 * core/errors.ts fails the typecheck here until someone decides what a script should see.
 */
const EXIT_CODES: Record<ErrorCode | CliErrorCode, ExitCode> = {
  INVALID_REQUEST: ExitCode.USAGE,
  INVALID_NAME: ExitCode.USAGE,
  INVALID_DURATION: ExitCode.USAGE,
  PAYLOAD_TOO_LARGE: ExitCode.USAGE,
  MANIFEST_PATH_TRAVERSAL: ExitCode.USAGE,
  MANIFEST_PATH_ABSOLUTE: ExitCode.USAGE,
  MANIFEST_PATH_BACKSLASH: ExitCode.USAGE,
  MANIFEST_PATH_NUL: ExitCode.USAGE,
  MANIFEST_PATH_EMPTY_SEGMENT: ExitCode.USAGE,
  MANIFEST_PATH_TOO_LONG: ExitCode.USAGE,
  MANIFEST_PATH_INVALID_CHAR: ExitCode.USAGE,
  MANIFEST_DUPLICATE_PATH: ExitCode.USAGE,
  MANIFEST_PATH_CONFLICT: ExitCode.USAGE,
  MANIFEST_TOO_MANY_FILES: ExitCode.USAGE,
  MANIFEST_TOO_LARGE: ExitCode.USAGE,
  MANIFEST_EMPTY: ExitCode.USAGE,
  MANIFEST_INVALID_DIGEST: ExitCode.USAGE,
  MANIFEST_INVALID_MODE: ExitCode.USAGE,
  MANIFEST_DELTA_UNKNOWN_PATH: ExitCode.CONFLICT,
  MANIFEST_DELTA_MISMATCH: ExitCode.CONFLICT,
  BASE_NOT_FOUND: ExitCode.NOT_FOUND,
  DIGEST_MISMATCH: ExitCode.USAGE,
  REASON_REQUIRED: ExitCode.USAGE,

  NOT_FOUND: ExitCode.NOT_FOUND,
  PROJECT_NOT_FOUND: ExitCode.NOT_FOUND,
  DEPLOYMENT_NOT_FOUND: ExitCode.NOT_FOUND,
  ENVIRONMENT_NOT_FOUND: ExitCode.NOT_FOUND,
  RELEASE_NOT_FOUND: ExitCode.NOT_FOUND,
  ROLLOUT_NOT_FOUND: ExitCode.NOT_FOUND,
  UPLOAD_NOT_FOUND: ExitCode.NOT_FOUND,
  TOKEN_NOT_FOUND: ExitCode.NOT_FOUND,
  DOMAIN_NOT_FOUND: ExitCode.NOT_FOUND,
  BUILD_NOT_FOUND: ExitCode.NOT_FOUND,
  BUILD_NOT_RUNNING: ExitCode.CONFLICT,
  BUILD_FINISHED: ExitCode.CONFLICT,
  ROLLOUT_NOT_RUNNING: ExitCode.CONFLICT,

  RELEASE_CONFLICT: ExitCode.CONFLICT,
  LOCK_CONFLICT: ExitCode.CONFLICT,
  UPLOAD_CONFLICT: ExitCode.CONFLICT,
  PROJECT_EXISTS: ExitCode.CONFLICT,
  DOMAIN_EXISTS: ExitCode.CONFLICT,
  ALREADY_LIVE: ExitCode.CONFLICT,
  NO_PREVIOUS_RELEASE: ExitCode.CONFLICT,
  ROLLBACK_TARGET_INVALID: ExitCode.CONFLICT,
  BLOBS_MISSING: ExitCode.CONFLICT,

  ENVIRONMENT_LOCKED: ExitCode.BLOCKED,
  ENVIRONMENT_PINNED: ExitCode.BLOCKED,
  ENVIRONMENT_NOT_LOCKED: ExitCode.BLOCKED,

  UNAUTHENTICATED: ExitCode.AUTH,
  FORBIDDEN: ExitCode.AUTH,
  WEBHOOK_SIGNATURE_INVALID: ExitCode.AUTH,

  REPO_URL_FORBIDDEN: ExitCode.USAGE,
  DOMAIN_RESERVED: ExitCode.USAGE,
  BLOB_SIZE_MISMATCH: ExitCode.USAGE,
  UNSUPPORTED_MEDIA_TYPE: ExitCode.USAGE,
  CONFIRMATION_MISMATCH: ExitCode.USAGE,
  COMMIT_NOT_FOUND: ExitCode.NOT_FOUND,
  LEASE_LOST: ExitCode.CONFLICT,
  DEPLOYMENT_NOT_OF_BUILD: ExitCode.CONFLICT,
  BUILD_NOT_RETRYABLE: ExitCode.CONFLICT,
  BUILD_ALREADY_RETRIED: ExitCode.CONFLICT,
  LINEAGE_VIOLATION: ExitCode.BLOCKED,
  CHECK_FAILED: ExitCode.BLOCKED,
  WINDOW_CLOSED: ExitCode.BLOCKED,
  FROZEN: ExitCode.BLOCKED,
  FREEZE_NOT_FOUND: ExitCode.NOT_FOUND,
  FREEZE_INVALID: ExitCode.USAGE,
  POLICY_INVALID: ExitCode.USAGE,
  CHECK_STATE_INVALID: ExitCode.USAGE,
  RELEASE_NOT_WAITING: ExitCode.CONFLICT,
  RELEASE_TRANSITION_INVALID: ExitCode.CONFLICT,
  JOB_NOT_FOUND: ExitCode.NOT_FOUND,
  JOB_NOT_DEAD: ExitCode.CONFLICT,
  USER_NOT_FOUND: ExitCode.NOT_FOUND,
  USER_EXISTS: ExitCode.CONFLICT,
  EMAIL_TAKEN: ExitCode.CONFLICT,
  MEMBER_NOT_FOUND: ExitCode.NOT_FOUND,
  PASSWORD_WEAK: ExitCode.USAGE,
  SIGN_IN_FAILED: ExitCode.AUTH,
  RATE_LIMITED: ExitCode.BLOCKED,
  TOO_MANY_STREAMS: ExitCode.BLOCKED,
  CSRF_FAILED: ExitCode.AUTH,
  APPROVAL_NOT_ALLOWED: ExitCode.AUTH,
  ALREADY_APPROVED: ExitCode.CONFLICT,
  AUTHOR_NOT_IN_BATCH: ExitCode.USAGE,
  HOTFIX_EXISTS: ExitCode.CONFLICT,
  NOTHING_LIVE: ExitCode.CONFLICT,
  NOTIFY_TARGET_NOT_FOUND: ExitCode.NOT_FOUND,
  URL_FORBIDDEN: ExitCode.USAGE,
  CONFIG_INVALID_KEY: ExitCode.USAGE,
  CONFIG_TOO_LARGE: ExitCode.USAGE,
  ENROLLMENT_INVALID: ExitCode.AUTH,
  AGENT_NOT_FOUND: ExitCode.NOT_FOUND,
  AGENT_RETIRED: ExitCode.AUTH,
  NOT_A_SERVICE: ExitCode.CONFLICT,
  BLOB_NOT_FOUND: ExitCode.NOT_FOUND,
  DATA_DIR_IN_USE: ExitCode.CONFLICT,
  SANDBOX_UNAVAILABLE: ExitCode.INTERNAL,
  SECRET_KEY_MISMATCH: ExitCode.INTERNAL,
  SECRET_KEY_INVALID: ExitCode.INTERNAL,
  STORAGE_FULL: ExitCode.INTERNAL,

  INTERNAL: ExitCode.INTERNAL,

  USAGE: ExitCode.USAGE,
  NOT_LOGGED_IN: ExitCode.AUTH,
  CONFIG_INVALID: ExitCode.USAGE,
  SYMLINK_OUTSIDE_ROOT: ExitCode.USAGE,
  FILE_CHANGED: ExitCode.USAGE,
  IO_ERROR: ExitCode.INTERNAL,
  NETWORK_ERROR: ExitCode.UNREACHABLE,
  HTTP_ERROR: ExitCode.INTERNAL,
};

/**
 * Exit code for an error code. A code this CLI does not know (a newer server) falls back to
 * its family by name, then to the HTTP status it came with.
 */
export function exitCodeFor(code: string, httpStatus?: number): ExitCode {
  const known = (EXIT_CODES as Record<string, ExitCode | undefined>)[code];
  if (known !== undefined) return known;
  if (code.endsWith('_NOT_FOUND')) return ExitCode.NOT_FOUND;
  if (code.startsWith('INVALID_') || code.startsWith('MANIFEST_')) return ExitCode.USAGE;
  switch (httpStatus) {
    case 400:
    case 413:
    case 422:
      return ExitCode.USAGE;
    case 401:
    case 403:
      return ExitCode.AUTH;
    case 404:
      return ExitCode.NOT_FOUND;
    case 409:
      return ExitCode.CONFLICT;
    case 423:
      return ExitCode.BLOCKED;
    default:
      return ExitCode.INTERNAL;
  }
}
