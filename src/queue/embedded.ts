// The embedded delivery queue: one SQLite table (better-sqlite3, WAL) worked in this process,
// no outside service. One process owns the file.
//
// Delivery is at least once: a job is marked active when it starts and done when its handler
// resolves, so a job interrupted by a crash (or whose "done" was not yet written) is put back to
// waiting when the file is next opened and runs again (the interrupted try counts as an attempt).
// Handlers therefore use the job id as an idempotency key (an SMTP Message-ID, an SMPP
// reference...) so the far end can drop the repeat.
//
// Throughput: adds and job outcomes are buffered and written in one transaction per event-loop
// turn, jobs are claimed in batches (one UPDATE ... RETURNING), and each destination has at most
// one timer (the next due job, the next rate-limit token, or the poll fallback).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../core/log.js';
import { checkPolicy, judgeFailure } from './policy.js';
import {
  type AddOptions, type DeadJob, type DeliveryQueue, type DestinationPolicy,
  type JobHandler, type QueueCounts,
} from './port.js';

export interface EmbeddedQueueOptions {
  path: string;
  log: Logger;
  /** How long the ids of done jobs are kept, so adding one again is a no-op (default 24 h). */
  retentionMs?: number;
  /**
   * Longest wait before a destination's jobs are looked at again without a known reason
   * (default 1 s): picks up rows written by another connection. Due times, rate-limit tokens and
   * adds in this process wake a destination on their own.
   */
  pollMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  destination TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0, run_at INTEGER NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, last_error TEXT,
  PRIMARY KEY (destination, id));
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, destination, run_at);
CREATE INDEX IF NOT EXISTS jobs_done ON jobs (updated_at) WHERE state = 'done';
`;

const DAY_MS = 24 * 60 * 60 * 1000;
const CLOSE_TIMEOUT_MS = 10_000;
const PURGE_BATCH = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

type Db = Database.Database;

interface ClaimedRow {
  id: string;
  payload: string;
  attempts: number;
  created_at: number;
  run_at: number;
  rowid: number;
}

interface PendingAdd {
  destination: string;
  id: string;
  payload: string;
  runAt: number;
  createdAt: number;
  resolve(added: boolean): void;
  reject(err: unknown): void;
}

/** What becomes of an active job: done, back to waiting for a retry, or dead. */
interface Outcome {
  destination: string;
  id: string;
  state: 'done' | 'waiting' | 'dead';
  runAt: number | null;
  error: string | null;
  at: number;
}

interface Worker {
  handler: JobHandler<unknown>;
  policy: DestinationPolicy;
  active: number;
  /** Rate-limit tokens: a bucket holding a tenth of a second's worth (at least one), so starts are paced. */
  tokens: number;
  refilledAt: number;
  timer?: NodeJS.Timeout;
  completed: number;
  failures: number;
}

export class EmbeddedQueue implements DeliveryQueue {
  readonly kind = 'embedded';
  private readonly db: Db;
  private readonly log: Logger;
  private readonly retentionMs: number;
  private readonly pollMs: number;
  private readonly workers = new Map<string, Worker>();
  private adds: PendingAdd[] = [];
  private outcomes: Outcome[] = [];
  private flushScheduled?: NodeJS.Immediate;
  private readonly purgeTimer: NodeJS.Timeout;
  private running = 0;
  private closing = false;
  private closed?: Promise<void>;
  private idle?: () => void;

  private readonly insertStmt;
  private readonly claimStmt;
  private readonly nextDueStmt;
  private readonly outcomeStmt;
  private readonly cancelStmt;
  private readonly retryStmt;
  private readonly discardStmt;
  private readonly deadStmt;
  private readonly countsStmt;
  private readonly purgeStmt;
  private readonly writeTx;

  constructor(options: EmbeddedQueueOptions) {
    this.log = options.log;
    this.retentionMs = options.retentionMs ?? DAY_MS;
    this.pollMs = Math.min(options.pollMs ?? 1000, MAX_TIMER_MS);
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a commit survives a crash of this process, not necessarily a power loss.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);

    // A done job past the retention time may be added again (its row is reused, purged or not).
    this.insertStmt = this.db.prepare<[string, string, string, number, number, number, number]>(
      `INSERT INTO jobs (destination, id, payload, state, attempts, run_at, created_at, updated_at)
       VALUES (?, ?, ?, 'waiting', 0, ?, ?, ?)
       ON CONFLICT (destination, id) DO UPDATE SET payload = excluded.payload, state = 'waiting', attempts = 0,
         run_at = excluded.run_at, created_at = excluded.created_at, updated_at = excluded.updated_at, last_error = NULL
       WHERE state = 'done' AND updated_at < ?`);
    this.claimStmt = this.db.prepare<[number, string, number, number], ClaimedRow>(
      `UPDATE jobs SET state = 'active', attempts = attempts + 1, updated_at = ?
       WHERE rowid IN (SELECT rowid FROM jobs WHERE state = 'waiting' AND destination = ? AND run_at <= ?
                       ORDER BY run_at LIMIT ?)
       RETURNING id, payload, attempts, created_at, run_at, rowid`);
    this.nextDueStmt = this.db.prepare<[string], { at: number | null }>(
      `SELECT min(run_at) AS at FROM jobs WHERE state = 'waiting' AND destination = ?`);
    this.outcomeStmt = this.db.prepare<[string, number | null, string | null, number, string, string]>(
      `UPDATE jobs SET state = ?, run_at = coalesce(?, run_at), last_error = ?, updated_at = ?
       WHERE destination = ? AND id = ?`);
    this.cancelStmt = this.db.prepare<[string, string]>(
      `DELETE FROM jobs WHERE destination = ? AND id = ? AND state = 'waiting'`);
    this.retryStmt = this.db.prepare<[number, number, string, string]>(
      `UPDATE jobs SET state = 'waiting', attempts = 0, run_at = ?, last_error = NULL, updated_at = ?
       WHERE destination = ? AND id = ? AND state = 'dead'`);
    this.discardStmt = this.db.prepare<[string, string]>(
      `DELETE FROM jobs WHERE destination = ? AND id = ? AND state = 'dead'`);
    this.deadStmt = this.db.prepare<{ destination: string | null }, {
      destination: string; id: string; payload: string; attempts: number; last_error: string | null;
      created_at: number; updated_at: number;
    }>(
      `SELECT destination, id, payload, attempts, last_error, created_at, updated_at FROM jobs
       WHERE state = 'dead' AND (@destination IS NULL OR destination = @destination) ORDER BY updated_at, rowid`);
    this.countsStmt = this.db.prepare<{ now: number }, {
      destination: string; waiting: number; delayed: number; active: number; dead: number; oldest: number | null;
    }>(
      `SELECT destination, sum(state = 'waiting' AND run_at <= @now) AS waiting, sum(state = 'waiting' AND run_at > @now) AS delayed,
         sum(state = 'active') AS active, sum(state = 'dead') AS dead,
         min(CASE WHEN state != 'dead' THEN created_at END) AS oldest
       FROM jobs WHERE state IN ('waiting', 'active', 'dead') GROUP BY destination`);
    this.purgeStmt = this.db.prepare<[number, number]>(
      `DELETE FROM jobs WHERE rowid IN
         (SELECT rowid FROM jobs INDEXED BY jobs_done WHERE state = 'done' AND updated_at < ? LIMIT ?)`);
    this.writeTx = this.db.transaction((adds: PendingAdd[], outcomes: Outcome[]) => {
      const doneBefore = Date.now() - this.retentionMs;
      const added = adds.map((a) =>
        this.insertStmt.run(a.destination, a.id, a.payload, a.runAt, a.createdAt, a.createdAt, doneBefore).changes > 0);
      for (const o of outcomes) this.outcomeStmt.run(o.state, o.runAt, o.error, o.at, o.destination, o.id);
      return added;
    });

    const interrupted = this.db.prepare(`UPDATE jobs SET state = 'waiting', updated_at = ? WHERE state = 'active'`)
      .run(Date.now()).changes;
    if (interrupted > 0) this.log.warn({ jobs: interrupted }, 'delivery queue: jobs interrupted by a restart will run again');

    const purgeEvery = Math.min(Math.max(this.retentionMs, 1000), 60_000);
    this.purgeTimer = setInterval(() => this.purge(), purgeEvery).unref();
  }

  async add<P>(destination: string, id: string, payload: P, options: AddOptions = {}): Promise<boolean> {
    if (!this.db.open) throw new Error('delivery queue is closed');
    const json = JSON.stringify(payload ?? null);
    const createdAt = Date.now();
    return new Promise<boolean>((resolve, reject) => {
      this.adds.push({ destination, id, payload: json, runAt: createdAt + Math.max(0, options.delayMs ?? 0), createdAt, resolve, reject });
      this.scheduleFlush();
    });
  }

  async cancel(destination: string, id: string): Promise<boolean> {
    this.flush();
    return this.cancelStmt.run(destination, id).changes > 0;
  }

  process<P>(destination: string, handler: JobHandler<P>, policy: DestinationPolicy): void {
    if (this.workers.has(destination)) throw new Error(`delivery queue: ${destination} is already being processed`);
    checkPolicy(destination, policy);
    this.workers.set(destination, {
      handler: handler as JobHandler<unknown>, policy, active: 0, tokens: bucketSize(policy.ratePerSecond),
      refilledAt: Date.now(), completed: 0, failures: 0,
    });
    this.pump(destination);
  }

  async counts(): Promise<QueueCounts[]> {
    this.flush();
    const now = Date.now();
    const byDestination = new Map<string, QueueCounts>();
    for (const [destination, w] of this.workers) {
      byDestination.set(destination, {
        destination, waiting: 0, delayed: 0, active: 0, dead: 0, oldestAgeMs: 0, failures: w.failures, completed: w.completed,
      });
    }
    for (const row of this.countsStmt.all({ now })) {
      const w = this.workers.get(row.destination);
      byDestination.set(row.destination, {
        destination: row.destination, waiting: row.waiting, delayed: row.delayed, active: row.active, dead: row.dead,
        oldestAgeMs: row.oldest === null ? 0 : Math.max(0, now - row.oldest),
        failures: w?.failures ?? 0, completed: w?.completed ?? 0,
      });
    }
    return [...byDestination.values()].sort((a, b) => a.destination.localeCompare(b.destination));
  }

  async deadLetters(destination?: string): Promise<DeadJob[]> {
    this.flush();
    return this.deadStmt.all({ destination: destination ?? null }).map((row) => ({
      destination: row.destination, id: row.id, payload: JSON.parse(row.payload) as unknown, attempts: row.attempts,
      error: row.last_error ?? '', createdAt: row.created_at, failedAt: row.updated_at,
    }));
  }

  async retry(destination: string, id: string): Promise<boolean> {
    this.flush();
    const now = Date.now();
    if (this.retryStmt.run(now, now, destination, id).changes === 0) return false;
    this.pump(destination);
    return true;
  }

  async discard(destination: string, id: string): Promise<boolean> {
    this.flush();
    return this.discardStmt.run(destination, id).changes > 0;
  }

  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.purgeTimer);
    for (const w of this.workers.values()) clearTimeout(w.timer);
    if (this.running > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => { this.idle = resolve; }),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (this.running > 0) {
        this.log.warn({ jobs: this.running }, 'delivery queue: closing with jobs still running; they will run again after a restart');
      }
    }
    clearImmediate(this.flushScheduled);
    this.flush();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }

  private scheduleFlush(): void {
    this.flushScheduled ??= setImmediate(() => this.flush());
  }

  /** Writes the buffered adds and outcomes in one transaction, then starts what they allow. */
  private flush(): void {
    this.flushScheduled = undefined;
    if (this.adds.length === 0 && this.outcomes.length === 0) return;
    const { adds, outcomes } = this;
    this.adds = [];
    this.outcomes = [];
    // Outcomes of handlers that outlived close(): the jobs stay active and run again after a restart.
    if (!this.db.open) return;
    let added: boolean[];
    try {
      added = this.writeTx(adds, outcomes);
    } catch (err) {
      for (const a of adds) a.reject(err);
      if (outcomes.length > 0) {
        this.log.error({ err, jobs: outcomes.length }, 'delivery queue: could not record job outcomes; the jobs will run again after a restart');
      }
      return;
    }
    adds.forEach((a, i) => a.resolve(added[i]!));
    const touched = new Set<string>();
    for (const a of adds) touched.add(a.destination);
    for (const o of outcomes) touched.add(o.destination);
    for (const destination of touched) this.pump(destination);
  }

  /** Starts as many due jobs as concurrency and rate allow, then sets the destination's timer. */
  private pump(destination: string): void {
    const w = this.workers.get(destination);
    if (!w || this.closing) return;
    clearTimeout(w.timer);
    w.timer = undefined;
    try {
      this.startDue(destination, w);
    } catch (err) {
      // The database failing (disk full, I/O error): try again later rather than throw from a timer.
      this.log.error({ err, destination }, 'delivery queue: could not start jobs');
      this.wake(destination, w, this.pollMs);
    }
  }

  private startDue(destination: string, w: Worker): void {
    const free = w.policy.concurrency - w.active;
    if (free <= 0) return; // a finishing job pumps again
    const now = Date.now();
    const rate = w.policy.ratePerSecond;
    let limit = free;
    if (rate > 0) {
      w.tokens = Math.min(bucketSize(rate), w.tokens + ((now - w.refilledAt) * rate) / 1000);
      w.refilledAt = now;
      limit = Math.min(free, Math.floor(w.tokens));
      if (limit === 0) {
        this.wake(destination, w, ((1 - w.tokens) * 1000) / rate);
        return;
      }
    }
    const rows = this.claimStmt.all(now, destination, now, limit);
    rows.sort((a, b) => a.run_at - b.run_at || a.rowid - b.rowid);
    if (rate > 0) w.tokens -= rows.length;
    for (const row of rows) this.run(destination, w, row);
    if (rows.length < limit) {
      const next = this.nextDueStmt.get(destination)?.at ?? null;
      this.wake(destination, w, next === null ? this.pollMs : Math.min(next - now, this.pollMs));
    } else if (limit < free) {
      this.wake(destination, w, ((1 - w.tokens) * 1000) / rate);
    }
  }

  private wake(destination: string, w: Worker, ms: number): void {
    w.timer = setTimeout(() => this.pump(destination), Math.max(1, Math.ceil(ms))).unref();
  }

  private run(destination: string, w: Worker, row: ClaimedRow): void {
    w.active++;
    this.running++;
    const attempt = row.attempts;
    // Started on a microtask, so a handler calling back into the queue never runs inside pump().
    Promise.resolve()
      .then(() => w.handler({ destination, id: row.id, payload: JSON.parse(row.payload) as unknown, attempt, createdAt: row.created_at }))
      .then(
        () => {
          w.completed++;
          this.settle(w, { destination, id: row.id, state: 'done', runAt: null, error: null, at: Date.now() });
        },
        (err: unknown) => this.failed(destination, w, row.id, attempt, err),
      );
  }

  private failed(destination: string, w: Worker, id: string, attempt: number, err: unknown): void {
    w.failures++;
    const { error, delayMs } = judgeFailure(this.log, w.policy, destination, id, attempt, err);
    const now = Date.now();
    this.settle(w, delayMs === null
      ? { destination, id, state: 'dead', runAt: null, error, at: now }
      : { destination, id, state: 'waiting', runAt: now + delayMs, error, at: now });
  }

  private settle(w: Worker, outcome: Outcome): void {
    w.active--;
    this.running--;
    this.outcomes.push(outcome);
    this.scheduleFlush();
    if (this.running === 0) this.idle?.();
  }

  /** Forgets done jobs past the retention time, a bounded batch per event-loop turn. */
  private purge(): void {
    if (!this.db.open) return;
    try {
      const deleted = this.purgeStmt.run(Date.now() - this.retentionMs, PURGE_BATCH).changes;
      if (deleted === PURGE_BATCH) setImmediate(() => this.purge());
    } catch (err) {
      this.log.error({ err }, 'delivery queue: could not purge done jobs');
    }
  }
}

function bucketSize(ratePerSecond: number): number {
  return Math.max(1, ratePerSecond / 10);
}
