// A fixed pool of parse workers (parse-worker.ts) for the inbound mail listener: each message's
// bytes are transferred (not copied) to a free worker, which answers with the parsed fields. One
// message per worker at a time; the others wait in a bounded queue. A worker that crashes, runs
// out of its memory limit or overruns the time limit is ended and replaced, and its message
// answered as unreadable.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../src/core/log.js';
import { PARSE_TIMEOUT_MS, unreadableMail, type ParsedMail } from './mail-parse.js';
import type { ParseReply, ParseRequest, ParseWorkerData } from './parse-worker.js';

const WORKER_URL = new URL('./parse-worker.js', import.meta.url);
/** Messages waiting for a worker; each holds its bytes (at most the listener's max size). */
const QUEUE_LIMIT = 256;
/** A worker that could not start is tried again after this. */
const RESPAWN_DELAY_MS = 1_000;
/** Workers run at a lower priority than the hub's main thread (nice value + 10, Linux). */
const NICE_INCREMENT = 10;
/** Heap limit of a worker: a hostile message then ends the worker, not the hub. */
const WORKER_OLD_SPACE_MB = 256;

/** 2 workers when at least 3 cores are available to the process (taskset counts), else 1. */
export function defaultParseWorkers(): number {
  return availableParallelism() >= 3 ? 2 : 1;
}

/** parse() refused the message: the pool is closed, its queue full, or no worker could start. */
export class ParsePoolUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParsePoolUnavailable';
  }
}

export interface ParsePoolOptions {
  /** Worker threads, at least 1. */
  size: number;
  /**
   * Per message, from when a worker takes it: the worker answers unreadable with what it has read
   * (default 30 s); a worker still silent as long again (at most 5 s more) is ended and replaced.
   */
  timeoutMs?: number;
  /** Messages waiting for a free worker, beyond which parse() rejects (default 256). */
  queueLimit?: number;
  log: Logger;
  /** How much the workers' nice value is raised over the hub's (default 10; Linux, per thread). */
  niceIncrement?: number;
  /** The worker's module (default parse-worker.js next to this module). */
  workerUrl?: URL;
}

interface Job {
  bytes: ArrayBuffer;
  length: number;
  resolve(mail: ParsedMail): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Ended (timed out, or the pool closed): its exit is expected. */
  retired: boolean;
  job?: { id: number; job: Job; timer: NodeJS.Timeout };
  error?: Error;
}

export class ParsePool {
  /** Messages parsed by a worker; workers that crashed or were ended on a message's time limit. */
  readonly stats = { parsed: 0, crashed: 0, timedOut: 0 };
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly respawns = new Set<NodeJS.Timeout>();
  private readonly timeoutMs: number;
  private readonly killAfterMs: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ParsePoolOptions) {
    if (!(Number.isInteger(options.size) && options.size >= 1)) throw new RangeError(`parse pool size ${options.size}`);
    this.timeoutMs = options.timeoutMs ?? PARSE_TIMEOUT_MS;
    this.killAfterMs = this.timeoutMs + Math.min(this.timeoutMs, 5_000);
  }

  /** Starts the workers; resolves once each has loaded, rejects (the pool closed) if one cannot. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.options.size }, () => this.spawn());
    try {
      await Promise.all(started);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Parses `bytes[0, length)`; the ArrayBuffer is transferred to a worker (detached here: it must
   * not be a view of anything else). Resolves with the fields, unreadable if the worker crashed
   * or overran the time limit; rejects with ParsePoolUnavailable when the message cannot be taken.
   */
  parse(bytes: ArrayBuffer, length: number): Promise<ParsedMail> {
    if (this.closed) return Promise.reject(new ParsePoolUnavailable('mail parser stopped'));
    if (this.queue.length >= (this.options.queueLimit ?? QUEUE_LIMIT)) {
      return Promise.reject(new ParsePoolUnavailable('too many messages waiting for the mail parser'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, length, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends the workers; messages waiting or being parsed are rejected with ParsePoolUnavailable. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.respawns) clearTimeout(timer);
    this.respawns.clear();
    const stopped = new ParsePoolUnavailable('mail parser stopped');
    for (const job of this.queue.splice(0)) job.reject(stopped);
    const slots = [...this.slots];
    this.slots.clear();
    await Promise.all(slots.map((slot) => {
      slot.retired = true;
      if (slot.job) {
        clearTimeout(slot.job.timer);
        slot.job.job.reject(stopped);
        slot.job = undefined;
      }
      return slot.worker.terminate();
    }));
  }

  /** A new worker; resolves when it has loaded, rejects if it exits before. */
  private spawn(): Promise<void> {
    const workerData: ParseWorkerData = { niceIncrement: this.options.niceIncrement ?? NICE_INCREMENT };
    const worker = new Worker(this.options.workerUrl ?? WORKER_URL, {
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_SPACE_MB },
    });
    worker.unref(); // the sockets of the messages being parsed keep the process alive
    const slot: Slot = { worker, ready: false, retired: false };
    this.slots.add(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: ParseReply) => {
        if ('ready' in reply) {
          slot.ready = true;
          resolve();
          this.dispatch();
          return;
        }
        const current = slot.job;
        if (!current || current.id !== reply.id) return; // answered already (cannot happen: one at a time)
        clearTimeout(current.timer);
        slot.job = undefined;
        this.stats.parsed++;
        current.job.resolve(reply.mail);
        this.dispatch();
      });
      worker.on('error', (err: Error) => (slot.error = err)); // 'exit' follows
      worker.on('exit', (code) => {
        reject(slot.error ?? new Error(`mail parse worker exited with code ${code} while starting`));
        if (!slot.retired) this.lost(slot, code);
      });
    });
  }

  /** A worker exited on its own: its message is unreadable, the worker replaced. */
  private lost(slot: Slot, code: number): void {
    this.slots.delete(slot);
    if (this.closed) return;
    const { log } = this.options;
    if (slot.job) {
      clearTimeout(slot.job.timer);
      this.stats.crashed++;
      log.error({ err: slot.error, code }, 'inbound mail: the parse worker crashed on a message; taken as unreadable');
      slot.job.job.resolve(unreadableMail());
      slot.job = undefined;
    } else {
      log.error({ err: slot.error, code }, 'inbound mail: a parse worker exited');
    }
    if (slot.ready) {
      this.replace();
      return;
    }
    // It could not even load: retry later, and refuse what waits if no worker is left to take it.
    const timer = setTimeout(() => {
      this.respawns.delete(timer);
      this.replace();
    }, RESPAWN_DELAY_MS);
    timer.unref();
    this.respawns.add(timer);
    if (![...this.slots].some((s) => s.ready)) {
      const unavailable = new ParsePoolUnavailable('no mail parse worker could start');
      for (const job of this.queue.splice(0)) job.reject(unavailable);
    }
  }

  private replace(): void {
    if (this.closed) return;
    this.spawn().catch(() => undefined); // its exit is handled by lost()
  }

  /** Hands waiting messages to idle workers. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.retired || slot.job) continue;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      const request: ParseRequest = { id, bytes: job.bytes, length: job.length, timeoutMs: this.timeoutMs };
      try {
        slot.worker.postMessage(request, [job.bytes]);
      } catch (err) {
        job.reject(err as Error); // not transferable: a caller's mistake
        continue;
      }
      const timer = setTimeout(() => this.overran(slot), this.killAfterMs);
      slot.job = { id, job, timer };
    }
  }

  /** A worker silent past the time limit (stuck in a synchronous loop): ended and replaced. */
  private overran(slot: Slot): void {
    const current = slot.job;
    if (!current || slot.retired) return;
    slot.retired = true;
    slot.job = undefined;
    this.slots.delete(slot);
    this.stats.timedOut++;
    this.options.log.warn({ timeoutMs: this.killAfterMs }, 'inbound mail: the parse worker overran the time limit; ended, the message taken as unreadable');
    void slot.worker.terminate();
    current.job.resolve(unreadableMail());
    this.replace();
  }
}
