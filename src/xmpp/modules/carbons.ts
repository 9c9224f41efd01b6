// Message Carbons (XEP-0280): a resource that enabled carbons gets a copy of the user's
// instant messages that other resources sent (<sent/>) or received (<received/>), so every
// device shows both sides of each conversation.
import { clone } from 'ltx';
import type { Jid } from '../../core/jid.js';
import type { ClientSession } from '../c2s/session.js';
import { StanzaError } from '../errors.js';
import type { ModuleContext, SessionEvent, StanzaEvent, XmppModule } from '../module.js';
import { Element, NS as XMPP_NS } from '../xml.js';

const NS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_HINTS = 'urn:xmpp:hints';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

export const carbonsModule: XmppModule = {
  name: 'carbons',
  load(ctx: ModuleContext) {
    ctx.feature(NS, 'host');
    const enabled = new WeakSet<ClientSession>();
    // Enabled resources per account, so messages of users without carbons cost one lookup.
    const perAccount = new Map<string, number>();
    const count = (user: Jid): number => perAccount.get(user.bareString) ?? 0;
    const setEnabled = (session: ClientSession, on: boolean): void => {
      if (enabled.has(session) === on) return;
      const key = session.jid!.bareString;
      const next = count(session.jid!) + (on ? 1 : -1);
      if (on) enabled.add(session);
      else enabled.delete(session);
      if (next > 0) perAccount.set(key, next);
      else perAccount.delete(key);
    };

    ctx.onIq('set', 'bare', NS, (event) => {
      const session = ctx.session(event.from);
      if (!session || !event.from.bare.equals(event.to)) throw new StanzaError('not-allowed');
      if (event.payload.name === 'enable') setEnabled(session, true);
      else if (event.payload.name === 'disable') setEnabled(session, false);
      else throw new StanzaError('bad-request');
    });
    ctx.on<SessionEvent>('session/closed', ({ session }) => setEnabled(session, false));

    /** Copies to the user's enabled resources, except those in `skip`. */
    const copy = (user: Jid, direction: 'sent' | 'received', stanza: Element, skip: Set<ClientSession>): void => {
      // One forwarded copy serves every carbon: each is serialized as it is sent.
      let forwarded: Element | undefined;
      for (const session of ctx.sessions.resources(user)) {
        if (!enabled.has(session) || skip.has(session)) continue;
        forwarded ??= forwardedCopy(stanza);
        const to = session.jid!;
        const carbon = new Element('message', { from: to.bareString, to: to.toString(), type: stanza.attrs.type });
        carbon.c(direction, { xmlns: NS }).cnode(forwarded);
        session.send(carbon);
      }
    };

    // Runs before the message module (priority 0) delivers; the resources that will get the
    // message itself are worked out with the same RFC 6121 rules and get no copy (§7).
    // Messages from a MUC, private ones included, are mirrored by the room itself.
    const inbound = (event: StanzaEvent): false => {
      const { stanza, from, to } = event;
      if (count(to) > 0 && eligible(stanza) && !stanza.getChild('x', NS_MUC_USER) && !from.bare.equals(to.bare)) {
        copy(to.bare, 'received', stanza, directRecipients(ctx, to));
      }
      // §8: the recipient's server should remove the marker before delivery.
      if (stanza.getChild('private', NS)) stanza.remove('private', NS);
      return false;
    };
    ctx.on('message/full', inbound, 50);
    ctx.on('message/bare', inbound, 50);

    ctx.on('outbound/message', (event) => {
      const { stanza, from, to, session } = event;
      if (count(from) > 0 && eligible(stanza) && !from.bare.equals(to.bare)) copy(from.bare, 'sent', stanza, new Set([session!]));
      return false;
    }, 50);
  },
};

/** §6: chat messages and normal ones with a body, unless marked private (§8, XEP-0334 <no-copy/>). */
function eligible(stanza: Element): boolean {
  const type = stanza.attrs.type ?? 'normal';
  if (type !== 'chat' && !(type === 'normal' && stanza.getChild('body'))) return false;
  return !stanza.getChild('private', NS) && !stanza.getChild('no-copy', NS_HINTS);
}

function forwardedCopy(stanza: Element): Element {
  const original = clone(stanza);
  // Inside <forwarded/> the default namespace is no longer jabber:client.
  original.attrs.xmlns = XMPP_NS.client;
  const forwarded = new Element('forwarded', { xmlns: NS_FORWARD });
  forwarded.cnode(original);
  return forwarded;
}

/** Who the message module hands the message to: the bound full JID, else the bare-JID rule. */
function directRecipients(ctx: ModuleContext, to: Jid): Set<ClientSession> {
  const addressed = to.resource ? ctx.session(to) : undefined;
  return new Set(addressed?.bound ? [addressed] : ctx.sessions.highestPriority(to.bare));
}
