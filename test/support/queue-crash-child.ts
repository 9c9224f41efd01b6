// The process the queue crash test (test/queue-contract.test.ts) SIGKILLs: opens the embedded
// queue, adds `count` jobs, appends the id of each job it finishes to a file, prints ADDED once
// every add is stored, and stays alive until killed.
// Arguments: <queue file> <record file> <count>
import { appendFileSync } from 'node:fs';
import { createLogger } from '../../src/core/log.js';
import { EmbeddedQueue } from '../../src/queue/embedded.js';

const [path, record, count] = process.argv.slice(2);
const queue = new EmbeddedQueue({ path: path!, log: createLogger({ level: 'silent', format: 'json' }) });
queue.process('crash.example', async (job) => {
  await new Promise((resolve) => setTimeout(resolve, 10));
  appendFileSync(record!, `${job.id}\n`);
}, { concurrency: 4, ratePerSecond: 0, attempts: 3, backoff: { initialMs: 10, maxMs: 10 } });
await Promise.all(Array.from({ length: Number(count) }, (_, i) => queue.add('crash.example', `job-${i}`, { i })));
process.stdout.write('ADDED\n');
setInterval(() => {}, 1000);
