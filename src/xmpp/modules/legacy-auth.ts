// Non-SASL authentication (XEP-0078, deprecated) for old clients, on hosts that enable it:
// username, clear-text password and resource in one iq, which authenticates the stream and
// binds the resource. Digest logins are refused (they need the password stored in clear).
import { Jid, JidError } from '../../core/jid.js';
import type { ClientSession } from '../c2s/session.js';
import { answer, asStanzaError, failure, plainTextAllowed, prepareUsername } from '../clear-text-auth.js';
import { StanzaError } from '../errors.js';
import type { ModuleContext, SessionEvent, XmppModule } from '../module.js';
import { Element, payloadOf } from '../xml.js';

const NS = 'jabber:iq:auth';
const FEATURE = 'http://jabber.org/features/iq-auth';

// No disco feature: the protocol is only usable before authentication, where the stream
// feature announces it.
export const legacyAuthModule: XmppModule = {
  name: 'legacy-auth',
  load(ctx: ModuleContext) {
    const enabled = (session: ClientSession): boolean => ctx.hostConfig(session.host)?.legacy_auth === true;
    const usable = (session: ClientSession): boolean => enabled(session) && plainTextAllowed(ctx, session);

    ctx.streamFeature('pre-auth', (session) => (usable(session) ? new Element('auth', { xmlns: FEATURE }) : undefined));

    ctx.onPreAuthIq(NS, async (session, iq) => {
      const type = iq.attrs.type;
      if (type !== 'get' && type !== 'set') return;
      let jid: Jid;
      try {
        if (!enabled(session)) throw new StanzaError('service-unavailable');
        if (!usable(session)) throw new StanzaError('policy-violation', 'clear-text passwords need an encrypted connection');
        if (type === 'get') return session.send(answer(iq, fields()));
        jid = await login(ctx, session, payloadOf(iq)!);
      } catch (err) {
        return session.send(failure(iq, asStanzaError(ctx, err, 'legacy authentication')));
      }
      session.send(answer(iq));
      ctx.log.info({ jid: jid.toString(), session: session.id }, 'resource bound (legacy authentication)');
      // As after resource binding; a failure there must not produce an error reply echoing the password.
      try {
        await ctx.fire<SessionEvent>('session/bound', { session });
      } catch (err) {
        ctx.log.error({ err }, 'session/bound handler failed');
      }
    });
  },
};

/** Checks the credentials, then authenticates and binds the session; returns its full JID. */
async function login(ctx: ModuleContext, session: ClientSession, query: Element): Promise<Jid> {
  const { host, remoteAddress } = session;
  const username = query.getChildText('username') ?? '';
  const password = query.getChildText('password') ?? '';
  const resource = query.getChildText('resource') ?? '';
  if (!username || !password || !resource) throw new StanzaError('not-acceptable', 'username, password and resource are required');

  // The SASL throttle, so that this older door does not give more guesses.
  const local = prepareUsername(username, host);
  const account = `${local ?? username}@${host}`;
  const verdict = ctx.loginThrottle.check(remoteAddress, account);
  if (!verdict.allowed) {
    throw new StanzaError('policy-violation', `too many failed logins; retry in ${verdict.retryAfterSeconds} s`, 'wait');
  }
  if (local === undefined || !await ctx.directory.verifyPassword(host, local, password)) {
    ctx.loginThrottle.failure(remoteAddress, account);
    ctx.log.info({ session: session.id, address: remoteAddress, user: username }, 'legacy authentication failed');
    throw new StanzaError('not-authorized');
  }
  let jid: Jid;
  try {
    jid = Jid.parse(`${local}@${host}`).withResource(resource);
  } catch (err) {
    if (err instanceof JidError) throw new StanzaError('jid-malformed', 'invalid resource');
    throw err;
  }
  ctx.loginThrottle.success(remoteAddress, account);
  session.authenticated(local);
  const refused = session.bindTo(jid);
  if (refused) throw new StanzaError(refused);
  return jid;
}

/** Plain text only: no <digest/> is offered. */
function fields(): Element {
  const query = new Element('query', { xmlns: NS });
  query.c('username');
  query.c('password');
  query.c('resource');
  return query;
}

