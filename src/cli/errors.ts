/**
 * How the command line fails. Every failure a user can cause ends in one clear line on stderr and an exit
 * code: 1 for "it ran and the answer is no", 2 for bad usage or bad input.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Ends a command whose output is already written with a non-zero exit code, adding no message. */
export class ExitCode extends CliError {
  constructor(exitCode: number) {
    super('', exitCode);
    this.name = 'ExitCode';
  }
}
