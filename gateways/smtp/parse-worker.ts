// A parse worker of the inbound mail listener (started by parse-pool.ts): takes one message at a
// time (its bytes transferred, not copied), parses it with mail-parse.ts and posts the fields back.
// Parsing here keeps mailparser's garbage on this isolate's heap, so its collections do not stop
// the hub's event loop.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { parseMail, type ParsedMail } from './mail-parse.js';

/** Given by the pool: how much lower than the hub's threads this one runs. */
export interface ParseWorkerData {
  niceIncrement: number;
}

/** Main thread → worker: the message in `bytes[0, length)`. */
export interface ParseRequest {
  id: number;
  bytes: ArrayBuffer;
  length: number;
  timeoutMs: number;
}

/** Worker → main thread: once when loaded, then one answer per request. */
export type ParseReply = { ready: true } | { id: number; mail: ParsedMail };

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs as a worker thread (see parse-pool.ts)');
lowerPriority((workerData as ParseWorkerData | undefined)?.niceIncrement ?? 0);

port.on('message', (request: ParseRequest) => {
  void parseMail(Buffer.from(request.bytes, 0, request.length), request.timeoutMs).then((mail) => {
    port.postMessage({ id: request.id, mail } satisfies ParseReply);
  });
});
port.postMessage({ ready: true } satisfies ParseReply);

/**
 * Raises this thread's nice value (Linux keeps one per thread), so that where the hub shares a
 * core with its workers, a message handed over does not preempt IM routing, and parsing takes the
 * core's idle time first. Best effort: elsewhere, or without /proc, nothing changes.
 */
function lowerPriority(by: number): void {
  if (by <= 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1)); // "<pid>/task/<tid>"
    if (!Number.isSafeInteger(tid) || tid <= 0 || tid === process.pid) return; // never the main thread
    setPriority(tid, Math.min(19, getPriority(tid) + by));
  } catch {
    // not permitted or not available: the default priority
  }
}
