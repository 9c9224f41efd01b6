// Connects the XMPP layer's events to the offline notification policy: a message stored
// offline is handed over, and a user coming online (with offline delivery) cancels digests.
import type { OfflineNotifier } from '../core/offline-notifications.js';
import type { SessionEvent } from './module.js';
import type { OfflineStoredEvent } from './modules/offline.js';
import type { XmppServer } from './server.js';

export function connectNotifier(xmpp: XmppServer, notifier: OfflineNotifier): void {
  xmpp.hooks.on('notify/offline-message', (raw) => {
    const { stanza, from, to, stamp } = raw as OfflineStoredEvent;
    const thread = stanza.getChildText('thread');
    notifier.messageStored({
      from, to, stamp,
      type: stanza.attrs.type ?? 'normal',
      body: stanza.getChildText('body') ?? undefined,
      ...(thread ? { thread } : {}),
    }).catch((err: unknown) => xmpp.log.error({ err, user: to.bareString }, 'scheduling the offline notification failed'));
    return false;
  });
  xmpp.hooks.on('presence/initial', (raw) => {
    const { session } = raw as SessionEvent;
    // Negative priority gets no offline messages (XEP-0160), so nothing was read.
    if (session.priority >= 0) {
      notifier.userOnline(session.jid!).catch((err: unknown) => xmpp.log.error({ err }, 'cancelling offline notifications failed'));
    }
    return false;
  }, 10);
}
