// Picks the delivery queue adapter from the `queue` setting (see port.ts).
import type { Logger } from '../core/log.js';
import { EmbeddedQueue } from './embedded.js';
import type { DeliveryQueue } from './port.js';
import { RedisQueue } from './redis.js';

export interface QueueFactoryOptions {
  /** The embedded queue's SQLite file. */
  path: string;
  log: Logger;
  /** How long done job ids are kept for idempotent adds (default 24 h). */
  retentionMs?: number;
}

/** `spec`: 'embedded', or a redis:// or rediss:// URL. */
export function createQueue(spec: string, options: QueueFactoryOptions): DeliveryQueue {
  const { path, log, retentionMs } = options;
  if (spec === 'embedded') return new EmbeddedQueue({ path, log, retentionMs });
  if (/^rediss?:\/\//i.test(spec)) return new RedisQueue({ url: spec, log, retentionMs });
  // Whatever stands before an '@' may be a password.
  const shown = spec.replace(/\/\/[^/@]*@/, '//…@');
  throw new Error(`unknown delivery queue "${shown}": use "embedded" or a redis:// or rediss:// URL`);
}
