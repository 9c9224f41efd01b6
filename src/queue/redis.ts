// The Redis delivery queue, on bullmq: one bullmq Queue (and, where processed, one Worker) per
// destination, so jobs survive a restart of the hub and can be worked by several hubs sharing the
// Redis. Dead letters are bullmq's failed jobs (kept); done job ids are kept for the retention time
// (`removeOnComplete: { age }`), so adding one again is a no-op.
//
// bullmq 6 does not bring a Redis client: it loads the `ioredis` package, which must be installed.
//
// The policy is only known to process(), so the worker decides a job's fate: bullmq's own attempt
// limit is set out of reach, a job dead under the policy is failed with UnrecoverableError, and the
// backoff strategy gives the policy's delay for the others.
//
// While Redis is unreachable bullmq waits for it: connection errors are logged (once a minute per
// destination while they repeat), operations fail after OPERATION_TIMEOUT_MS, close() gives up
// waiting after CLOSE_TIMEOUT_MS. An add() that timed out may still be stored once Redis is back;
// adding the job again then answers false.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Queue, UnrecoverableError, Worker, type Job as BullJob, type RedisOptions } from 'bullmq';
import type { Logger } from '../core/log.js';
import { checkPolicy, judgeFailure, retryDelay } from './policy.js';
import type { AddOptions, DeadJob, DeliveryQueue, DestinationPolicy, JobHandler, QueueCounts } from './port.js';

export interface RedisQueueOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  log: Logger;
  /** Prefix of every key (default 'switchboard'). */
  prefix?: string;
  /** How long the ids of done jobs are kept, so adding one again is a no-op (default 24 h). */
  retentionMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const OPERATION_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 10_000;
const ERROR_LOG_INTERVAL_MS = 60_000;
/** bullmq retries while attemptsMade < attempts: the policy decides instead (see above). */
const UNLIMITED_ATTEMPTS = Number.MAX_SAFE_INTEGER;
const BACKOFF_TYPE = 'policy';
/** Delayed jobs looked at for `oldestAgeMs` (those due soonest). */
const OLDEST_DELAYED_SCAN = 100;
/** Reads the registry, never holds jobs; no encoded destination starts with '#'. */
const CONTROL_QUEUE = '#control';

interface Destination {
  queue: Queue;
  worker?: Worker;
  registered: boolean;
  completed: number;
  failures: number;
}

export class RedisQueue implements DeliveryQueue {
  readonly kind = 'redis';
  private readonly log: Logger;
  private readonly url: string;
  private readonly prefix: string;
  private readonly retentionMs: number;
  /** A hash of every destination that ever held a job, for counts() and deadLetters(). */
  private readonly registryKey: string;
  private readonly destinations = new Map<string, Destination>();
  private control?: Queue;
  private readonly lastErrors = new Map<string, { message: string; at: number }>();
  private closed?: Promise<void>;

  constructor(options: RedisQueueOptions) {
    try {
      createRequire(import.meta.url).resolve('ioredis');
    } catch {
      throw new Error('the redis delivery queue needs the ioredis package (bullmq 6 does not bring it): npm install ioredis');
    }
    this.log = options.log;
    this.url = options.url;
    this.prefix = options.prefix ?? 'switchboard';
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.registryKey = `${this.prefix}:destinations`;
  }

  add<P>(destination: string, id: string, payload: P, options: AddOptions = {}): Promise<boolean> {
    return this.bounded('add', async () => {
      const d = this.destination(destination);
      const jobId = jobKey(id);
      const client = await d.queue.backend.client;
      if (!d.registered) {
        await client.hset(this.registryKey, { [destination]: Date.now() });
        d.registered = true;
      }
      // bullmq answers a duplicate jobId as it answers a new job; the name, unique to this call,
      // tells which of the two it was.
      const nonce = randomUUID();
      await d.queue.add(nonce, payload ?? null, {
        jobId,
        delay: Math.max(0, options.delayMs ?? 0),
        attempts: UNLIMITED_ATTEMPTS,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: Math.ceil(this.retentionMs / 1000) },
        removeOnFail: false,
      });
      const storedName = await client.hget(d.queue.toKey(jobId), 'name');
      return storedName === null || storedName === nonce; // null: already done and removed
    });
  }

  /** Between the state check and the removal the job may start: it is then not removed (locked). */
  cancel(destination: string, id: string): Promise<boolean> {
    return this.bounded('cancel', async () => {
      const { queue } = this.destination(destination);
      const state = await queue.getJobState(jobKey(id));
      if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
      return (await queue.remove(jobKey(id))) === 1;
    });
  }

  process<P>(destination: string, handler: JobHandler<P>, policy: DestinationPolicy): void {
    const d = this.destination(destination);
    if (d.worker) throw new Error(`delivery queue: ${destination} is already being processed`);
    checkPolicy(destination, policy);
    const rate = policy.ratePerSecond;
    const max = Math.max(1, Math.floor(rate));
    d.worker = new Worker(queueName(destination), (job: BullJob) => this.work(destination, d, handler, policy, job), {
      // A worker's blocking connection must wait through a Redis outage, not fail its commands.
      connection: { ...this.connection(), maxRetriesPerRequest: null },
      prefix: this.prefix,
      concurrency: policy.concurrency,
      ...(rate > 0 ? { limiter: { max, duration: (1000 * max) / rate } } : {}),
      settings: { backoffStrategy: (attemptsMade: number) => retryDelay(policy, attemptsMade) },
    });
    d.worker.on('error', (err) => this.redisError(destination, err));
  }

  counts(): Promise<QueueCounts[]> {
    return this.bounded('counts', async () => {
      const all = await Promise.all([...(await this.knownDestinations())].map((name) => this.countsOf(name)));
      return all.filter((c) => c.waiting + c.delayed + c.active + c.dead > 0 || this.destinations.get(c.destination)?.worker)
        .sort((a, b) => a.destination.localeCompare(b.destination));
    });
  }

  deadLetters(destination?: string): Promise<DeadJob[]> {
    return this.bounded('deadLetters', async () => {
      const names = destination === undefined ? [...(await this.knownDestinations())] : [destination];
      const lists = await Promise.all(names.map(async (name) => {
        const failed = await this.destination(name).queue.getFailed(0, -1);
        return failed.map((job): DeadJob => ({
          destination: name, id: jobIdOf(job), payload: job.data as unknown, attempts: job.attemptsMade,
          error: job.failedReason ?? '', createdAt: job.timestamp, failedAt: job.finishedOn ?? job.timestamp,
        }));
      }));
      return lists.flat().sort((a, b) => a.failedAt - b.failedAt || a.createdAt - b.createdAt);
    });
  }

  retry(destination: string, id: string): Promise<boolean> {
    return this.bounded('retry', async () => {
      const job = await this.destination(destination).queue.getJob(jobKey(id));
      if (!job || (await job.getState()) !== 'failed') return false;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    });
  }

  discard(destination: string, id: string): Promise<boolean> {
    return this.bounded('discard', async () => {
      const { queue } = this.destination(destination);
      if ((await queue.getJobState(jobKey(id))) !== 'failed') return false;
      return (await queue.remove(jobKey(id))) === 1;
    });
  }

  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.destinations].map(async ([destination, { worker }]) => {
      if (!worker || (await settlesWithin(worker.close(), CLOSE_TIMEOUT_MS))) return;
      this.log.warn({ destination }, 'delivery queue: jobs still running or Redis unreachable after 10 s; '
        + 'disconnecting (running jobs run again once their lock expires)');
      // A close stuck waiting for Redis never reaches the disconnect: force it.
      if (!(await settlesWithin(worker.backend.close(true), 1000))) void worker.disconnect().catch(() => undefined);
    }));
    const queues = [...this.destinations.values()].map((d) => d.queue);
    if (this.control) queues.push(this.control);
    await Promise.all(queues.map(async (queue) => {
      if (!(await settlesWithin(queue.close(), 1000))) void queue.disconnect().catch(() => undefined);
    }));
  }

  private async bounded<T>(operation: string, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const running = work();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`delivery queue: Redis did not answer ${operation} within ${OPERATION_TIMEOUT_MS / 1000} s`)),
        OPERATION_TIMEOUT_MS);
    });
    running.catch(() => undefined); // failing after the timeout is not an unhandled rejection
    try {
      return await Promise.race([running, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private destination(destination: string): Destination {
    let d = this.destinations.get(destination);
    if (!d) {
      if (this.closed) throw new Error('delivery queue is closed');
      const queue = new Queue(queueName(destination), { connection: this.connection(), prefix: this.prefix });
      queue.on('error', (err) => this.redisError(destination, err));
      d = { queue, registered: false, completed: 0, failures: 0 };
      this.destinations.set(destination, d);
    }
    return d;
  }

  private connection(): RedisOptions {
    return { url: this.url };
  }

  /** Logs a connection's error, once a minute per destination while it repeats. */
  private redisError(destination: string | undefined, err: Error): void {
    const key = destination ?? CONTROL_QUEUE;
    const now = Date.now();
    const last = this.lastErrors.get(key);
    if (last && last.message === err.message && now - last.at < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrors.set(key, { message: err.message, at: now });
    this.log.error({ err, destination }, 'delivery queue: Redis error');
  }

  /** Destinations used by this process, and those that ever held a job (the registry). */
  private async knownDestinations(): Promise<Set<string>> {
    if (!this.control) {
      this.control = new Queue(CONTROL_QUEUE, { connection: this.connection(), prefix: this.prefix, skipMetasUpdate: true });
      this.control.on('error', (err) => this.redisError(undefined, err));
    }
    const registry = await (await this.control.backend.client).hgetall(this.registryKey);
    return new Set([...this.destinations.keys(), ...Object.keys(registry)]);
  }

  private async countsOf(destination: string): Promise<QueueCounts> {
    const d = this.destination(destination);
    const [c, ...pending] = await Promise.all([
      d.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed'),
      d.queue.getJobs(['wait', 'active'], 0, 0, true),
      d.queue.getJobs(['delayed'], 0, OLDEST_DELAYED_SCAN - 1, true),
    ]);
    const oldest = Math.min(...pending.flat().map((job) => job.timestamp));
    return {
      destination,
      waiting: (c.wait ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      dead: c.failed ?? 0,
      oldestAgeMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : 0,
      failures: d.failures,
      completed: d.completed,
    };
  }

  private async work<P>(destination: string, d: Destination, handler: JobHandler<P>, policy: DestinationPolicy, job: BullJob): Promise<void> {
    const attempt = job.attemptsMade + 1;
    try {
      await handler({ destination, id: jobIdOf(job), payload: job.data as P, attempt, createdAt: job.timestamp });
    } catch (err) {
      d.failures++;
      const { error, delayMs } = judgeFailure(this.log, policy, destination, jobIdOf(job), attempt, err);
      if (delayMs === null) throw new UnrecoverableError(error);
      throw err instanceof Error ? err : new Error(error);
    }
    d.completed++;
  }
}

/** True when `promise` settles (either way) within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
  ]);
  clearTimeout(timer);
  return settled;
}

// bullmq refuses ':' in queue names, and job ids that contain ':' or look like integers.
function queueName(destination: string): string {
  return encodeURIComponent(destination);
}

function jobKey(id: string): string {
  return `j${encodeURIComponent(id)}`;
}

function jobIdOf(job: BullJob): string {
  return decodeURIComponent((job.id ?? '').slice(1));
}
