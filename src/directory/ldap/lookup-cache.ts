// Remembers directory lookups for a while, so that routing to a known user costs no LDAP round
// trip: found entries for `ttl`, absent users for the (shorter) `negativeTtl`. Concurrent
// lookups of one key share one query. While the directory is unavailable, an expired entry
// that was found is still used (a user who existed a minute ago still gets messages); absent
// ones are not. The number of entries is bounded: the oldest go first.
import { DirectoryUnavailable } from '../port.js';

interface Cached<V> {
  value: V | null;
  expires: number;
}

export class LookupCache<V> {
  private readonly entries = new Map<string, Cached<V>>();
  private readonly inFlight = new Map<string, Promise<V | null>>();

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The cached value, else the result of `load` (null: absent), cached. */
  get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const cached = this.entries.get(key);
    if (cached && this.now() < cached.expires) return Promise.resolve(cached.value);
    return this.refresh(key, load, cached?.value ?? null);
  }

  /** Loads and caches, ignoring what is cached (logins, refresh). */
  fresh(key: string, load: () => Promise<V | null>): Promise<V | null> {
    return this.refresh(key, load, null);
  }

  set(key: string, value: V | null): void {
    if (this.ttlMs <= 0 && value !== null) return;
    if (this.negativeTtlMs <= 0 && value === null) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expires: this.now() + (value === null ? this.negativeTtlMs : this.ttlMs) });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  private refresh(key: string, load: () => Promise<V | null>, stale: V | null): Promise<V | null> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const loading = load().then(
      (value) => {
        this.set(key, value);
        return value;
      },
      (err: unknown) => {
        if (err instanceof DirectoryUnavailable && stale !== null) return stale;
        throw err;
      },
    ).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }
}
