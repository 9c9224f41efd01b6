// The delivery queue contract: every adapter of src/queue/port.ts must pass this suite. The Redis
// adapter runs against the Redis at REDIS_URL (default redis://127.0.0.1:6379), each test under
// its own key prefix, deleted afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { createLogger, type Logger } from '../src/core/log.js';
import { EmbeddedQueue } from '../src/queue/embedded.js';
import { createQueue } from '../src/queue/index.js';
import { PermanentFailure, type DeliveryQueue, type DestinationPolicy, type Job } from '../src/queue/port.js';
import { RedisQueue } from '../src/queue/redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface LogLine {
  level: number;
  msg: string;
  destination?: string;
  id?: string;
  attempts?: number;
  error?: string;
  delayMs?: number;
}

interface Opened {
  queue: DeliveryQueue;
  /** The same storage opened again (after closing `queue`). */
  reopen(): DeliveryQueue;
  dispose(): Promise<void>;
}

interface Adapter {
  name: string;
  /** Why the adapter cannot run here, if it cannot. */
  unavailable?: string;
  open(log: Logger, retentionMs?: number): Opened;
}

let prefixes = 0;

const adapters: Adapter[] = [
  {
    name: 'embedded (SQLite)',
    open(log, retentionMs) {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-queue-'));
      const path = join(dir, 'queue.sqlite');
      return {
        queue: new EmbeddedQueue({ path, log, retentionMs }),
        reopen: () => new EmbeddedQueue({ path, log, retentionMs }),
        dispose: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'redis (bullmq)',
    unavailable: canResolve('ioredis') ? undefined : 'the ioredis package is not installed (bullmq 6 needs it)',
    open(log, retentionMs) {
      const prefix = `switchboard-test-${process.pid}-${Date.now()}-${++prefixes}`;
      return {
        queue: new RedisQueue({ url: REDIS_URL, log, prefix, retentionMs }),
        reopen: () => new RedisQueue({ url: REDIS_URL, log, prefix, retentionMs }),
        dispose: () => deleteKeys(prefix),
      };
    },
  },
];

const policy = (p: Partial<DestinationPolicy> = {}): DestinationPolicy => ({
  concurrency: 1, ratePerSecond: 0, attempts: 1, backoff: { initialMs: 10, maxMs: 100 }, ...p,
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds, for at most `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

for (const adapter of adapters) {
  describe(`delivery queue contract: ${adapter.name}`, function () {
    let lines: LogLine[];
    let opened: Opened;
    let queue: DeliveryQueue;

    /** Opens the adapter (again) with other options; the previous queue is closed and disposed. */
    async function reset(retentionMs?: number): Promise<void> {
      await queue.close();
      await opened.dispose();
      opened = adapter.open(logger(), retentionMs);
      queue = opened.queue;
    }

    function logger(): Logger {
      return createLogger({ level: 'warn', format: 'json' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
    }

    before(() => {
      // Never skipped: a missing Redis client or server fails the suite.
      if (adapter.unavailable) throw new Error(adapter.unavailable);
    });
    beforeEach(() => {
      lines = [];
      opened = adapter.open(logger());
      queue = opened.queue;
    });
    afterEach(async () => {
      await queue.close();
      await opened.dispose();
    });

    it('runs jobs with their payload, id, attempt and creation time', async () => {
      const before = Date.now();
      assert.equal(await queue.add('mail.example', 'm1', { to: 'alice@mail.example', n: 1 }), true);
      const seen: Job[] = [];
      queue.process<{ to: string }>('mail.example', async (job) => { seen.push(job); }, policy());
      await waitFor('the job', () => seen.length === 1);
      const [job] = seen;
      assert.deepEqual({ ...job!, createdAt: 0 }, {
        destination: 'mail.example', id: 'm1', payload: { to: 'alice@mail.example', n: 1 }, attempt: 1, createdAt: 0,
      });
      assert.ok(job!.createdAt >= before && job!.createdAt <= Date.now());
      await waitFor('completion', async () => (await countsOf(queue, 'mail.example')).completed === 1);
    });

    it('adds a job id once: a second add is a no-op, before and after the job ran', async () => {
      assert.equal(await queue.add('mail.example', 'same', { v: 1 }), true);
      assert.equal(await queue.add('mail.example', 'same', { v: 2 }), false);
      const runs: unknown[] = [];
      queue.process('mail.example', async (job) => { runs.push(job.payload); }, policy());
      await waitFor('completion', async () => (await countsOf(queue, 'mail.example')).completed === 1);
      assert.equal(await queue.add('mail.example', 'same', { v: 3 }), false);
      // The same id for another destination is another job; ids with ':' or digits only are fine.
      assert.equal(await queue.add('sms:gw', 'same', {}), true);
      assert.equal(await queue.add('sms:gw', '42', {}), true);
      await sleep(100);
      assert.deepEqual(runs, [{ v: 1 }]);
    });

    it('runs a delayed job when it is due, not before', async () => {
      const added = Date.now();
      await queue.add('mail.example', 'later', {}, { delayMs: 300 });
      let startedAt = 0;
      queue.process('mail.example', async () => { startedAt = Date.now(); }, policy());
      const counts = await countsOf(queue, 'mail.example');
      assert.equal(counts.delayed, 1);
      assert.equal(counts.waiting, 0);
      await waitFor('the delayed job', () => startedAt > 0);
      assert.ok(startedAt - added >= 290, `started after ${startedAt - added} ms`);
      assert.ok(startedAt - added < 2000, `started after ${startedAt - added} ms`);
    });

    it('cancels only jobs that have not started', async () => {
      await queue.add('mail.example', 'delayed', {}, { delayMs: 60_000 });
      await queue.add('idle.example', 'waiting', {});
      assert.equal(await queue.cancel('mail.example', 'delayed'), true);
      assert.equal(await queue.cancel('mail.example', 'delayed'), false);
      assert.equal(await queue.cancel('idle.example', 'waiting'), true);
      assert.equal(await queue.cancel('idle.example', 'nothing'), false);

      let release!: () => void;
      const started: string[] = [];
      queue.process('mail.example', async (job) => {
        started.push(job.id);
        await new Promise<void>((resolve) => { release = resolve; });
      }, policy());
      await queue.add('mail.example', 'running', {});
      await waitFor('the job to start', () => started.length === 1);
      assert.equal(await queue.cancel('mail.example', 'running'), false);
      release();
      // A cancelled id may be added again.
      assert.equal(await queue.add('mail.example', 'delayed', {}), true);
      await waitFor('the re-added job', () => started.includes('delayed'));
      release();
      assert.deepEqual(started, ['running', 'delayed']);
    });

    it('retries with capped exponential backoff, logging each failure, then succeeds', async () => {
      const starts: number[] = [];
      const failedAt: number[] = [];
      queue.process('mail.example', async (job) => {
        starts.push(Date.now());
        if (job.attempt < 5) {
          failedAt.push(Date.now());
          throw new Error(`relay busy ${job.attempt}`);
        }
      }, policy({ attempts: 5, backoff: { initialMs: 30, maxMs: 60 } }));
      await queue.add('mail.example', 'flaky', {});
      await waitFor('the fifth attempt', () => starts.length === 5);
      // Delays: 30, 60, 60 (capped, 120 uncapped), 60 (capped, 240 uncapped).
      const gaps = starts.slice(1).map((t, i) => t - failedAt[i]!);
      [30, 60, 60, 60].forEach((delay, i) => assert.ok(gaps[i]! >= delay - 5, `retry ${i + 1} after ${gaps[i]} ms`));
      assert.ok(gaps[3]! < 200, `the last retry waited ${gaps[3]} ms: the cap was not applied`);
      await waitFor('completion', async () => (await countsOf(queue, 'mail.example')).completed === 1);
      const counts = await countsOf(queue, 'mail.example');
      assert.equal(counts.failures, 4);
      assert.equal(counts.dead, 0);
      const warnings = lines.filter((l) => l.level === 40);
      assert.deepEqual(warnings.map((l) => [l.destination, l.id, l.attempts, l.error, l.delayMs]), [
        ['mail.example', 'flaky', 1, 'relay busy 1', 30],
        ['mail.example', 'flaky', 2, 'relay busy 2', 60],
        ['mail.example', 'flaky', 3, 'relay busy 3', 60],
        ['mail.example', 'flaky', 4, 'relay busy 4', 60],
      ]);
    });

    it('dead-letters a job after its attempts; retry() runs it again, discard() deletes it', async () => {
      let fail = true;
      const attempts: Array<[string, number]> = [];
      queue.process('mail.example', async (job) => {
        attempts.push([job.id, job.attempt]);
        if (fail) throw new Error('relay said no');
      }, policy({ attempts: 2, backoff: { initialMs: 10, maxMs: 10 } }));
      const before = Date.now();
      await queue.add('mail.example', 'doomed', { to: 'bob' });
      await queue.add('mail.example', 'doomed2', {});
      await waitFor('two dead letters', async () => (await queue.deadLetters()).length === 2);

      const [dead] = await queue.deadLetters('mail.example');
      assert.equal(dead!.destination, 'mail.example');
      assert.equal(dead!.id, 'doomed');
      assert.deepEqual(dead!.payload, { to: 'bob' });
      assert.equal(dead!.attempts, 2);
      assert.equal(dead!.error, 'relay said no');
      assert.ok(dead!.createdAt >= before && dead!.failedAt >= dead!.createdAt);
      assert.deepEqual(await queue.deadLetters('other.example'), []);
      const counts = await countsOf(queue, 'mail.example');
      assert.equal(counts.dead, 2);
      assert.equal(counts.failures, 4);
      const errors = lines.filter((l) => l.level === 50);
      assert.deepEqual(errors.map((l) => [l.destination, l.id, l.attempts, l.error]), [
        ['mail.example', 'doomed', 2, 'relay said no'],
        ['mail.example', 'doomed2', 2, 'relay said no'],
      ]);
      // Still there: adding it again is a no-op.
      assert.equal(await queue.add('mail.example', 'doomed', {}), false);

      fail = false;
      assert.equal(await queue.retry('mail.example', 'doomed'), true);
      await waitFor('the retried job', async () => (await countsOf(queue, 'mail.example')).completed === 1);
      assert.deepEqual(attempts.filter(([id]) => id === 'doomed').map(([, n]) => n), [1, 2, 1]);
      assert.equal(await queue.retry('mail.example', 'doomed'), false);

      assert.equal(await queue.discard('mail.example', 'doomed2'), true);
      assert.equal(await queue.discard('mail.example', 'doomed2'), false);
      assert.equal(await queue.retry('mail.example', 'doomed2'), false);
      assert.deepEqual(await queue.deadLetters(), []);
      assert.equal((await countsOf(queue, 'mail.example')).dead, 0);
    });

    it('dead-letters at once on PermanentFailure, and survives handlers throwing anything', async () => {
      const attempts: string[] = [];
      queue.process('mail.example', async (job) => {
        attempts.push(job.id);
        if (job.id === 'permanent') throw new PermanentFailure('550 no such user');
        if (job.id === 'string') throw 'a string';
        if (job.id === 'undefined') throw undefined;
        throw Object.create(null) as unknown; // String() of it throws
      }, policy({ attempts: 3, backoff: { initialMs: 10, maxMs: 10 } }));
      for (const id of ['permanent', 'string', 'undefined', 'object']) await queue.add('mail.example', id, {});
      await waitFor('four dead letters', async () => (await queue.deadLetters()).length === 4, 10_000);
      const dead = new Map((await queue.deadLetters()).map((d) => [d.id, d]));
      assert.equal(dead.get('permanent')!.attempts, 1);
      assert.equal(dead.get('permanent')!.error, '550 no such user');
      assert.equal(dead.get('string')!.error, 'a string');
      assert.equal(dead.get('undefined')!.error, 'undefined');
      assert.equal(dead.get('object')!.error, 'unknown error');
      assert.equal(attempts.filter((id) => id === 'permanent').length, 1);
      assert.equal(attempts.filter((id) => id === 'string').length, 3);
    });

    it('keeps at most `concurrency` jobs in flight', async () => {
      let inFlight = 0;
      let most = 0;
      let done = 0;
      queue.process('mail.example', async () => {
        most = Math.max(most, ++inFlight);
        await sleep(30);
        inFlight--;
        done++;
      }, policy({ concurrency: 3 }));
      for (let i = 0; i < 12; i++) await queue.add('mail.example', `c${i}`, {});
      await waitFor('12 jobs', () => done === 12);
      assert.equal(most, 3);
    });

    it('starts at most `ratePerSecond` jobs a second', async () => {
      const starts: number[] = [];
      queue.process('mail.example', async () => { starts.push(Date.now()); }, policy({ concurrency: 20, ratePerSecond: 10 }));
      for (let i = 0; i < 20; i++) await queue.add('mail.example', `r${i}`, {});
      await waitFor('20 jobs', () => starts.length === 20);
      // No more than 10 (+1 for timing) in any second: the embedded queue paces starts, bullmq
      // starts 10 at once each second.
      for (let i = 0; i + 11 < starts.length; i++) {
        assert.ok(starts[i + 11]! - starts[i]! >= 900, `12 starts within ${starts[i + 11]! - starts[i]!} ms`);
      }
      const span = starts[19]! - starts[0]!;
      assert.ok(span < 2500, `20 jobs at 10/s took ${span} ms`);
    });

    it('counts depth and the age of the oldest pending job per destination', async () => {
      await queue.add('idle.example', 'a', {});
      await queue.add('idle.example', 'b', {});
      await queue.add('idle.example', 'c', {}, { delayMs: 60_000 });
      await sleep(60);
      const counts = await countsOf(queue, 'idle.example');
      assert.deepEqual({ ...counts, oldestAgeMs: 0 }, {
        destination: 'idle.example', waiting: 2, delayed: 1, active: 0, dead: 0, oldestAgeMs: 0, failures: 0, completed: 0,
      });
      assert.ok(counts.oldestAgeMs >= 55 && counts.oldestAgeMs < 5000, `oldest ${counts.oldestAgeMs} ms`);
      // A destination being processed is listed with nothing pending.
      queue.process('empty.example', async () => {}, policy());
      const empty = await countsOf(queue, 'empty.example');
      assert.deepEqual([empty.waiting, empty.delayed, empty.active, empty.dead, empty.oldestAgeMs], [0, 0, 0, 0, 0]);
    });

    it('close() waits for a running job, which does not run again', async () => {
      let finished = false;
      let runs = 0;
      queue.process('mail.example', async () => {
        runs++;
        await sleep(300);
        finished = true;
      }, policy());
      await queue.add('mail.example', 'slow', {});
      await waitFor('the job to start', () => runs === 1);
      await queue.close();
      assert.equal(finished, true);
      queue = opened.reopen();
      queue.process('mail.example', async () => { runs++; }, policy());
      await sleep(300);
      assert.equal(runs, 1);
      assert.equal((await countsOf(queue, 'mail.example')).waiting, 0);
    });

    it('forgets done job ids after the retention time', async () => {
      await reset(1000);
      let runs = 0;
      queue.process('mail.example', async () => { runs++; }, policy());
      await queue.add('mail.example', 'once', {});
      await waitFor('the job', () => runs === 1);
      assert.equal(await queue.add('mail.example', 'once', {}), false);
      // bullmq drops done jobs older than the retention when another job completes.
      await sleep(2100);
      await queue.add('mail.example', 'later', {});
      await waitFor('the later job', () => runs === 2);
      await sleep(50);
      assert.equal(await queue.add('mail.example', 'once', {}), true);
      await waitFor('the job again', () => runs === 3);
    });
  });
}

describe('delivery queue: embedded only', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'switchboard-queue-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every job after a SIGKILL: exactly once, except those active at the kill (at least once)', async () => {
    const path = join(dir, 'queue.sqlite');
    const record = join(dir, 'done.txt');
    const total = 300;
    const child = spawn(process.execPath, [fileURLToPath(new URL('./support/queue-crash-child.js', import.meta.url)), path, record, String(total)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const recorded = () => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : []);
    try {
      await waitFor('the child to add its jobs and finish a quarter', () => output.includes('ADDED') && recorded().length >= total / 4, 10_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const beforeKill = recorded().length;
    assert.ok(beforeKill < total, 'the child finished before it was killed');

    const db = new Database(path);
    const activeAtKill = new Set(db.prepare<[], { id: string }>(`SELECT id FROM jobs WHERE state = 'active'`).all().map((r) => r.id));
    db.close();
    assert.ok(activeAtKill.size > 0, 'no job was running at the kill');

    const queue = new EmbeddedQueue({ path, log: createLogger({ level: 'silent', format: 'json' }) });
    try {
      const runs = new Map<string, number>();
      const ran = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);
      recorded().forEach(ran);
      queue.process('crash.example', async (job) => { ran(job.id); }, policy({ concurrency: 4 }));
      await waitFor('every job', () => runs.size === total, 10_000);
      await waitFor('nothing pending', async () => {
        const [c] = await queue.counts();
        return c !== undefined && c.waiting + c.delayed + c.active === 0;
      });
      const repeated = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
      for (const id of repeated) assert.ok(activeAtKill.has(id), `${id} ran twice but was not active at the kill`);
      assert.ok([...runs.values()].every((n) => n <= 2));
    } finally {
      await queue.close();
    }
  });

  it('createQueue() picks the adapter from the spec', async () => {
    const log = createLogger({ level: 'silent', format: 'json' });
    const queue = createQueue('embedded', { path: join(dir, 'q.sqlite'), log });
    assert.equal(queue.kind, 'embedded');
    await queue.close();
    if (canResolve('ioredis')) {
      const redis = createQueue('rediss://127.0.0.1:6380', { path: join(dir, 'q.sqlite'), log });
      assert.equal(redis.kind, 'redis');
      await redis.close();
    }
    assert.throws(() => createQueue('amqp://user:secret@host', { path: join(dir, 'q.sqlite'), log }),
      (err: Error) => /unknown delivery queue/.test(err.message) && !err.message.includes('secret'));
  });
});

async function countsOf(queue: DeliveryQueue, destination: string) {
  const found = (await queue.counts()).find((c) => c.destination === destination);
  assert.ok(found, `no counts for ${destination}`);
  return found;
}

function canResolve(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Deletes every key under `prefix`, through a bullmq connection (the test has no other client). */
async function deleteKeys(prefix: string): Promise<void> {
  const queue = new Queue('cleanup', { connection: { url: REDIS_URL }, prefix, skipMetasUpdate: true });
  try {
    const client = await queue.backend.client;
    let cursor = '0';
    for (let pass = 0; pass < 1000; pass++) {
      const [next, keys] = await client.scan(cursor, { MATCH: `${prefix}:*`, COUNT: 500 });
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    await queue.close();
  }
}
