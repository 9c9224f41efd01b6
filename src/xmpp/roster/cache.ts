// Rosters in memory: a user's roster and pending inbound subscription requests are loaded
// once and kept while the user has sessions (a task finishing after the last session closed
// drops them), so presence fan-out never reads the store.
// Every read and change goes through `use`, which runs one task per user at a time:
// changes to one roster never interleave, and the cache is written through to the store.
import type { Jid } from '../../core/jid.js';
import type { RosterItem, Store } from '../../store/ports.js';
import type { ModuleContext } from '../module.js';
import type { SessionManager } from '../sessions.js';
import type { SubscriptionState } from './subscription.js';

/** KeyValueStore name of pending inbound subscription requests, keyed by the contact's bare JID. */
export const REQUESTS_STORE = 'subscription-requests';

/** An inbound subscription request awaiting the user's answer (RFC 6121 §3.1.3). */
export interface PendingRequest {
  /** The request as received, so its status text survives. */
  stanza: string;
  /** When it arrived, in milliseconds since the epoch. */
  stamp: number;
}

export class UserRoster {
  constructor(
    private readonly store: Store,
    readonly user: Jid,
    public version: number,
    /** By the contact's bare JID. */
    readonly items: Map<string, RosterItem>,
    readonly requests: Map<string, PendingRequest>,
  ) {}

  stateOf(contact: string): SubscriptionState {
    const item = this.items.get(contact);
    return {
      subscription: item?.subscription ?? 'none',
      ask: item?.ask === true,
      pendingIn: this.requests.has(contact),
      approved: item?.approved === true,
    };
  }

  /** Stores the item; returns the new roster version. */
  async put(item: RosterItem): Promise<number> {
    this.version = await this.store.rosters.put(this.user.domain, this.user.local, item);
    this.items.set(item.jid, item);
    return this.version;
  }

  /** Removes the item; returns the new roster version. */
  async remove(contact: string): Promise<number> {
    this.version = await this.store.rosters.remove(this.user.domain, this.user.local, contact);
    this.items.delete(contact);
    return this.version;
  }

  /** Records or (with undefined) forgets the contact's pending subscription request. */
  async setRequest(contact: string, request: PendingRequest | undefined): Promise<void> {
    if (request === undefined && !this.requests.has(contact)) return;
    await this.store.kv.set(this.user.domain, this.user.local, REQUESTS_STORE, request, contact);
    if (request) this.requests.set(contact, request);
    else this.requests.delete(contact);
  }
}

interface Entry {
  roster: Promise<UserRoster>;
  /** Settles when the last queued task has finished. */
  tail: Promise<void>;
  queued: number;
}

export class RosterCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly store: Store, private readonly sessions: SessionManager) {}

  /** Runs `task` on the user's roster once the tasks queued before it on that roster are done. */
  use<T>(user: Jid, task: (roster: UserRoster) => T | Promise<T>): Promise<T> {
    const entry = this.entryFor(user.bare);
    entry.queued++;
    const run = entry.tail.then(async () => task(await entry.roster));
    entry.tail = run.then(noop, noop).then(() => {
      entry.queued--;
      this.release(user);
    });
    return run;
  }

  /** Forgets the user's roster once the user has no session left and nothing is queued on it. */
  private release(user: Jid): void {
    const entry = this.entries.get(user.bareString);
    if (entry && entry.queued === 0 && this.sessions.resourceCount(user.bare) === 0) this.entries.delete(user.bareString);
  }

  private entryFor(user: Jid): Entry {
    const existing = this.entries.get(user.bareString);
    if (existing) return existing;
    const entry: Entry = { roster: this.load(user), tail: Promise.resolve(), queued: 0 };
    // A failed load is not cached: the next task tries again.
    entry.roster.catch(() => {
      if (this.entries.get(user.bareString) === entry) this.entries.delete(user.bareString);
    });
    this.entries.set(user.bareString, entry);
    return entry;
  }

  private async load(user: Jid): Promise<UserRoster> {
    const { domain, local } = user;
    const [roster, requests] = await Promise.all([
      this.store.rosters.get(domain, local),
      this.store.kv.entries<PendingRequest>(domain, local, REQUESTS_STORE),
    ]);
    return new UserRoster(this.store, user, roster.version, new Map(roster.items.map((i) => [i.jid, i])), new Map(requests));
  }
}

function noop(): void {}

const caches = new WeakMap<SessionManager, RosterCache>();

/** The roster cache of the server a module runs in (shared by the roster and presence modules). */
export function rosterCache(ctx: ModuleContext): RosterCache {
  let cache = caches.get(ctx.sessions);
  if (!cache) {
    cache = new RosterCache(ctx.store, ctx.sessions);
    caches.set(ctx.sessions, cache);
  }
  return cache;
}
