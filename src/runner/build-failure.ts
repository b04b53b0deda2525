/**
 * Why a build failed, in words for the person reading its log: the message becomes the build's
 * error as it is. Anything else a build throws is unexpected and reported with its type.
 */
export class BuildFailure extends Error {
  /** Its lines were written to the build log already. */
  readonly logged: boolean;
  constructor(message: string, options: { logged?: boolean } = {}) {
    super(message);
    this.name = 'BuildFailure';
    this.logged = options.logged ?? false;
  }
}
