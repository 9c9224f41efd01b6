// Presence (RFC 6121 §4) and presence subscriptions (§3, Appendix A, pre-approvals §3.4).
// Broadcast presence goes to the contacts subscribed to the user and to the user's own
// resources; initial presence also probes the contacts the user is subscribed to and
// re-delivers pending subscription requests. Directed presence is remembered so that
// going unavailable (or losing the connection) reaches its recipients too. Everything a
// user does runs through the roster cache's per-user queue, so a user's presence changes
// and subscription changes happen one at a time and in order.
// Members of shared roster groups exchange presence as if subscribed (roster/shared.ts): a
// user's presence goes to everyone who sees the user through a group, probes go to everyone
// the user sees, and a subscription request from someone who already sees the user is
// approved at once.
import { parse } from 'ltx';
import { Jid } from '../../core/jid.js';
import type { RosterItem } from '../../store/ports.js';
import type { ClientSession } from '../c2s/session.js';
import { StanzaError } from '../errors.js';
import type { ModuleContext, SessionEvent, StanzaEvent, XmppModule } from '../module.js';
import { rosterCache, type PendingRequest, type RosterCache, type UserRoster } from '../roster/cache.js';
import { isBlocked, readdressed, sendResourcesPresence } from '../roster/notify.js';
import { sharedRoster, type SharedRoster } from '../roster/shared.js';
import {
  hasFrom, hasTo, inbound, isSubscriptionStanza, outbound, type SubscriptionStanza, type SubscriptionState,
} from '../roster/subscription.js';
import { Element, NS } from '../xml.js';

const NS_PREAPPROVAL = 'urn:xmpp:features:pre-approval';
/** KeyValueStore name of a user's last unavailable presence, the answer to probes while offline (§4.3.2). */
const LAST_PRESENCE_STORE = 'last-presence';

interface LastPresence {
  stanza: string;
  stamp: number;
}

export const presenceModule: XmppModule = {
  name: 'presence',
  load(ctx: ModuleContext) {
    const presence = new PresenceService(ctx, rosterCache(ctx), sharedRoster(ctx));
    ctx.streamFeature('post-auth', () => new Element('sub', { xmlns: NS_PREAPPROVAL }));
    ctx.on('outbound/presence', (event) => presence.fromClient(event));
    ctx.on('presence/bare', (event) => presence.toUser(event, false));
    ctx.on('presence/full', (event) => presence.toUser(event, true));
    ctx.on<SessionEvent>('session/closed', ({ session }) => presence.closed(session));
  },
};

class PresenceService {
  /** Where each session sent directed available presence (§4.6), by the recipient's JID string. */
  private readonly directed = new WeakMap<ClientSession, Map<string, Jid>>();

  constructor(private readonly ctx: ModuleContext, private readonly cache: RosterCache, private readonly shared: SharedRoster) {}

  // --- from the user's own clients -------------------------------------------------------

  fromClient(event: StanzaEvent): boolean | Promise<boolean> {
    const { stanza, session } = event;
    if (!session) return false;
    const type = stanza.attrs.type;
    if (isSubscriptionStanza(type)) return this.outboundSubscription(event, type).then(() => true);
    // Probes and errors are routed as they are.
    if (type === 'probe' || type === 'error') return false;
    if (type !== undefined && type !== 'unavailable') {
      this.ctx.bounce(event, new StanzaError('bad-request', `unknown presence type "${type}"`));
      return true;
    }
    if (stanza.attrs.to !== undefined) {
      this.directedPresence(session, event);
      return false;
    }
    return this.broadcast(session, stanza).then(() => true);
  }

  /** Remembers directed presence recipients; the server then routes the stanza (§4.6.2). */
  private directedPresence(session: ClientSession, { stanza, to }: StanzaEvent): void {
    let targets = this.directed.get(session);
    if (!targets) {
      targets = new Map();
      this.directed.set(session, targets);
    }
    if (stanza.attrs.type === 'unavailable') targets.delete(to.toString());
    else targets.set(to.toString(), to);
  }

  private async broadcast(session: ClientSession, stanza: Element): Promise<void> {
    const user = session.jid!.bare;
    const initial = await this.cache.use(user, (roster) => {
      if (session.closed) return false;
      if (stanza.attrs.type === 'unavailable') return this.unavailable(session, roster, stanza).then(() => false);
      return this.available(session, roster, stanza);
    });
    if (initial && !session.closed) {
      await this.ctx.fire('presence/initial', { stanza, from: session.jid!, to: user, session } satisfies StanzaEvent);
    }
  }

  /** Available presence: initial (§4.2.2) or subsequent (§4.4.2). True when it was initial. */
  private async available(session: ClientSession, roster: UserRoster, stanza: Element): Promise<boolean> {
    const initial = session.presence === null;
    session.presence = stanza;
    session.priority = priorityOf(stanza);
    const user = roster.user;
    await this.toSubscribers(session.jid!, roster, stanza);
    for (const other of this.ctx.sessions.resources(user)) if (other.presence) other.send(stanza);
    if (!initial) return false;
    for (const contact of await this.probed(roster)) {
      this.ctx.routeFrom(user, contact, new Element('presence', { type: 'probe', from: user.bareString, to: contact.toString() }));
    }
    const full = session.jid!.toString();
    for (const other of this.ctx.sessions.available(user)) {
      if (other !== session) session.send(readdressed(other.presence!, other.jid!.toString(), full));
    }
    await this.redeliverRequests(session, roster);
    return true;
  }

  /**
   * Unavailable presence (§4.5.2), from the client or for a lost connection: to the
   * subscribers if the session was available, to the user's other available resources,
   * and to every directed presence recipient the broadcast did not reach.
   */
  private async unavailable(session: ClientSession, roster: UserRoster, stanza: Element): Promise<void> {
    const user = roster.user;
    const wasAvailable = session.presence !== null;
    session.presence = null;
    let reached = new Set<string>();
    if (wasAvailable) {
      reached = await this.toSubscribers(session.jid!, roster, stanza);
      for (const other of this.ctx.sessions.resources(user)) if (other.presence || other === session) other.send(stanza);
    }
    const from = session.jid!;
    for (const target of this.directed.get(session)?.values() ?? []) {
      if (!reached.has(target.bareString)) this.ctx.routeFrom(from, target, readdressed(stanza, from.toString(), target.toString()));
    }
    this.directed.delete(session);
    if (wasAvailable && this.ctx.sessions.available(user).length === 0) {
      const last: LastPresence = { stanza: stanza.toString(), stamp: Date.now() };
      await this.ctx.store.kv.set(user.domain, user.local, LAST_PRESENCE_STORE, last);
    }
  }

  /**
   * The contacts whose presence the user receives: those it subscribed to, and those it sees
   * through shared groups (except local users who are offline: they have no presence to give).
   */
  private async probed(roster: UserRoster): Promise<Jid[]> {
    const result = contacts(roster, (item) => hasTo(item.subscription));
    const personal = new Set(result.map((jid) => jid.bareString));
    const membership = await this.shared.membership();
    for (const contact of membership.contactsOf(roster.user.bareString).keys()) {
      if (!personal.has(contact)) this.addOnline(result, contact);
    }
    return result;
  }

  /** The contacts who receive the user's presence: its subscribers, and those who see it through shared groups. */
  private async subscribers(roster: UserRoster): Promise<Jid[]> {
    const result = contacts(roster, (item) => hasFrom(item.subscription));
    const personal = new Set(result.map((jid) => jid.bareString));
    const membership = await this.shared.membership();
    for (const watcher of membership.watchersOf(roster.user.bareString)) {
      if (!personal.has(watcher)) this.addOnline(result, watcher);
    }
    return result;
  }

  /** Adds the contact unless it is a local user without a session (a shared group may list thousands). */
  private addOnline(list: Jid[], contact: string): void {
    const jid = Jid.parse(contact);
    if (this.ctx.isLocalHost(jid.domain) && this.ctx.sessions.resourceCount(jid) === 0) return;
    list.push(jid);
  }

  /** Sends presence to each contact subscribed to the user and not blocked; returns their bare JIDs. */
  private async toSubscribers(from: Jid, roster: UserRoster, stanza: Element): Promise<Set<string>> {
    const reached = new Set<string>();
    for (const contact of await this.subscribers(roster)) {
      const blocked = isBlocked(this.ctx, roster.user, contact);
      if (blocked instanceof Promise ? await blocked : blocked) continue;
      this.ctx.routeFrom(from, contact, readdressed(stanza, from.toString(), contact.toString()));
      reached.add(contact.bareString);
    }
    return reached;
  }

  /** Subscription requests that arrived while the user was away (§3.1.3), to the new resource. */
  private async redeliverRequests(session: ClientSession, roster: UserRoster): Promise<void> {
    for (const [contact, request] of roster.requests) {
      if (await isBlocked(this.ctx, roster.user, Jid.parse(contact))) continue;
      session.send(delayed(parse(request.stanza), request.stamp, roster.user.domain));
    }
  }

  closed(session: ClientSession): Promise<void> {
    const user = session.jid!;
    const unavailable = new Element('presence', { type: 'unavailable', from: user.toString() });
    return this.cache.use(user, (roster) => this.unavailable(session, roster, unavailable));
  }

  // --- subscriptions ---------------------------------------------------------------------

  /** A subscription stanza from the user: stamped with the bare JIDs (§3.1.2) and applied. */
  private outboundSubscription({ stanza, from, to }: StanzaEvent, type: SubscriptionStanza): Promise<void> {
    const user = from.bare;
    const contact = to.bare;
    stanza.attrs.from = user.toString();
    stanza.attrs.to = contact.toString();
    return this.cache.use(user, async (roster) => {
      const before = roster.stateOf(contact.bareString);
      const { state, forward } = outbound(before, type);
      await this.applyState(roster, contact, before, state);
      if (forward) this.ctx.routeFrom(user, contact, stanza);
      await this.presenceAfter(roster, contact, before, state);
    });
  }

  /** A subscription stanza from a contact to a local user (§3.1.3, §3.1.6, §3.2.3, §3.3.3, §3.4.2). */
  private inboundSubscription({ stanza, from, to }: StanzaEvent, type: SubscriptionStanza): Promise<void> {
    const user = to.bare;
    const contact = from.bare;
    stanza.attrs.from = contact.toString();
    stanza.attrs.to = user.toString();
    return this.cache.use(user, async (roster) => {
      if (type === 'subscribe' && !await this.exists(user)) {
        this.ctx.routeFrom(user, contact, new Element('presence', { type: 'unsubscribed', from: user.bareString, to: contact.bareString }));
        return;
      }
      const before = roster.stateOf(contact.bareString);
      // Someone who sees the user through a shared group is approved in advance.
      const approved = type === 'subscribe' && await this.shared.isWatcher(roster, contact.bareString);
      const { state, forward, autoReply } = inbound(approved ? { ...before, approved: true } : before, type);
      await this.applyState(roster, contact, before, state, { stanza: stanza.toString(), stamp: Date.now() });
      if (forward) {
        // Requests go to available resources (and wait for the others); answers to interested ones too.
        const recipients = this.ctx.sessions.resources(user);
        for (const session of recipients) if (session.presence || (type !== 'subscribe' && session.interested)) session.send(stanza);
      }
      if (autoReply) {
        this.ctx.routeFrom(user, contact, new Element('presence', { type: 'subscribed', from: user.bareString, to: contact.bareString }));
      }
      await this.presenceAfter(roster, contact, before, state);
    });
  }

  /** Stores a changed state: the pending request, and the roster item with a push. */
  private async applyState(
    roster: UserRoster, contact: Jid, before: SubscriptionState, after: SubscriptionState, request?: PendingRequest,
  ): Promise<void> {
    const key = contact.bareString;
    if (after.pendingIn !== before.pendingIn) await roster.setRequest(key, after.pendingIn ? request : undefined);
    if (after.subscription === before.subscription && after.ask === before.ask && after.approved === before.approved) return;
    const existing = roster.items.get(key);
    const item: RosterItem = { jid: key, subscription: after.subscription, groups: existing?.groups ?? [] };
    if (existing?.name !== undefined) item.name = existing.name;
    if (after.ask) item.ask = true;
    if (after.approved) item.approved = true;
    await roster.put(item);
    await this.shared.push(roster, key);
  }

  /**
   * A new subscriber gets the user's current presence (§3.1.5); a former one, unavailable
   * (§3.2.2); unless the contact sees the user through a shared group all along.
   */
  private async presenceAfter(roster: UserRoster, contact: Jid, before: SubscriptionState, after: SubscriptionState): Promise<void> {
    const had = hasFrom(before.subscription);
    const has = hasFrom(after.subscription);
    if (had === has || await this.shared.isWatcher(roster, contact.bareString)) return;
    await sendResourcesPresence(this.ctx, roster.user, contact, had);
  }

  private async exists(user: Jid): Promise<boolean> {
    return this.ctx.sessions.resourceCount(user) > 0 || this.ctx.directory.userExists(user.domain, user.local);
  }

  // --- to local users ----------------------------------------------------------------------

  /** Presence addressed to a local user's bare or full JID (§4.5.2, §8.5). */
  async toUser(event: StanzaEvent, toFull: boolean): Promise<boolean> {
    const { stanza, from, to } = event;
    if (await isBlocked(this.ctx, to.bare, from)) return true;
    const type = stanza.attrs.type;
    if (isSubscriptionStanza(type)) await this.inboundSubscription(event, type);
    else if (type === 'probe') await this.answerProbe(event);
    else if (toFull) this.ctx.session(to)?.send(stanza);
    else for (const session of this.ctx.sessions.available(to)) session.send(stanza);
    return true;
  }

  /** Subscribers get the presence of each available resource, or the last unavailable one (§4.3.2). */
  private async answerProbe({ from, to }: StanzaEvent): Promise<void> {
    const user = to.bare;
    await this.cache.use(user, async (roster) => {
      if (!hasFrom(roster.stateOf(from.bareString).subscription) && !await this.shared.isWatcher(roster, from.bareString)) {
        this.ctx.routeFrom(user, from.bare, new Element('presence', { type: 'unsubscribed', from: user.bareString, to: from.bareString }));
        return;
      }
      const available = this.ctx.sessions.available(user);
      for (const session of available) {
        this.ctx.routeFrom(session.jid!, from, readdressed(session.presence!, session.jid!.toString(), from.toString()));
      }
      if (available.length === 0) {
        const last = await this.lastPresence(user, from);
        this.ctx.routeFrom(Jid.parse(last.attrs.from!), from, last);
      }
    });
  }

  private async lastPresence(user: Jid, to: Jid): Promise<Element> {
    const last = await this.ctx.store.kv.get<LastPresence>(user.domain, user.local, LAST_PRESENCE_STORE);
    if (!last) return new Element('presence', { type: 'unavailable', from: user.bareString, to: to.toString() });
    const stanza = delayed(parse(last.stanza), last.stamp, user.domain);
    stanza.attrs.to = to.toString();
    return stanza;
  }
}

/** The roster's contacts whose item matches, as JIDs. */
function contacts(roster: UserRoster, matches: (item: RosterItem) => boolean): Jid[] {
  const result: Jid[] = [];
  for (const item of roster.items.values()) if (matches(item)) result.push(Jid.parse(item.jid));
  return result;
}

/** The <priority/> of a presence, clamped to -128..127; 0 when absent or not an integer (§4.7.2.3). */
export function priorityOf(stanza: Element): number {
  const text = stanza.getChildText('priority')?.trim();
  if (!text || !/^[+-]?\d+$/.test(text)) return 0;
  return Math.max(-128, Math.min(127, Number.parseInt(text, 10)));
}

/** Marks a stored stanza with the time it was first sent (XEP-0203). */
function delayed(stanza: Element, stamp: number, host: string): Element {
  stanza.c('delay', { xmlns: NS.delay, from: host, stamp: new Date(stamp).toISOString() });
  return stanza;
}
