// Connection discovery for web clients (XEP-0156): /.well-known/host-meta (XRD) and
// host-meta.json list the BOSH and WebSocket endpoints. Hosts and schemes come from the
// request (as the client reached us, possibly through a proxy), paths from this hub.
import { escapeXML } from '../xmpp/xml.js';
import { sendText, type HttpApp, type RequestContext } from './app.js';

export const BOSH_PATH = '/http-bind/';
export const WEBSOCKET_PATH = '/xmpp-websocket';
const BOSH_REL = 'urn:xmpp:alt-connections:xbosh';
const WEBSOCKET_REL = 'urn:xmpp:alt-connections:websocket';

export function registerHostMeta(app: HttpApp): void {
  app.route({
    path: '/.well-known/host-meta',
    methods: ['GET', 'HEAD'],
    cors: true,
    handler: (_req, res, ctx) => {
      const { bosh, websocket } = endpoints(ctx);
      const xrd = `<?xml version='1.0' encoding='utf-8'?>
<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>
  <Link rel='${BOSH_REL}' href='${escapeXML(bosh)}'/>
  <Link rel='${WEBSOCKET_REL}' href='${escapeXML(websocket)}'/>
</XRD>
`;
      sendText(res, 200, xrd, 'application/xrd+xml; charset=utf-8');
    },
  });
  app.route({
    path: '/.well-known/host-meta.json',
    methods: ['GET', 'HEAD'],
    cors: true,
    handler: (_req, res, ctx) => {
      const { bosh, websocket } = endpoints(ctx);
      const json = { links: [{ rel: BOSH_REL, href: bosh }, { rel: WEBSOCKET_REL, href: websocket }] };
      sendText(res, 200, JSON.stringify(json, null, 2), 'application/json');
    },
  });
}

/** Absolute endpoint URLs for the host the client asked for. */
export function endpoints(ctx: RequestContext): { bosh: string; websocket: string } {
  const { host, secure } = ctx.client;
  return { bosh: `${secure ? 'https' : 'http'}://${host}${BOSH_PATH}`, websocket: `${secure ? 'wss' : 'ws'}://${host}${WEBSOCKET_PATH}` };
}
