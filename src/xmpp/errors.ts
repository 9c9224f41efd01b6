// Stream errors (RFC 6120 §4.9) and stanza errors (RFC 6120 §8.3).
import type { ErrorType, SignalError } from '../core/signal.js';
import { clone } from 'ltx';
import { DirectoryReadOnly, DirectoryUnavailable } from '../directory/port.js';
import { Element, NS } from './xml.js';

/** The usual error type of each stanza error condition (RFC 6120 §8.3.3). */
const DEFAULT_TYPE: Record<string, ErrorType> = {
  'bad-request': 'modify', conflict: 'cancel', 'feature-not-implemented': 'cancel', forbidden: 'auth',
  gone: 'cancel', 'internal-server-error': 'cancel', 'item-not-found': 'cancel', 'jid-malformed': 'modify',
  'not-acceptable': 'modify', 'not-allowed': 'cancel', 'not-authorized': 'auth', 'policy-violation': 'modify',
  'recipient-unavailable': 'wait', redirect: 'modify', 'registration-required': 'auth',
  'remote-server-not-found': 'cancel', 'remote-server-timeout': 'wait', 'resource-constraint': 'wait',
  'service-unavailable': 'cancel', 'subscription-required': 'auth', 'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
};

/** Thrown by stanza handlers; the server turns it into the error reply. */
export class StanzaError extends Error {
  readonly type: ErrorType;
  constructor(readonly condition: string, text?: string, type?: ErrorType, readonly appCondition?: Element) {
    super(text ?? condition);
    this.type = type ?? DEFAULT_TYPE[condition] ?? 'cancel';
  }

  get text(): string | undefined {
    return this.message === this.condition ? undefined : this.message;
  }

  toSignalError(): SignalError {
    return { type: this.type, condition: this.condition, text: this.text };
  }
}

/** The stanza error for a directory that cannot answer now, or that is not changed here; else undefined. */
export function directoryStanzaError(err: unknown): StanzaError | undefined {
  if (err instanceof DirectoryUnavailable) return new StanzaError('internal-server-error', 'the user directory is unavailable; try again later', 'wait');
  if (err instanceof DirectoryReadOnly) return new StanzaError('not-allowed', err.message);
  return undefined;
}

export function errorElement(error: SignalError, appCondition?: Element): Element {
  const el = new Element('error', { type: error.type });
  el.c(error.condition, { xmlns: NS.stanzas });
  if (error.text) el.c('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }).t(error.text);
  if (appCondition) el.cnode(appCondition);
  return el;
}

/**
 * The error reply to `stanza` (RFC 6120 §8.3.1): addresses swapped, type "error", the
 * original payload kept so the sender can tell what failed.
 */
export function errorReply(stanza: Element, error: SignalError, appCondition?: Element): Element {
  const { from, to, id } = stanza.attrs;
  const reply = new Element(stanza.name, { type: 'error', id, from: to, to: from });
  for (const child of stanza.children) {
    if (typeof child !== 'string' && child.name !== 'error') reply.cnode(clone(child));
  }
  reply.cnode(errorElement(error, appCondition));
  return reply;
}

export function streamError(condition: string, text?: string): Element {
  const el = new Element('stream:error');
  el.c(condition, { xmlns: NS.streams });
  if (text) el.c('text', { xmlns: NS.streams, 'xml:lang': 'en' }).t(text);
  return el;
}
