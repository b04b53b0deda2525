/**
 * What can go wrong publishing a directory, whoever publishes it: `slipway deploy` turns these
 * into its exit codes, a build runner into the build's error.
 */
export type PublishErrorCode =
  /** The directory to publish does not exist or is not a directory. */
  | 'NOT_A_DIRECTORY'
  /** A symlink in it resolves outside the directory (or outside the build's checkout). */
  | 'SYMLINK_OUTSIDE_ROOT'
  /** A file changed between being hashed and being uploaded. */
  | 'FILE_CHANGED';

export class PublishError extends Error {
  readonly code: PublishErrorCode;
  constructor(code: PublishErrorCode, message: string) {
    super(message);
    this.name = 'PublishError';
    this.code = code;
  }
}
