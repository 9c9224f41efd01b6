// Small helpers the suites share: addresses on the test host, stanza error conditions, round
// trips that make sure earlier stanzas have arrived, and roster items set by the operator.
import { Jid } from '../../src/core/jid.js';
import type { Subscription } from '../../src/store/ports.js';
import type { Element } from '../../src/xmpp/xml.js';
import { xml, type TestClient } from './client.js';
import type { TestHub } from './hub.js';

const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** The bare JID of an account on the test host. */
export const bare = (name: string): string => `${name}@localhost`;

/** The defined condition of a stanza's <error/> (RFC 6120 §8.3.3), if it has one. */
export function stanzaErrorCondition(el: Element): string | undefined {
  return el.getChild('error')?.getChildElements().find((c) => c.attrs.xmlns === STANZAS && c.name !== 'text')?.name;
}

/** A round trip to the server: everything sent to the client before it has arrived. */
export function sync(client: TestClient): Promise<Element> {
  return client.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

let flushes = 0;

/** Resolves once `to` has received everything `from`'s earlier stanzas made the server send it. */
export async function flush(from: TestClient, to: TestClient): Promise<void> {
  const id = `flush-${++flushes}`;
  await from.send(xml('message', { to: to.jid, id, type: 'chat' }, xml('body', {}, 'flush')));
  await to.waitFor((el) => el.attrs.id === id);
}

/** Stores a roster item of `user` for `contact` (both on the test host) through the admin hook. */
export async function setRosterItem(hub: TestHub, user: string, contact: string, subscription: Subscription): Promise<void> {
  const item = { jid: bare(contact), subscription, groups: [] };
  await hub.hub.xmpp.hooks.fire('roster/admin-set', { user: Jid.parse(bare(user)), item });
}

/** Makes `a` and `b` subscribed to each other's presence, through the admin hook. */
export async function subscribeMutually(hub: TestHub, a: string, b: string): Promise<void> {
  await setRosterItem(hub, a, b, 'both');
  await setRosterItem(hub, b, a, 'both');
}
