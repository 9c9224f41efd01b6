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

  all(): IterableIterator<ClientSession> {
    return allSessions(this.byAccount);
  }
}

function* allSessions(byAccount: Map<string, Map<string, ClientSession>>): IterableIterator<ClientSession> {
  for (const resources of byAccount.values()) yield* resources.values();
}
