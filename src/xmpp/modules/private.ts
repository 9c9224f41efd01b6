// Private XML storage (XEP-0049): a user stores arbitrary namespaced XML fragments on the
// server and reads them back, each keyed by its element name and namespace.
import { parse } from 'ltx';
import { StanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'jabber:iq:private';

export const privateModule: XmppModule = {
  name: 'private',
  load(ctx: ModuleContext) {
    ctx.feature(NS);

    ctx.onIq('get', 'bare', NS, async (event) => {
      const { to } = event;
      const query = new Element('query', { xmlns: NS });
      for (const requested of fragments(event, 'bad-request')) {
        const stored = await ctx.store.kv.get<string>(to.domain, to.local, 'private', keyOf(requested));
        // Nothing stored: the requested element comes back as it was asked for.
        query.cnode(stored === undefined ? requested : parse(stored));
      }
      return query;
    });

    ctx.onIq('set', 'bare', NS, async (event) => {
      const { to } = event;
      for (const fragment of fragments(event, 'not-acceptable')) {
        await ctx.store.kv.set(to.domain, to.local, 'private', fragment.toString(), keyOf(fragment));
      }
    });
  },
};

/**
 * The query's fragments, checked (XEP-0049 §2.3): only one's own storage; at least one
 * child (`missing` says which error when there is none); each child in its own namespace.
 */
function fragments({ from, to, payload }: IqEvent, missing: 'bad-request' | 'not-acceptable'): Element[] {
  if (from.bareString !== to.bareString) throw new StanzaError('forbidden');
  const children = payload.getChildElements();
  if (children.length === 0) throw new StanzaError(missing, 'a child element in its own namespace is required');
  for (const child of children) {
    const ns = child.getNS();
    if (!ns || ns === NS) throw new StanzaError('not-acceptable', `<${child.name}/> needs a namespace of its own`);
  }
  return children;
}

function keyOf(el: Element): string {
  return `{${el.getNS()}}${el.getName()}`;
}
