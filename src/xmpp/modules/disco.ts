// Service discovery (XEP-0030) for the server and, on their behalf, for user accounts: the
// identities and features other modules declare through ctx.identity/ctx.feature.
import { StanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';

export const discoModule: XmppModule = {
  name: 'disco',
  load(ctx: ModuleContext) {
    ctx.identity('server', 'im', 'Switchboard');
    for (const on of ['host', 'account'] as const) {
      ctx.feature(INFO, on);
      ctx.feature(ITEMS, on);
    }

    ctx.onIq('get', 'host', INFO, (event) => {
      rejectNode(event);
      return infoQuery(ctx.discoInfo('host'));
    });

    // The host's services: the gateways' domains (components later).
    ctx.onIq('get', 'host', ITEMS, (event) => {
      rejectNode(event);
      const query = new Element('query', { xmlns: ITEMS });
      for (const { jid, name } of ctx.discoItems(event.to.domain)) query.c('item', { jid, name });
      return query;
    });

    ctx.onIq('get', 'bare', INFO, async (event) => {
      await requireAccount(ctx, event);
      rejectNode(event);
      const info = ctx.discoInfo('account');
      return infoQuery({ ...info, identities: [{ category: 'account', type: 'registered' }, ...info.identities] });
    });

    ctx.onIq('get', 'bare', ITEMS, async (event) => {
      await requireAccount(ctx, event);
      rejectNode(event);
      return new Element('query', { xmlns: ITEMS });
    });
  },
};

type Info = ReturnType<ModuleContext['discoInfo']>;

function infoQuery({ identities, features }: Info): Element {
  const query = new Element('query', { xmlns: INFO });
  for (const { category, type, name } of identities) query.c('identity', { category, type, name });
  for (const feature of features) query.c('feature', { var: feature });
  return query;
}

/** No entity here has nodes (XEP-0030 §3.1, §4.1: an unknown node is item-not-found). */
function rejectNode({ payload }: IqEvent): void {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
}

/** RFC 6121 §8.5.1: an iq to an account that does not exist gets service-unavailable. */
async function requireAccount(ctx: ModuleContext, { to }: IqEvent): Promise<void> {
  if (!await ctx.directory.userExists(to.domain, to.local)) throw new StanzaError('service-unavailable');
}
