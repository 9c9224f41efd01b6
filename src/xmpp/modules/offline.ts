// Offline messages (XEP-0160): chat and normal messages for a user with no available
// resource are stored with a delay stamp (XEP-0203) and delivered, oldest first, to the
// first resource that sends initial presence with a non-negative priority.
import { clone } from 'ltx';
import type { ClientSession } from '../c2s/session.js';
import type { ModuleContext, StanzaEvent, XmppModule } from '../module.js';
import { NS, type Element } from '../xml.js';

const NS_HINTS = 'urn:xmpp:hints';
/** Namespaces of children that carry nothing to read later on their own. */
const INCIDENTAL = new Set(['http://jabber.org/protocol/chatstates', NS_HINTS, 'urn:xmpp:sid:0']);

/** `notify/offline-message`: a message was stored, with its storage stamp. */
export interface OfflineStoredEvent extends StanzaEvent {
  stamp: number;
}

export const offlineModule: XmppModule = {
  name: 'offline',
  load(ctx: ModuleContext) {
    ctx.feature('msgoffline', 'host');
    /** Users whose messages are being delivered: two resources coming online together get one copy. */
    const delivering = new Set<string>();

    ctx.on('message/offline', (event) => store(ctx, event));

    ctx.on('presence/initial', (event) => {
      const session = event.session!;
      const user = session.jid!.bareString;
      if (session.priority < 0 || delivering.has(user)) return false;
      delivering.add(user);
      return deliver(ctx, session)
        .catch((err: unknown) => ctx.log.error({ err, user }, 'offline delivery failed'))
        .then(() => {
          delivering.delete(user);
          return false;
        });
    });
  },
};

/**
 * True once the message is stored, or deliberately dropped: standalone chat states are not
 * worth an error (XEP-0085 §5.5). False leaves the sender a <service-unavailable/>, which
 * RFC 6121 §8.5.2.2.1 and XEP-0160 §3 prescribe when the message is not stored, including a
 * full quota: <resource-constraint/> would tell the sender that the account exists and is
 * offline, which service-unavailable does not (it is also the answer for unknown users).
 */
async function store(ctx: ModuleContext, event: StanzaEvent): Promise<boolean> {
  const { stanza, to } = event;
  const type = stanza.attrs.type ?? 'normal';
  if ((type !== 'chat' && type !== 'normal') || stanza.getChild('no-store', NS_HINTS)) return false;
  if (!stanza.getChild('store', NS_HINTS) && !hasContent(stanza)) return true;

  const stamp = Date.now();
  const stored = clone(stanza);
  stored.c('delay', { xmlns: NS.delay, from: to.domain, stamp: new Date(stamp).toISOString() }).t('Offline Storage');
  const quota = ctx.hostConfig(to.domain)?.offline_quota ?? 0;
  if (!await ctx.store.offline.push(to.domain, to.local, stored.toString(), stamp, quota)) return false;

  const notified = ctx.fire<OfflineStoredEvent>('notify/offline-message', { ...event, stamp });
  if (notified instanceof Promise) notified.catch((err: unknown) => ctx.log.error({ err }, 'offline notification failed'));
  return true;
}

/** A body, a subject or any payload other than chat states, hints, ids and the thread. */
function hasContent(stanza: Element): boolean {
  return stanza.getChildElements().some((child) =>
    child.name !== 'thread' && !INCIDENTAL.has(child.attrs.xmlns ?? ''));
}

/** Sends the stored messages to the session; only those written to it are removed. */
async function deliver(ctx: ModuleContext, session: ClientSession): Promise<void> {
  const { domain, local } = session.jid!;
  const messages = await ctx.store.offline.list(domain, local);
  const sent: number[] = [];
  for (const message of messages) {
    if (session.closed) break;
    session.send(message.stanza);
    sent.push(message.id);
  }
  if (sent.length > 0) await ctx.store.offline.remove(domain, local, sent);
}
