/** A backup operation that could not be done: which file or endpoint, what was being done, and why. */
export class BackupError extends Error {
  constructor(
    /** The snapshot file, directory or endpoint it is about. */
    readonly subject: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${subject}: ${message}`, options);
    this.name = 'BackupError';
  }
}
