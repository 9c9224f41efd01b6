// Bound client sessions by account and resource.
import type { Jid } from '../core/jid.js';
import type { ClientSession } from './c2s/session.js';

export class SessionManager {
  /** bare JID string -> resource -> session */
  private readonly byAccount = new Map<string, Map<string, ClientSession>>();
  private total = 0;

  get count(): number {
    return this.total;
  }

  /** Adds a bound session and returns the one it replaces (same full JID), if any. */
  add(session: ClientSession): ClientSession | undefined {
    const jid = session.jid!;
    let resources = this.byAccount.get(jid.bareString);
    if (!resources) {
      resources = new Map();
      this.byAccount.set(jid.bareString, resources);
    }
    const previous = resources.get(jid.resource);
    resources.set(jid.resource, session);
    if (!previous) this.total++;
    return previous;
  }

  remove(session: ClientSession): void {
    const jid = session.jid;
    if (!jid) return;
    const resources = this.byAccount.get(jid.bareString);
    if (resources?.get(jid.resource) !== session) return;
    resources.delete(jid.resource);
    this.total--;
    if (resources.size === 0) this.byAccount.delete(jid.bareString);
  }

  get(full: Jid): ClientSession | undefined {
    return this.byAccount.get(full.bareString)?.get(full.resource);
  }

  /** Every bound session of an account (empty when none). */
  resources(bare: Jid): Iterable<ClientSession> {
    return this.byAccount.get(bare.bareString)?.values() ?? [];
  }

  resourceCount(bare: Jid): number {
    return this.byAccount.get(bare.bareString)?.size ?? 0;
  }

  /** Resources that sent available presence and have not gone unavailable since. */
  available(bare: Jid): ClientSession[] {
    return this.select(bare, (session) => session.presence !== null);
  }

  /** Available resources of non-negative priority: where a headline to the bare JID goes. */
  reachable(bare: Jid): ClientSession[] {
    return this.select(bare, (session) => session.presence !== null && session.priority >= 0);
  }

  /** The reachable resource(s) of highest priority: where a chat or normal message to the bare JID goes (RFC 6121 §8.5.2.1.1). */
  highestPriority(bare: Jid): ClientSession[] {
    let best = -1;
    let result: ClientSession[] = [];
    for (const session of this.resources(bare)) {
      if (session.presence === null || session.priority < best) continue;
      if (session.priority > best) {
        best = session.priority;
        result = [];
      }
      result.push(session);
    }
    return result;
  }

  private select(bare: Jid, keep: (session: ClientSession) => boolean): ClientSession[] {
    const result: ClientSession[] = [];
    for (const session of this.resources(bare)) if (keep(session)) result.push(session);
    return result;
  }

  all(): IterableIterator<ClientSession> {
    return allSessions(this.byAccount);
  }
}

function* allSessions(byAccount: Map<string, Map<string, ClientSession>>): IterableIterator<ClientSession> {
  for (const resources of byAccount.values()) yield* resources.values();
}
