// The mechanisms Switchboard offers, strongest first.
import type { SaslContext, SaslMechanism } from './mechanism.js';
import { createOAuthBearer } from './oauthbearer.js';
import { createPlain } from './plain.js';
import { createScram } from './scram.js';

export function defaultMechanisms(opts: {
  allowPlainInsecure: boolean;
  /** Offer the -PLUS (channel binding) variants. */
  plus: boolean;
  /** Iteration count of stored SCRAM credentials, announced for unknown users too (default DEFAULT_SCRAM_ITERATIONS). */
  scramIterations?: number;
  /** Offer OAUTHBEARER, for webmail login tokens, on hosts that accept them. */
  tokenLogin?: boolean;
}): SaslMechanism[] {
  const scram = { plusOffered: opts.plus, fakeIterations: opts.scramIterations };
  return [
    ...(opts.plus ? [createScram('sha256', true, scram), createScram('sha1', true, scram)] : []),
    createScram('sha256', false, scram),
    createScram('sha1', false, scram),
    createPlain({ allowInsecure: opts.allowPlainInsecure }),
    ...(opts.tokenLogin ? [createOAuthBearer({ allowInsecure: opts.allowPlainInsecure })] : []),
  ];
}

/** The mechanisms to advertise on this connection, in preference order. */
export function offered(mechs: SaslMechanism[], ctx: SaslContext): SaslMechanism[] {
  return mechs.filter((m) => m.available(ctx));
}
