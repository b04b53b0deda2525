/** Progress of hashing or uploading a tree, file by file (the CLI draws it as a bar). */
export interface Progress {
  /** Adds one finished file of `bytes`. */
  advance(bytes: number): void;
  done(): void;
}

export const silentProgress: Progress = { advance: () => undefined, done: () => undefined };
