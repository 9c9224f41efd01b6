// The switchboard command (bin/switchboard.js): runs one command and exits with its status:
// 0 success, 1 failure, 2 bad command line.
import { ConfigError } from '../config/load.js';
import { parseCommandLine, type Invocation } from './args.js';
import { CliError, UsageError } from './errors.js';
import { shortUsage } from './help.js';

async function main(argv: string[]): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (err) {
    return fail(err);
  }
  if ('help' in invocation) {
    console.log(invocation.help);
    return 0;
  }
  try {
    return await invocation.command.run(invocation.input);
  } catch (err) {
    return fail(err, shortUsage(invocation.command));
  }
}

/** One clear message for the errors an operator can act on; anything else is a bug. */
function fail(err: unknown, help?: string): number {
  if (err instanceof UsageError) {
    console.error(`switchboard: ${err.message}\n`);
    console.error(err.usage ?? help);
    return 2;
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    return 1;
  }
  // System errors (a port in use, a directory not writable) name their cause.
  if (err instanceof CliError || (err instanceof Error && 'syscall' in err)) {
    console.error(`switchboard: ${err.message}`);
    return 1;
  }
  throw err;
}

// Output piped into a command that stopped reading (`| head`): stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
process.exit(await main(process.argv.slice(2)));
