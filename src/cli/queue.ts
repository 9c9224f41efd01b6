// switchboard queue [dead|retry|discard]: the gateways' delivery queue (queue/port.ts), its
// depth per destination and the dead letters the operator retries or discards.
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { withAdmin } from './hub-access.js';
import { table } from './table.js';

export async function queueStatus(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const { kind, destinations } = await withAdmin(config, (call) => call('queue.status', {}));
  console.log(`delivery queue: ${kind}`);
  if (destinations.length === 0) {
    console.log('no destinations');
    return 0;
  }
  const rows = destinations.map((d) => [
    d.destination, String(d.waiting), String(d.delayed), String(d.active), String(d.dead), age(d.oldestAgeMs), String(d.failures),
  ]);
  console.log(table([['DESTINATION', 'WAITING', 'DELAYED', 'ACTIVE', 'DEAD', 'OLDEST', 'FAILURES'], ...rows]));
  return 0;
}

export async function queueDead(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const destination = input.args[0];
  const { jobs } = await withAdmin(config, (call) => call('queue.dead', destination === undefined ? {} : { destination }));
  if (jobs.length === 0) {
    console.log('no dead letters');
    return 0;
  }
  const rows = jobs.map((job) => [
    job.destination, job.id, String(job.attempts), new Date(job.failedAt).toISOString().replace(/\.\d+Z$/, 'Z'), job.error.replace(/\s+/g, ' '),
  ]);
  console.log(table([['DESTINATION', 'ID', 'ATTEMPTS', 'FAILED AT', 'ERROR'], ...rows]));
  return 0;
}

export async function queueRetry(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const { destination, id } = await withAdmin(config, (call) => call('queue.retry', { destination: input.args[0]!, id: input.args[1]! }));
  console.log(`${id} of ${destination} is queued again`);
  return 0;
}

export async function queueDiscard(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const { destination, id } = await withAdmin(config, (call) => call('queue.discard', { destination: input.args[0]!, id: input.args[1]! }));
  console.log(`discarded ${id} of ${destination}`);
  return 0;
}

/** A job's age, in its largest whole unit; "-" for none. */
function age(ms: number): string {
  if (ms <= 0) return '-';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
