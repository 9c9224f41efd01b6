// XMPP Ping (XEP-0199), client to server. The server's own pings to idle clients are in
// XmppServer.sweep().
import type { ModuleContext, XmppModule } from '../module.js';

const NS = 'urn:xmpp:ping';

export const pingModule: XmppModule = {
  name: 'ping',
  load(ctx: ModuleContext) {
    ctx.feature(NS);
    ctx.onIq('get', 'host', NS, () => undefined);
  },
};
