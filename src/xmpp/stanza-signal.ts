// Conversions between XMPP stanzas and hub signals.
import { Jid } from '../core/jid.js';
import { Signal, type SignalContent, type SignalKind } from '../core/signal.js';
import { errorElement, errorReply } from './errors.js';
import { Element, payloadOf } from './xml.js';

const NS_GATEWAY = 'jabber:iq:gateway';

const SUBSCRIPTION_TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'probe']);

export function signalKindOf(stanza: Element): SignalKind {
  switch (stanza.name) {
    case 'message': return 'MESSAGE';
    case 'iq': return 'INFO';
    default: return SUBSCRIPTION_TYPES.has(stanza.attrs.type ?? '') ? 'SUBSCRIBE' : 'NOTIFY';
  }
}

/** A signal carrying the stanza it was made from; its neutral content is read on demand. */
export class StanzaSignal extends Signal {
  constructor(from: Jid, to: Jid, stanza: Element) {
    super(signalKindOf(stanza), from, to, undefined, stanza);
  }

  protected override describe(): SignalContent {
    const stanza = this.stanza!;
    const { type, id } = stanza.attrs;
    const content: SignalContent = { type: type ?? defaultType(stanza.name), id };
    for (const child of stanza.children) {
      if (typeof child === 'string') continue;
      switch (child.name) {
        case 'body': content.body ??= child.getText(); break;
        case 'subject': content.subject ??= child.getText(); break;
        case 'thread': content.thread = child.getText(); break;
        case 'show': content.show = child.getText(); break;
        case 'status': content.status ??= child.getText(); break;
        case 'priority': content.priority = Number.parseInt(child.getText(), 10) || 0; break;
        case 'request': if (child.attrs.xmlns === 'urn:xmpp:receipts') content.receiptRequest = true; break;
        case 'received': if (child.attrs.xmlns === 'urn:xmpp:receipts') content.receiptFor = child.attrs.id; break;
        case 'error': content.error = describeError(child); break;
      }
    }
    if (stanza.name === 'iq') describeQuery(content, payloadOf(stanza));
    return content;
  }
}

function describeQuery(content: SignalContent, payload: Element | undefined): void {
  content.namespace = payload?.attrs.xmlns;
  if (content.namespace === NS_GATEWAY && content.type === 'set') {
    const prompt = payload!.getChildText('prompt');
    if (prompt !== null) content.gateway = { prompt };
  }
}

function defaultType(name: string): string {
  return name === 'message' ? 'normal' : name === 'presence' ? 'available' : 'get';
}

function describeError(el: Element): SignalContent['error'] {
  const condition = el.getChildElements().find((c) => c.name !== 'text')?.name ?? 'undefined-condition';
  const text = el.getChildText('text') ?? undefined;
  return { type: (el.attrs.type ?? 'cancel') as NonNullable<SignalContent['error']>['type'], condition, text };
}

/**
 * The stanza to deliver for a signal: the original one when it came from XMPP, the error
 * reply built from the original when the signal is a bounce, or one built from the neutral
 * content when a gateway made the signal.
 */
export function stanzaOf(signal: Signal): Element {
  // The hot path: XMPP to XMPP, forwarded without reading the neutral view.
  if (signal instanceof StanzaSignal) return signal.stanza!;
  const original = signal.stanza;
  if (!original) return buildStanza(signal);
  const { content } = signal;
  if (content.type !== 'error' || original.attrs.type === 'error') return original;
  return errorReply(original, content.error!);
}

function buildStanza(signal: Signal): Element {
  const c = signal.content;
  const from = signal.from.toString();
  const to = signal.to.toString();
  let el: Element;
  switch (signal.kind) {
    case 'MESSAGE':
      el = new Element('message', { from, to, type: c.type, id: c.id });
      if (c.subject !== undefined) el.c('subject').t(c.subject);
      if (c.body !== undefined) el.c('body').t(c.body);
      if (c.thread !== undefined) el.c('thread').t(c.thread);
      if (c.receiptRequest) el.c('request', { xmlns: 'urn:xmpp:receipts' });
      if (c.receiptFor) el.c('received', { xmlns: 'urn:xmpp:receipts', id: c.receiptFor });
      break;
    case 'SUBSCRIBE':
      el = new Element('presence', { from, to, type: c.type, id: c.id });
      break;
    case 'NOTIFY':
      el = new Element('presence', { from, to, id: c.id, type: c.type === 'available' ? undefined : c.type });
      if (c.show) el.c('show').t(c.show);
      if (c.status !== undefined) el.c('status').t(c.status);
      if (c.priority !== undefined) el.c('priority').t(String(c.priority));
      break;
    case 'INFO':
      el = new Element('iq', { from, to, type: c.type, id: c.id ?? 'gw' });
      if (c.namespace) buildQuery(el.c('query', { xmlns: c.namespace }), c);
      break;
  }
  if (c.error) el.cnode(errorElement(c.error));
  return el;
}

/** The neutral answer of a gateway to a query, as XML. */
function buildQuery(query: Element, c: SignalContent): void {
  if (c.discoInfo) {
    for (const { category, type, name } of c.discoInfo.identities) query.c('identity', { category, type, ...(name ? { name } : {}) });
    for (const feature of c.discoInfo.features) query.c('feature', { var: feature });
  }
  if (c.gateway) {
    for (const key of ['desc', 'prompt', 'jid'] as const) {
      const value = c.gateway[key];
      if (value !== undefined) query.c(key).t(value);
    }
  }
}
