// Entity time (XEP-0202) of the server.
import type { ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'urn:xmpp:time';

export const timeModule: XmppModule = {
  name: 'time',
  load(ctx: ModuleContext) {
    ctx.feature(NS);
    ctx.onIq('get', 'host', NS, () => {
      const now = new Date();
      const time = new Element('time', { xmlns: NS });
      time.c('tzo').t(tzo(-now.getTimezoneOffset()));
      // XEP-0082 DateTime in UTC, without the optional fraction of a second.
      time.c('utc').t(now.toISOString().replace(/\.\d+Z$/, 'Z'));
      return time;
    });
  },
};

/** The offset from UTC as ±hh:mm. */
function tzo(minutes: number): string {
  const abs = Math.abs(minutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
