// Short-lived, single-use login tokens for webmail single sign-on: a webmail backend that has
// authenticated its user asks for one (POST /api/v1/token), hands it to the browser, and the
// web client logs in with it (SASL OAUTHBEARER).
//
// Tokens live in this process's memory only, so a token logs in on the node that issued it;
// a cluster will need a shared store (Redis) behind the same two methods.
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
/** Outstanding tokens kept at most; beyond it the oldest are dropped (a runaway caller cannot exhaust memory). */
const DEFAULT_MAX_OUTSTANDING = 100_000;

interface Pending {
  jid: string;
  expires: number;
}

export class LoginTokens {
  // Keyed by the token's hash, so that the tokens themselves are nowhere in memory. Every token
  // lives equally long, so insertion order is expiry order: the oldest entries come first.
  private readonly pending = new Map<string, Pending>();
  private readonly ttlMs: number;

  /** `now` returns milliseconds; the default is a monotonic clock. */
  constructor(
    private readonly ttlSeconds: number,
    private readonly maxOutstanding = DEFAULT_MAX_OUTSTANDING,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ttlMs = ttlSeconds * 1000;
  }

  /** A new token that logs `jid` (a prepared bare JID, `user@host`) in once, within the TTL. */
  issue(jid: string): { token: string; expiresIn: number } {
    const now = this.now();
    this.sweep(now);
    while (this.pending.size >= this.maxOutstanding) this.pending.delete(this.pending.keys().next().value!);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.pending.set(digest(token), { jid, expires: now + this.ttlMs });
    return { token, expiresIn: this.ttlSeconds };
  }

  /**
   * True when `token` was issued for `username@host` and has not expired. Any presented token
   * is used up, whether or not it matched, so each one gets exactly one login attempt.
   */
  consume(host: string, username: string, token: string): boolean {
    const now = this.now();
    this.sweep(now);
    const key = digest(token);
    const entry = this.pending.get(key);
    if (!entry) return false;
    this.pending.delete(key);
    return now < entry.expires && entry.jid === `${username}@${host}`;
  }

  /** Drops expired tokens; they sit at the front of the map. */
  private sweep(now: number): void {
    for (const [key, entry] of this.pending) {
      if (now < entry.expires) return;
      this.pending.delete(key);
    }
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
