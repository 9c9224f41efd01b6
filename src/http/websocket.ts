// The WebSocket endpoint (RFC 7395): checks the subprotocol, origin and per-address limit,
// then hands the connection to a WebSocket-framed client session.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { Logger } from '../core/log.js';
import type { TlsContexts } from '../xmpp/c2s/tcp.js';
import { WebSocketFraming, type WebSocketPeer } from '../xmpp/c2s/websocket.js';
import type { XmppServer } from '../xmpp/server.js';
import type { ParserLimits } from '../xmpp/stream/parser.js';
import type { AddressLimit } from './address-limit.js';
import type { HttpApp, RequestContext } from './app.js';
import { WEBSOCKET_PATH } from './host-meta.js';

export interface WebSocketEndpointOptions {
  xmpp: XmppServer;
  limits: ParserLimits;
  tlsContexts: TlsContexts;
  sessionsPerAddress: AddressLimit;
  seeOtherUri: string;
  log: Logger;
}

export function registerWebSocket(app: HttpApp, options: WebSocketEndpointOptions): WebSocketServer {
  const { xmpp, limits, tlsContexts, sessionsPerAddress, log } = options;
  const wss = new WebSocketServer({
    noServer: true,
    // A hard ceiling for ws itself; messages above the stanza limit get an XMPP stream error first.
    maxPayload: limits.maxStanzaBytes * 2,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
  });
  app.upgrade(WEBSOCKET_PATH, (req, socket, head, ctx) => {
    const refusal = refuse(req, ctx, app);
    if (refusal) return reject(socket, refusal, log, ctx);
    if (!sessionsPerAddress.acquire(ctx.client.address)) {
      return reject(socket, [429, 'Too Many Requests', 'too many sessions from this address'], log, ctx);
    }
    // Released when the connection goes, also when ws refuses the handshake (no callback then).
    socket.once('close', () => sessionsPerAddress.release(ctx.client.address));
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer: WebSocketPeer = { address: ctx.client.address, secure: ctx.client.secure };
      if (req.socket instanceof TLSSocket && !ctx.client.forwarded) {
        const servername = (req.socket as TLSSocket & { servername?: string }).servername || '';
        peer.tls = { socket: req.socket, endPoint: tlsContexts.endPoint(servername.toLowerCase()) };
      }
      const framing = new WebSocketFraming(ws, peer, limits, log, options.seeOtherUri, xmpp);
      xmpp.accept(framing.session);
    });
  });
  return wss;
}

type Refusal = [status: number, reason: string, text: string];

function refuse(req: IncomingMessage, ctx: RequestContext, app: HttpApp): Refusal | undefined {
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!protocols.includes('xmpp')) return [400, 'Bad Request', 'the "xmpp" WebSocket subprotocol is required (RFC 7395)'];
  const origin = req.headers.origin;
  // Pages of the hub itself (the web client at /chat/) are always welcome.
  const ownOrigin = `${ctx.client.secure ? 'https' : 'http'}://${ctx.client.host}`.toLowerCase();
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin && !app.cors.allows(origin)) {
    return [403, 'Forbidden', `origin ${origin} is not allowed`];
  }
  return undefined;
}

function reject(socket: Duplex, [status, reason, text]: Refusal, log: Logger, ctx: RequestContext): void {
  log.info({ address: ctx.client.address, status, reason: text }, 'WebSocket connection refused');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
