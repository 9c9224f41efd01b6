// Failed-login throttling per source address and per account: after maxFailures failures within
// a fixed window the key is locked for lockSeconds. Memory is bounded: expired entries are pruned
// as new failures arrive and each map is capped, evicting the least recently failed key.

export interface ThrottleOptions {
  maxFailures: number;
  windowSeconds: number;
  lockSeconds: number;
  /** Cap on tracked keys per kind (addresses, accounts); default 100 000. */
  maxKeys?: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Entry { windowStart: number; failures: number; lockedUntil: number }

const PRUNE_PER_CALL = 4;

class FailureCounter {
  // Insertion order is the order of last failure, so the oldest entries come first.
  private readonly entries = new Map<string, Entry>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockMs: number;
  private readonly maxKeys: number;

  constructor(opts: ThrottleOptions) {
    this.maxFailures = opts.maxFailures;
    this.windowMs = opts.windowSeconds * 1000;
    this.lockMs = opts.lockSeconds * 1000;
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Milliseconds the key stays locked (0 when not locked). */
  lockedFor(key: string, now: number): number {
    const entry = this.entries.get(key);
    return entry ? Math.max(0, entry.lockedUntil - now) : 0;
  }

  fail(key: string, now: number): void {
    this.prune(now);
    const old = this.entries.get(key);
    if (old && now < old.lockedUntil) return;
    const entry = old && now - old.windowStart < this.windowMs ? old : { windowStart: now, failures: 0, lockedUntil: 0 };
    if (++entry.failures >= this.maxFailures) {
      entry.lockedUntil = now + this.lockMs;
      entry.failures = 0;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (let i = 0; i < PRUNE_PER_CALL; i++) {
      const first = this.entries.entries().next();
      if (first.done) return;
      const [key, entry] = first.value;
      if (now < entry.lockedUntil || now - entry.windowStart < this.windowMs) return;
      this.entries.delete(key);
    }
  }
}

export class LoginThrottle {
  private readonly addresses: FailureCounter;
  private readonly accounts: FailureCounter;

  /** `now` returns milliseconds; the default is a monotonic clock. */
  constructor(opts: ThrottleOptions, private readonly now: () => number = () => performance.now()) {
    this.addresses = new FailureCounter(opts);
    this.accounts = new FailureCounter(opts);
  }

  check(address: string, account?: string): ThrottleVerdict {
    const now = this.now();
    const wait = Math.max(
      this.addresses.lockedFor(address, now),
      account === undefined ? 0 : this.accounts.lockedFor(account, now),
    );
    return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait / 1000) } : { allowed: true };
  }

  failure(address: string, account?: string): void {
    const now = this.now();
    this.addresses.fail(address, now);
    if (account !== undefined) this.accounts.fail(account, now);
  }

  /**
   * Forgets the account's failures. The address keeps its count: otherwise one valid account
   * would let its owner reset the counter between guesses at other accounts.
   */
  success(_address: string, account?: string): void {
    if (account !== undefined) this.accounts.clear(account);
  }
}
