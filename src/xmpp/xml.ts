// The XML element model (ltx, as xmpp.js uses) and the namespaces the server speaks.
import { Element, createElement, escapeXML } from 'ltx';

export { Element, createElement as x, escapeXML };
export type { Attrs, Node } from 'ltx';

export const NS = {
  client: 'jabber:client',
  server: 'jabber:server',
  stream: 'http://etherx.jabber.org/streams',
  streams: 'urn:ietf:params:xml:ns:xmpp-streams',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  session: 'urn:ietf:params:xml:ns:xmpp-session',
  channelBinding: 'urn:xmpp:sasl-cb:0',
  delay: 'urn:xmpp:delay',
} as const;

/** The namespace of an element's first child element: what an iq is about. */
export function payloadOf(stanza: Element): Element | undefined {
  for (const child of stanza.children) {
    if (typeof child !== 'string') return child;
  }
  return undefined;
}
