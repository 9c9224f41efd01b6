// How both queue adapters judge a destination's policy and a failed attempt, so that they
// retry alike and log the same lines.
import type { Logger } from '../core/log.js';
import type { RetryConfig } from '../config/retry-options.js';
import { PermanentFailure, type DestinationPolicy } from './port.js';

export function checkPolicy(destination: string, policy: DestinationPolicy): void {
  const { concurrency, ratePerSecond, attempts, backoff } = policy;
  const fail = (what: string): never => {
    throw new Error(`delivery queue: ${destination}: ${what}`);
  };
  if (!Number.isInteger(concurrency) || concurrency < 1) fail('concurrency must be an integer ≥ 1');
  if (!(ratePerSecond >= 0)) fail('ratePerSecond must be ≥ 0');
  if (!Number.isInteger(attempts) || attempts < 1) fail('attempts must be an integer ≥ 1');
  if (!(backoff.initialMs >= 0 && backoff.maxMs >= 0)) fail('backoff delays must be ≥ 0');
}

/** Delay before the retry that follows failed attempt `attempt` (1-based). */
export function retryDelay(policy: DestinationPolicy, attempt: number): number {
  return Math.min(policy.backoff.initialMs * 2 ** (attempt - 1), policy.backoff.maxMs);
}

/**
 * Decides and logs what becomes of a failed attempt: `delayMs` before the retry, or null when the
 * job is dead (a PermanentFailure, or the last attempt).
 */
export function judgeFailure(
  log: Logger, policy: DestinationPolicy, destination: string, id: string, attempt: number, err: unknown,
): { error: string; delayMs: number | null } {
  const error = errorMessage(err);
  if (err instanceof PermanentFailure || attempt >= policy.attempts) {
    log.error({ destination, id, attempts: attempt, error }, 'delivery job failed, dead-lettered');
    return { error, delayMs: null };
  }
  const delayMs = retryDelay(policy, attempt);
  log.warn({ destination, id, attempts: attempt, error, delayMs }, 'delivery job failed, will retry');
  return { error, delayMs };
}

/** A handler may throw anything, even a value whose conversion to a string throws. */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error';
  }
}

/** A destination's policy from a gateway's configured retries (seconds) and its own limits. */
export function retryPolicy(retry: RetryConfig, concurrency: number, ratePerSecond: number): DestinationPolicy {
  return { concurrency, ratePerSecond, attempts: retry.attempts, backoff: { initialMs: retry.initial_delay * 1000, maxMs: retry.max_delay * 1000 } };
}
