// Shared by the modules that take a username and clear-text password in an iq (XEP-0077, XEP-0078).
import { Jid, JidError } from '../core/jid.js';
import type { ClientSession } from './c2s/session.js';
import type { ModuleContext } from './module.js';

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
