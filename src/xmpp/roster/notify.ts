// What the roster and presence modules both send: roster items and pushes (RFC 6121 §2.1.6),
// and the presence of a user's available resources to one contact, unless the user blocks it.
import { randomBytes } from 'node:crypto';
import type { Jid } from '../../core/jid.js';
import type { RosterItem } from '../../store/ports.js';
import type { ModuleContext } from '../module.js';
import { Element } from '../xml.js';

export const NS_ROSTER = 'jabber:iq:roster';

/** A roster item, or the removal of one in a push. */
export type PushedItem = RosterItem | { jid: string; subscription: 'remove' };

export function itemElement(item: PushedItem): Element {
  const el = new Element('item', { jid: item.jid, subscription: item.subscription });
  if (item.subscription === 'remove') return el;
  if (item.name !== undefined) el.attrs.name = item.name;
  if (item.ask) el.attrs.ask = 'subscribe';
  if (item.approved) el.attrs.approved = 'true';
  for (const group of item.groups) el.c('group').t(group);
  return el;
}

/** Sends a roster push to every resource of the user that requested the roster. */
export function pushItem(ctx: ModuleContext, user: Jid, item: PushedItem, version: string): void {
  for (const session of ctx.sessions.resources(user)) {
    if (!session.interested) continue;
    const iq = new Element('iq', { type: 'set', id: `push-${randomBytes(6).toString('base64url')}`, from: user.bareString, to: session.jid!.toString() });
    iq.c('query', { xmlns: NS_ROSTER, ver: version }).cnode(itemElement(item));
    session.send(iq);
  }
}

/** A copy of a stanza with new addresses; the child nodes are shared, not copied. */
export function readdressed(stanza: Element, from: string, to: string): Element {
  const copy = new Element(stanza.name, { ...stanza.attrs, from, to });
  copy.children = [...stanza.children];
  return copy;
}

/**
 * Asks the blocking module whether the local user blocks the contact (false when no module
 * answers). Synchronous when the answer is known (online users), so fan-out does not wait.
 */
export function isBlocked(ctx: ModuleContext, user: Jid, contact: Jid): boolean | Promise<boolean> {
  return ctx.fire('privacy/blocked', { user: user.bare, contact });
}

/**
 * Sends the current presence of each of the user's available resources to `to` (unless the
 * user blocks `to`), or their unavailability.
 */
export async function sendResourcesPresence(ctx: ModuleContext, user: Jid, to: Jid, unavailable = false): Promise<void> {
  if (!unavailable && await isBlocked(ctx, user, to)) return;
  for (const session of ctx.sessions.available(user)) {
    const from = session.jid!;
    const stanza = unavailable
      ? new Element('presence', { type: 'unavailable', from: from.toString(), to: to.toString() })
      : readdressed(session.presence!, from.toString(), to.toString());
    ctx.routeFrom(from, to, stanza);
  }
}
