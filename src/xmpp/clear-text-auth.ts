// Shared by the modules that take a username and clear-text password in an iq (XEP-0077, XEP-0078).
import { Jid, JidError } from '../core/jid.js';
import type { ClientSession } from './c2s/session.js';
import { StanzaError, directoryStanzaError, errorElement } from './errors.js';
import type { ModuleContext } from './module.js';
import { Element } from './xml.js';

/** The account name as stored (a prepared RFC 7622 localpart), or undefined. */
export function prepareUsername(username: string, host: string): string | undefined {
  try {
    const jid = Jid.parse(`${username}@${host}`);
    return jid.local && !jid.resource && jid.domain === host ? jid.local : undefined;
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

/** Passwords travel in clear text: over TLS, or where the operator allows plain text. */
export function plainTextAllowed(ctx: ModuleContext, session: ClientSession): boolean {
  if (session.secure) return true;
  return ctx.config.auth.allow_plain_without_tls && ctx.hostConfig(session.host)?.require_encryption !== 'required';
}

/** The result of a pre-authentication iq (no addresses: the stream has none yet). */
export function answer(iq: Element, payload?: Element): Element {
  const result = new Element('iq', { type: 'result', id: iq.attrs.id });
  if (payload) result.cnode(payload);
  return result;
}

/** An error reply without the request, which holds a password. */
export function failure(iq: Element, error: StanzaError): Element {
  const reply = new Element('iq', { type: 'error', id: iq.attrs.id });
  reply.cnode(errorElement(error.toSignalError(), error.appCondition));
  return reply;
}

/** The error to send for `err`; anything but a StanzaError is logged and hidden. */
export function asStanzaError(ctx: ModuleContext, err: unknown, what: string): StanzaError {
  if (err instanceof StanzaError) return err;
  const directory = directoryStanzaError(err);
  if (directory) return directory;
  ctx.log.error({ err }, `${what} failed`);
  return new StanzaError('internal-server-error');
}
