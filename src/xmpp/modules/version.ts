// Software version (XEP-0092) of the server.
import { readFileSync } from 'node:fs';
import type { ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'jabber:iq:version';

// This file runs as dist/src/xmpp/modules/version.js.
const { version } = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };

export const versionModule: XmppModule = {
  name: 'version',
  load(ctx: ModuleContext) {
    ctx.feature(NS);
    ctx.onIq('get', 'host', NS, () => {
      const query = new Element('query', { xmlns: NS });
      query.c('name').t('Switchboard');
      query.c('version').t(version);
      query.c('os').t(process.platform);
      return query;
    });
  },
};
