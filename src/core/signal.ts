// The unit of traffic inside the hub (DESIGN.md, "The signal bus"): a MESSAGE, SUBSCRIBE,
// NOTIFY or INFO signal between two addresses, with a protocol-neutral view of its content
// and, when it came from XMPP, the original stanza so XMPP-to-XMPP delivery forwards it as is.
import type { Jid } from './jid.js';
import type { Element } from '../xmpp/xml.js';

export type SignalKind = 'MESSAGE' | 'SUBSCRIBE' | 'NOTIFY' | 'INFO';

export type ErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export interface SignalError {
  type: ErrorType;
  /** An RFC 6120 §8.3.3 stanza error condition, e.g. 'service-unavailable'. */
  condition: string;
  text?: string;
}

/**
 * What a signal says, independent of protocol. `type` is read per kind:
 * MESSAGE chat|normal|headline|groupchat|error; SUBSCRIBE subscribe|subscribed|unsubscribe|
 * unsubscribed|probe; NOTIFY available|unavailable|error; INFO get|set|result|error.
 */
export interface SignalContent {
  type: string;
  id?: string;
  body?: string;
  subject?: string;
  thread?: string;
  show?: string;
  status?: string;
  priority?: number;
  /** MESSAGE asks for a delivery receipt (XEP-0184). */
  receiptRequest?: boolean;
  /** MESSAGE is a delivery receipt for the message with this id. */
  receiptFor?: string;
  /** INFO: namespace of the query. */
  namespace?: string;
  /** INFO result of a disco#info query (XEP-0030): what a gateway is. */
  discoInfo?: { identities: Array<{ category: string; type: string; name?: string }>; features: string[] };
  /** INFO of jabber:iq:gateway (XEP-0100): the prompt a user sends, or the description, prompt or JID answered. */
  gateway?: { desc?: string; prompt?: string; jid?: string };
  error?: SignalError;
}

export class Signal {
  constructor(
    readonly kind: SignalKind,
    readonly from: Jid,
    readonly to: Jid,
    private contentView: SignalContent | undefined,
    /** The XMPP stanza this signal was made from, if any (never parsed by gateways). */
    readonly stanza?: Element,
  ) {}

  /** The neutral content; signals made from stanzas compute it only when someone asks. */
  get content(): SignalContent {
    return (this.contentView ??= this.describe());
  }

  get isError(): boolean {
    return this.content.type === 'error';
  }

  /** Subclasses that carry a stanza describe it lazily. */
  protected describe(): SignalContent {
    return { type: 'normal' };
  }
}

/** The error answer to `signal`: from its recipient back to its sender. */
export function errorReply(signal: Signal, error: SignalError): Signal {
  const { id } = signal.content;
  return new Signal(signal.kind, signal.to, signal.from, { type: 'error', id, error }, signal.stanza);
}
