// Message delivery to local users (RFC 6121 §8.5): full JIDs, bare JIDs to the available
// resource(s) of highest priority, negative priority, the rules per message type, and the
// hand-over to offline storage when no resource is available.
import { StanzaError } from '../errors.js';
import type { ModuleContext, StanzaEvent, XmppModule } from '../module.js';

export const messageModule: XmppModule = {
  name: 'message',
  load(ctx: ModuleContext) {
    ctx.on('message/full', (event) => {
      const session = ctx.session(event.to);
      if (session?.bound) {
        session.send(event.stanza);
        return true;
      }
      switch (event.stanza.attrs.type) {
        case 'error': return true;
        case 'groupchat':
          ctx.bounce(event, new StanzaError('service-unavailable'));
          return true;
        default:
          return toBare(ctx, event);
      }
    });

    ctx.on('message/bare', (event) => toBare(ctx, event));

    // Messages to the server itself have no consumer yet (admin announcements come later).
    ctx.on('message/host', () => true, -100);
  },
};

/** The bare-JID rules of RFC 6121 §8.5.2. */
function toBare(ctx: ModuleContext, event: StanzaEvent): boolean | Promise<boolean> {
  const type = event.stanza.attrs.type ?? 'normal';
  if (type === 'error') return true;
  if (type === 'groupchat') {
    ctx.bounce(event, new StanzaError('service-unavailable'));
    return true;
  }
  const targets = type === 'headline' ? ctx.sessions.reachable(event.to) : ctx.sessions.highestPriority(event.to);
  if (targets.length > 0) {
    for (const session of targets) session.send(event.stanza);
    return true;
  }
  if (type === 'headline') return true;
  return storeOffline(ctx, event);
}

async function storeOffline(ctx: ModuleContext, event: StanzaEvent): Promise<boolean> {
  const exists = ctx.sessions.resourceCount(event.to.bare) > 0
    || await ctx.directory.userExists(event.to.domain, event.to.local);
  if (!exists) {
    ctx.bounce(event, new StanzaError('service-unavailable'));
    return true;
  }
  const stored = await ctx.fire('message/offline', event);
  if (!stored) ctx.bounce(event, new StanzaError('service-unavailable'));
  return true;
}
