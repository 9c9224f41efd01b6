// Blocking Command (XEP-0191): each user's list of blocked addresses, with pushes to the
// resources that asked for it. Stanzas between a user and an address they block are stopped
// in both directions, whether the user is online or not; other modules ask through the
// `privacy/blocked` event.
import { randomBytes } from 'node:crypto';
import { Jid, JidError } from '../../core/jid.js';
import type { ClientSession } from '../c2s/session.js';
import { StanzaError, errorReply } from '../errors.js';
import type { IqEvent, ModuleContext, SessionEvent, StanzaEvent, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'urn:xmpp:blocking';
const NS_ERRORS = 'urn:xmpp:blocking:errors';
const STORE = 'blocklist';

interface BlockedQuery {
  /** A local user's bare JID. */
  user: Jid;
  contact: Jid;
}

export const blockingModule: XmppModule = {
  name: 'blocking',
  load(ctx: ModuleContext) {
    ctx.feature(NS, 'host');
    const lists = new Blocklists(ctx);
    /** Resources that retrieved the list and so get pushes (§3.3). */
    const requested = new WeakSet<ClientSession>();

    /** Whether `user` blocks `contact`; never their own account or server, whatever the list says. */
    const isBlocked = (user: Jid, contact: Jid): boolean | Promise<boolean> => {
      if (contact.bareString === user.bareString || contact.toString() === user.domain) return false;
      return settle(lists.get(user), (list) => matches(list, contact));
    };

    ctx.on<BlockedQuery>('privacy/blocked', ({ user, contact }) => isBlocked(user.bare, contact));

    ctx.onIq('get', 'bare', NS, async (event) => {
      const session = ownSession(ctx, event);
      if (event.payload.name !== 'blocklist') throw new StanzaError('bad-request');
      requested.add(session);
      const result = new Element('blocklist', { xmlns: NS });
      for (const jid of await lists.get(event.to)) result.c('item', { jid });
      return result;
    });

    ctx.onIq('set', 'bare', NS, async (event) => {
      ownSession(ctx, event);
      const user = event.to;
      const { name } = event.payload;
      if (name !== 'block' && name !== 'unblock') throw new StanzaError('bad-request');
      const items = parseItems(event.payload);
      const list = await lists.get(user);
      let changed: string[];
      if (name === 'block') {
        if (items.length === 0) throw new StanzaError('bad-request', 'nothing to block');
        changed = items.filter((jid) => !list.has(jid));
        for (const jid of changed) list.add(jid);
      } else {
        changed = items.length === 0 ? [...list] : items.filter((jid) => list.has(jid));
        for (const jid of changed) list.delete(jid);
      }
      await lists.save(user, list);
      for (const session of ctx.sessions.resources(user)) {
        if (requested.has(session)) session.send(push(session, name, items));
      }
      await announce(ctx, user, changed, list, name === 'block');
    });

    // Inbound (§3.3): presence is dropped without a word, messages and iq requests get the
    // error a user who is offline would produce, so the contact learns nothing.
    const inbound = (event: StanzaEvent): boolean | Promise<boolean> => settle(isBlocked(event.to.bare, event.from), (blocked) => {
      if (blocked && event.stanza.name !== 'presence') ctx.bounce(event, new StanzaError('service-unavailable'));
      return blocked;
    });
    for (const event of ['message/bare', 'message/full', 'presence/bare', 'presence/full', 'iq/full']) ctx.on(event, inbound, 100);

    // Outbound: not routed; the user's client is told why, except for presence and answers.
    const outbound = (event: StanzaEvent): boolean | Promise<boolean> => settle(isBlocked(event.from.bare, event.to), (blocked) => {
      if (blocked) refuseOutbound(event);
      return blocked;
    });
    for (const kind of ['message', 'iq', 'presence']) ctx.on(`outbound/${kind}`, outbound, 100);

    ctx.on<SessionEvent>('session/closed', ({ session }) => {
      lists.release(session.jid!.bare);
      return false;
    });
  },
};

/** Blocklists as sets of prepared JID strings, kept in memory while their user is online. */
class Blocklists {
  private readonly cached = new Map<string, Set<string>>();
  private readonly loading = new Map<string, Promise<Set<string>>>();

  constructor(private readonly ctx: ModuleContext) {}

  /** Synchronous for online users once loaded; offline users' lists are read each time. */
  get(user: Jid): Set<string> | Promise<Set<string>> {
    const key = user.bareString;
    const cached = this.cached.get(key);
    if (cached) return cached;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.ctx.store.kv.get<string[]>(user.domain, user.local, STORE).then((items) => {
        const list = new Set(items ?? []);
        if (this.ctx.sessions.resourceCount(user) > 0) this.cached.set(key, list);
        return list;
      }).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  save(user: Jid, list: Set<string>): Promise<void> {
    return this.ctx.store.kv.set(user.domain, user.local, STORE, list.size > 0 ? [...list] : undefined);
  }

  release(user: Jid): void {
    if (this.ctx.sessions.resourceCount(user) === 0) this.cached.delete(user.bareString);
  }
}

/** XEP-0191 §3.4 (the XEP-0016 order): full JID, bare JID, domain/resource, domain or a parent domain. */
function matches(list: Set<string>, jid: Jid): boolean {
  if (list.size === 0) return false;
  if (list.has(jid.toString()) || list.has(jid.bareString)) return true;
  if (jid.resource && list.has(`${jid.domain}/${jid.resource}`)) return true;
  for (let domain = jid.domain; ; domain = domain.slice(domain.indexOf('.') + 1)) {
    if (list.has(domain)) return true;
    if (!domain.includes('.')) return false;
  }
}

/** Applies `then` to a value that may still be pending, synchronously when it is not (the hot path). */
function settle<T, R>(value: T | Promise<T>, then: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}

function ownSession(ctx: ModuleContext, event: IqEvent): ClientSession {
  const session = ctx.session(event.from);
  if (!session || !event.from.bare.equals(event.to)) throw new StanzaError('service-unavailable');
  return session;
}

function parseItems(payload: Element): string[] {
  return payload.getChildren('item').map((item) => {
    try {
      return Jid.parse(item.attrs.jid ?? '').toString();
    } catch (err) {
      if (err instanceof JidError) throw new StanzaError('jid-malformed', `invalid JID: ${item.attrs.jid ?? ''}`);
      throw err;
    }
  });
}

function push(session: ClientSession, name: string, items: string[]): Element {
  const iq = new Element('iq', { type: 'set', id: `push-${randomBytes(6).toString('base64url')}`, to: session.jid!.toString() });
  const change = iq.c(name, { xmlns: NS });
  for (const jid of items) change.c('item', { jid });
  return iq;
}

/**
 * §3.3 and §3.4: contacts allowed to see the user's presence (subscription "from" or "both")
 * get unavailable presence from each available resource when blocked, and its current
 * presence when unblocked (unless another entry still blocks them).
 */
async function announce(ctx: ModuleContext, user: Jid, changed: string[], list: Set<string>, blocked: boolean): Promise<void> {
  if (changed.length === 0) return;
  const available = ctx.sessions.available(user);
  if (available.length === 0) return;
  const roster = await ctx.store.rosters.get(user.domain, user.local);
  const subscribers = roster.items.filter((item) => item.subscription === 'from' || item.subscription === 'both')
    .map((item) => Jid.parse(item.jid));
  const entries = new Set(changed);
  const targets = new Map<string, Jid>();
  for (const contact of subscribers) if (matches(entries, contact)) targets.set(contact.toString(), contact);
  // An entry for one resource of a contact concerns that resource only.
  for (const entry of changed.map((jid) => Jid.parse(jid))) {
    if (entry.local && entry.resource && subscribers.some((contact) => contact.equals(entry.bare))) targets.set(entry.toString(), entry);
  }
  for (const target of targets.values()) {
    if (!blocked && matches(list, target)) continue;
    for (const session of available) {
      const from = session.jid!;
      const presence = new Element('presence', { from: from.toString(), to: target.toString() });
      if (blocked) presence.attrs.type = 'unavailable';
      else presence.children = session.presence!.children;
      ctx.routeFrom(from, target, presence);
    }
  }
}

function refuseOutbound(event: StanzaEvent): void {
  const { stanza, session } = event;
  const type = stanza.attrs.type;
  if (stanza.name === 'presence' || type === 'error' || type === 'result') return;
  const error = errorReply(stanza, { type: 'cancel', condition: 'not-acceptable' }, new Element('blocked', { xmlns: NS_ERRORS }));
  session!.send(error);
}
