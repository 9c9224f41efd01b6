// Last Activity (XEP-0012): the server's uptime, and for an account the time since its
// last logout with the status of its last unavailable presence (0 while it is online).
import type { Jid } from '../../core/jid.js';
import type { ClientSession } from '../c2s/session.js';
import { StanzaError } from '../errors.js';
import type { ModuleContext, SessionEvent, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'jabber:iq:last';

interface LastLogout {
  /** Milliseconds since the epoch. */
  at: number;
  status?: string;
}

export const lastModule: XmppModule = {
  name: 'last',
  load(ctx: ModuleContext) {
    ctx.feature(NS);
    const started = Date.now();
    /** The status text of each session's last broadcast unavailable presence. */
    const statuses = new WeakMap<ClientSession, string | undefined>();
    const record = (session: ClientSession) => {
      const { domain, local } = session.jid!;
      const last: LastLogout = { at: Date.now(), status: statuses.get(session) };
      return ctx.store.kv.set(domain, local, 'last', last);
    };

    ctx.onIq('get', 'host', NS, () => query(Date.now() - started));

    ctx.onIq('get', 'bare', NS, async ({ from, to }) => {
      if (!await ctx.directory.userExists(to.domain, to.local)) throw new StanzaError('service-unavailable');
      if (!await maySeePresence(ctx, from, to)) throw new StanzaError('forbidden');
      if (ctx.sessions.available(to).length > 0) return query(0);
      const last = await ctx.store.kv.get<LastLogout>(to.domain, to.local, 'last');
      if (!last) throw new StanzaError('item-not-found', 'no logout recorded');
      return query(Date.now() - last.at, last.status);
    });

    // Going unavailable counts as logging out, with that presence's status.
    ctx.on('outbound/presence', ({ stanza, session }) => {
      if (stanza.attrs.to !== undefined || !session) return;
      if (stanza.attrs.type === undefined) statuses.delete(session);
      if (stanza.attrs.type !== 'unavailable') return;
      statuses.set(session, stanza.getChildText('status') ?? undefined);
      return record(session);
    }, 10);

    ctx.on<SessionEvent>('session/closed', ({ session }) => record(session));
  },
};

function query(ms: number, status?: string): Element {
  const el = new Element('query', { xmlns: NS, seconds: String(Math.max(0, Math.floor(ms / 1000))) });
  if (status) el.t(status);
  return el;
}

/** The account itself, or a contact with a subscription to its presence (XEP-0012 §3). */
async function maySeePresence(ctx: ModuleContext, from: Jid, account: Jid): Promise<boolean> {
  if (from.bareString === account.bareString) return true;
  const roster = await ctx.store.rosters.get(account.domain, account.local);
  const item = roster.items.find((i) => i.jid === from.bareString);
  return item?.subscription === 'from' || item?.subscription === 'both';
}
