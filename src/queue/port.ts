// The durable delivery queue every gateway sends through (DESIGN.md, src/queue): jobs for a
// destination (one SMTP relay, one SMSC...) are stored before anything is sent, worked with
// per-destination concurrency and rate limits, retried with capped exponential backoff and,
// when they keep failing, kept as dead letters for the operator. Adapters: embedded.ts
// (SQLite, no outside service) and redis.ts (bullmq); test/queue-contract.test.ts runs
// against both.

export interface Job<P = unknown> {
  destination: string;
  /** The caller's id: adding a job whose id exists is a no-op, so a retry never sends twice. */
  id: string;
  payload: P;
  /** 1 on the first try. */
  attempt: number;
  /** When the job was added (ms since the epoch). */
  createdAt: number;
}

/** Thrown by a handler for a failure no retry can cure (a 5xx from the relay): dead-letters at once. */
export class PermanentFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentFailure';
  }
}

/** How a destination's jobs are worked. */
export interface DestinationPolicy {
  /** Jobs in flight at once. */
  concurrency: number;
  /** Most jobs started per second; 0 for no limit. */
  ratePerSecond: number;
  /** Tries before a job becomes a dead letter (1: no retry). */
  attempts: number;
  /** Delay before the first retry, doubled for each further one, never above `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
}

/** Resolves when the job is done; rejects to retry it (PermanentFailure: dead-letter it). */
export type JobHandler<P = unknown> = (job: Job<P>) => Promise<void>;

export interface AddOptions {
  /** Milliseconds before the job may run. */
  delayMs?: number;
}

export interface QueueCounts {
  destination: string;
  /** Ready to run now. */
  waiting: number;
  /** Scheduled for later: delayed on purpose or waiting for a retry. */
  delayed: number;
  active: number;
  dead: number;
  /** Age in ms of the oldest job not yet done (waiting, delayed or active); 0 when none. */
  oldestAgeMs: number;
  /** Attempts that failed since this process started. */
  failures: number;
  /** Jobs done since this process started. */
  completed: number;
}

export interface DeadJob<P = unknown> {
  destination: string;
  id: string;
  payload: P;
  attempts: number;
  /** The last failure's message. */
  error: string;
  createdAt: number;
  failedAt: number;
}

export interface DeliveryQueue {
  /** Which adapter, for status output: 'embedded' or 'redis'. */
  readonly kind: string;
  /**
   * Stores a job. False, and nothing changes, when a job with this id is pending, dead, or was
   * done within the retention time: adding is idempotent.
   */
  add<P>(destination: string, id: string, payload: P, options?: AddOptions): Promise<boolean>;
  /** Removes a job that has not started (waiting or delayed); false otherwise. */
  cancel(destination: string, id: string): Promise<boolean>;
  /** Starts working the destination's jobs, in this process, with the handler. Once per destination. */
  process<P>(destination: string, handler: JobHandler<P>, policy: DestinationPolicy): void;
  /** Depth, age and failures per destination known to this queue (processed or holding jobs). */
  counts(): Promise<QueueCounts[]>;
  /** Dead letters, oldest first, of one destination or of all. */
  deadLetters(destination?: string): Promise<DeadJob[]>;
  /** Puts a dead letter back to run now with fresh attempts; false when there is none with this id. */
  retry(destination: string, id: string): Promise<boolean>;
  /** Deletes a dead letter; false when there is none with this id. */
  discard(destination: string, id: string): Promise<boolean>;
  /** Stops starting jobs, waits (bounded) for running ones, closes connections. */
  close(): Promise<void>;
}
