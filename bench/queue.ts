// Load generator for the delivery queue (src/queue): per adapter, adds --jobs jobs to one
// destination (--in-flight adds outstanding, or paced at --rate per second) while a handler that
// does nothing works them, and measures adds/s, jobs/s end to end (first add to the last job
// recorded done), the latency from add() to the handler's start, CPU per job and RSS.
//
//   taskset -c 0 node dist/bench/queue.js [--adapters embedded,redis] [--jobs 20000] [--concurrency 50]
//       [--in-flight 500] [--rate 0] [--redis redis://127.0.0.1:6379] [--dir /tmp]
//
// One RESULT line per adapter on stdout (scenario "queue"), a summary on stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { createLogger } from '../src/core/log.js';
import { EmbeddedQueue } from '../src/queue/embedded.js';
import type { DeliveryQueue } from '../src/queue/port.js';
import { RedisQueue } from '../src/queue/redis.js';
import { Args, log, pool, printResult, round, Samples, sleep } from './common.js';

const args = new Args(process.argv.slice(2));
const jobs = args.num('jobs', 20_000);
const concurrency = args.num('concurrency', 50);
const inFlight = args.num('in-flight', 500);
const rate = args.num('rate', 0);
const redisUrl = args.str('redis', 'redis://127.0.0.1:6379');
const dir = args.str('dir', tmpdir());
const adapters = args.str('adapters', 'embedded,redis').split(',');
const DESTINATION = 'bench.example';
const queueLog = createLogger({ level: 'warn', format: 'json' }, process.stderr);

interface Subject {
  queue: DeliveryQueue;
  /** CPU µs the queue's server used so far (Redis), if any. */
  serverCpuUs(): Promise<number | undefined>;
  dispose(): Promise<void>;
}

function openEmbedded(): Subject {
  const tmp = mkdtempSync(join(dir, 'switchboard-queue-bench-'));
  return {
    queue: new EmbeddedQueue({ path: join(tmp, 'queue.sqlite'), log: queueLog }),
    serverCpuUs: async () => undefined,
    dispose: async () => rmSync(tmp, { recursive: true, force: true }),
  };
}

function openRedis(): Subject {
  const prefix = `switchboard-bench-${process.pid}`;
  // A bullmq connection of the bench's own, for redis-server's CPU time and the clean-up.
  const admin = new Queue('bench-admin', { connection: { url: redisUrl }, prefix, skipMetasUpdate: true });
  const client = () => admin.backend.client;
  return {
    queue: new RedisQueue({ url: redisUrl, log: queueLog, prefix }),
    async serverCpuUs() {
      const info = await (await client()).info();
      const seconds = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(info)?.[1]);
      const total = seconds('used_cpu_user') + seconds('used_cpu_sys');
      return Number.isFinite(total) ? total * 1e6 : undefined;
    },
    async dispose() {
      const c = await client();
      let cursor = '0';
      for (let pass = 0; pass < 100_000; pass++) {
        const [next, keys] = await c.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 1000 });
        if (keys.length > 0) await c.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
      await admin.close();
    },
  };
}

/** Adds every job: `inFlight` outstanding at a time, or open-loop at `rate` per second. */
async function addAll(queue: DeliveryQueue, addedAt: Float64Array): Promise<void> {
  const add = async (i: number) => {
    addedAt[i] = performance.now();
    if (!(await queue.add(DESTINATION, `job-${i}`, i))) throw new Error(`job-${i} was not added`);
  };
  if (rate <= 0) {
    const { failed, firstError } = await pool(jobs, inFlight, add);
    if (failed > 0) throw new Error(`${failed} adds failed: ${firstError}`);
    return;
  }
  const pending: Array<Promise<void>> = [];
  const start = performance.now();
  let i = 0;
  while (i < jobs) {
    const due = Math.min(jobs, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    while (i < due) pending.push(add(i++));
    await sleep(1);
  }
  await Promise.all(pending);
}

async function run(name: string, subject: Subject): Promise<void> {
  const { queue } = subject;
  const addedAt = new Float64Array(jobs);
  const latency = new Samples();
  let started = 0;
  let allStarted!: () => void;
  const everyJobStarted = new Promise<void>((resolve) => { allStarted = resolve; });
  queue.process<number>(DESTINATION, async (job) => {
    latency.push(performance.now() - addedAt[job.payload]!);
    if (++started === jobs) allStarted();
  }, { concurrency, ratePerSecond: 0, attempts: 1, backoff: { initialMs: 0, maxMs: 0 } });

  let rssPeak = process.memoryUsage().rss;
  const rssBefore = rssPeak;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 50);
  const serverCpuBefore = await subject.serverCpuUs();
  const cpuBefore = process.cpuUsage();
  const t0 = performance.now();
  await addAll(queue, addedAt);
  const addsDone = performance.now();
  await everyJobStarted;
  // Done = recorded as done by the queue, not just handled.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = (await queue.counts()).find((x) => x.destination === DESTINATION);
    if (c && c.completed === jobs && c.waiting + c.active + c.delayed === 0) break;
    if (Date.now() > deadline) throw new Error(`${name}: jobs not done after 120 s: ${JSON.stringify(c)}`);
    await sleep(5);
  }
  const drained = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpuAfter = await subject.serverCpuUs();
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

  const lat = latency.summary();
  const result = {
    scenario: 'queue',
    adapter: name,
    jobs,
    concurrency,
    inFlight: rate > 0 ? undefined : inFlight,
    rate: rate > 0 ? rate : undefined,
    addsPerSec: Math.round(jobs / ((addsDone - t0) / 1000)),
    jobsPerSec: Math.round(jobs / ((drained - t0) / 1000)),
    latencyP50Ms: lat.p50,
    latencyP99Ms: lat.p99,
    latencyMaxMs: lat.max,
    cpuUsPerJob: round((cpu.user + cpu.system) / jobs, 1),
    serverCpuUsPerJob: serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined
      : round((serverCpuAfter - serverCpuBefore) / jobs, 1),
    rssBeforeMiB: round(rssBefore / 2 ** 20, 1),
    rssPeakMiB: round(rssPeak / 2 ** 20, 1),
  };
  printResult('switchboard', result);
  log(`${name}: ${result.addsPerSec} adds/s, ${result.jobsPerSec} jobs/s end to end, add→start p50 ${lat.p50} / p99 ${lat.p99} ms, ` +
    `${result.cpuUsPerJob} µs CPU/job${result.serverCpuUsPerJob === undefined ? '' : ` (+ redis-server ${result.serverCpuUsPerJob})`}, ` +
    `RSS ${result.rssBeforeMiB} → peak ${result.rssPeakMiB} MiB`);
}

for (const name of adapters) {
  const subject = name === 'embedded' ? openEmbedded() : name === 'redis' ? openRedis() : undefined;
  if (!subject) throw new Error(`unknown adapter ${name}: embedded or redis`);
  try {
    await run(name, subject);
  } finally {
    await subject.queue.close();
    await subject.dispose();
  }
}
