// In-band registration (XEP-0077): account creation before authentication on hosts that
// allow it, then password changes and removal of one's own account.
import type { Jid } from '../../core/jid.js';
import type { ClientSession } from '../c2s/session.js';
import { answer, asStanzaError, failure, plainTextAllowed, prepareUsername } from '../clear-text-auth.js';
import { StanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, XmppModule } from '../module.js';
import { Element, payloadOf } from '../xml.js';

const NS = 'jabber:iq:register';
const FEATURE = 'http://jabber.org/features/iq-register';
/** Account creations attempted per client address and minute. */
const REGISTRATIONS_PER_MINUTE = 5;

export const registerModule: XmppModule = {
  name: 'register',
  load(ctx: ModuleContext) {
    ctx.feature(NS, 'host');
    const limit = new AddressLimit(REGISTRATIONS_PER_MINUTE, 60_000);
    const open = (session: ClientSession): boolean =>
      registrationAllowed(ctx, session.host) && plainTextAllowed(ctx, session);

    ctx.streamFeature('pre-auth', (session) => (open(session) ? new Element('register', { xmlns: FEATURE }) : undefined));

    ctx.onPreAuthIq(NS, async (session, iq) => {
      const type = iq.attrs.type;
      if (type !== 'get' && type !== 'set') return;
      try {
        if (!registrationAllowed(ctx, session.host)) throw new StanzaError('service-unavailable');
        if (!open(session)) throw new StanzaError('policy-violation', 'registration needs an encrypted connection');
        if (type === 'set') await register(ctx, limit, session, payloadOf(iq)!);
        session.send(answer(iq, type === 'get' ? fields() : undefined));
      } catch (err) {
        session.send(failure(iq, asStanzaError(ctx, err, 'registration')));
      }
    });

    for (const target of ['host', 'bare'] as const) {
      ctx.onIq('get', target, NS, (event) => {
        const user = account(event);
        const query = new Element('query', { xmlns: NS });
        query.c('registered');
        query.c('username').t(user.local);
        query.c('password');
        return query;
      });
      ctx.onIq('set', target, NS, (event) => {
        // Error replies echo the request (RFC 6120 §8.3.1); a password must not go back (§3.3).
        const password = event.payload.getChildText('password') ?? '';
        event.payload.remove('password');
        const user = account(event);
        return event.payload.getChild('remove') ? remove(ctx, user, event.payload) : changePassword(ctx, user, event, password);
      });
    }
  },
};

async function register(ctx: ModuleContext, limit: AddressLimit, session: ClientSession, query: Element): Promise<void> {
  if (query.getChild('remove')) throw new StanzaError('unexpected-request', 'not registered', 'cancel');
  const username = prepareUsername(query.getChildText('username') ?? '', session.host);
  const password = query.getChildText('password') ?? '';
  if (username === undefined) throw new StanzaError('not-acceptable', 'invalid username');
  if (!password) throw new StanzaError('not-acceptable', 'a password is required');
  if (!limit.take(session.remoteAddress)) {
    throw new StanzaError('policy-violation', 'too many registrations from your address; try again later', 'wait');
  }
  if (!await checkedPassword(() => ctx.directory.createUser(session.host, username, password))) throw new StanzaError('conflict');
  ctx.log.info({ user: `${username}@${session.host}`, address: session.remoteAddress }, 'account registered');
}

/** §3.2: only where users may register; the result goes out, then every stream of the account closes. */
async function remove(ctx: ModuleContext, user: Jid, query: Element): Promise<void> {
  if (query.getChildElements().length !== 1) throw new StanzaError('bad-request');
  if (!registrationAllowed(ctx, user.domain)) throw new StanzaError('not-allowed', 'accounts are managed by the operator');
  if (!await ctx.directory.deleteUser(user.domain, user.local)) throw new StanzaError('registration-required');
  ctx.log.info({ user: user.toString() }, 'account removed by its user');
  // The server routes the result when this handler has returned, before the next macrotask.
  setImmediate(() => {
    for (const session of [...ctx.sessions.resources(user)]) session.close('not-authorized', 'the account was removed');
  });
}

/** §3.3: for oneself only, over a channel fit for a clear-text password. */
async function changePassword(ctx: ModuleContext, user: Jid, event: IqEvent, password: string): Promise<void> {
  if (ctx.hostConfig(user.domain)?.password_change !== true || !ctx.directory.canSetPassword(user.domain)) throw new StanzaError('not-allowed');
  const session = ctx.session(event.from);
  if (!session || !plainTextAllowed(ctx, session)) throw new StanzaError('not-authorized', 'password changes need an encrypted connection');
  const username = event.payload.getChildText('username');
  if (username === null) throw new StanzaError('bad-request', 'username and password are required');
  if (prepareUsername(username, user.domain) !== user.local) throw new StanzaError('forbidden', 'only your own password can be changed');
  if (!password) throw new StanzaError('not-acceptable', 'a password is required');
  if (!await checkedPassword(() => ctx.directory.setPassword(user.domain, user.local, password))) throw new StanzaError('item-not-found');
  ctx.log.info({ user: user.toString() }, 'password changed');
}

/** Users register themselves where the host allows it and its accounts are the hub's own (not LDAP's). */
function registrationAllowed(ctx: ModuleContext, host: string): boolean {
  return ctx.hostConfig(host)?.registration === true && ctx.directory.managesAccounts(host);
}

/** The local account an iq comes from, when it is addressed to its own server or account. */
function account(event: IqEvent): Jid {
  const { from, to } = event;
  if (!from.local || from.domain !== to.domain || (to.local && !to.equals(from.bare))) throw new StanzaError('forbidden');
  return from.bare;
}

/** The directory refuses passwords that SASLprep does not allow with a RangeError. */
async function checkedPassword<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof RangeError) throw new StanzaError('not-acceptable', 'this password is not allowed');
    throw err;
  }
}

function fields(): Element {
  const query = new Element('query', { xmlns: NS });
  query.c('instructions').t('Choose a username and password.');
  query.c('username');
  query.c('password');
  return query;
}

/** At most `max` attempts per address within a sliding window. */
class AddressLimit {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly max: number, private readonly windowMs: number) {}

  take(address: string): boolean {
    const now = Date.now();
    for (const [key, stamps] of this.recent) {
      while (stamps.length > 0 && now - stamps[0]! >= this.windowMs) stamps.shift();
      if (stamps.length === 0) this.recent.delete(key);
    }
    const stamps = this.recent.get(address) ?? [];
    if (stamps.length >= this.max) return false;
    stamps.push(now);
    this.recent.set(address, stamps);
    return true;
  }
}
