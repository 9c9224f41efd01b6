// Errors the CLI reports as one line, without a stack trace.

/** A problem to show the operator as is (bad JID, unknown user, hub not running...): exit 1. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
}

/** The command line itself is wrong: exit 2, with the usage of what was attempted. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';

  /** `usage` defaults to the usage of the command being run. */
  constructor(message: string, readonly usage?: string) {
    super(message);
  }
}
