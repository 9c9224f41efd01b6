// The generators' XMPP-over-WebSocket client (RFC 7395): the `ws` package, subprotocol `xmpp`,
// one element per message, <open/> and <close/> framing.
import WebSocket from 'ws';
import { authenticate, bindAndPresence, ExpectBuffer, type LiveSession, type Mechanism, type StanzaChannel, type Target } from './xmpp-client.js';

export const WEBSOCKET_PATH = '/xmpp-websocket';
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const FATAL = ['<stream:error', '<close'];

export class WsConn implements StanzaChannel, LiveSession {
  private readonly inbox: ExpectBuffer;
  onText: ((chunk: string) => void) | undefined;
  closed = false;
  error = '';
  tail = '';

  private constructor(private readonly ws: WebSocket, timeoutMs: number) {
    this.inbox = new ExpectBuffer(FATAL, timeoutMs);
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (this.onText) this.onText(text);
      else this.inbox.push(text);
    });
    ws.on('error', (err) => {
      this.error ||= err.message;
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.inbox.end(this.error || `WebSocket closed (${code})`);
    });
  }

  /** Opens the WebSocket (`http` port of the hub's web server). */
  static connect(target: Target): Promise<WsConn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${target.host}:${target.port}${WEBSOCKET_PATH}`, ['xmpp'],
        { perMessageDeflate: false, handshakeTimeout: target.timeoutMs });
      const failed = (err: Error) => reject(err);
      ws.once('error', failed);
      ws.once('open', () => {
        ws.off('error', failed);
        if (ws.protocol !== 'xmpp') {
          ws.terminate();
          reject(new Error(`the server chose subprotocol '${ws.protocol}', not 'xmpp'`));
          return;
        }
        resolve(new WsConn(ws, target.timeoutMs));
      });
    });
  }

  expect(markers: string | string[], alsoFail: string[] = []): Promise<string> {
    return this.inbox.expect(markers, alsoFail);
  }

  send(data: string): void {
    this.ws.send(data);
  }

  open(domain: string): void {
    this.send(`<open xmlns='${NS_FRAMING}' to='${domain}' version='1.0'/>`);
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/** <open/>, features, SASL, <open/> again, features, bind, roster get, initial presence. */
export async function wsLogin(target: Target, user: string, mech: Mechanism, resource: string): Promise<WsConn> {
  const c = await WsConn.connect(target);
  try {
    c.open(target.domain);
    await c.expect('</stream:features>');
    await authenticate(c, user, target.password, mech);
    c.open(target.domain);
    await c.expect('</stream:features>');
    await bindAndPresence(c, resource);
    return c;
  } catch (err) {
    c.destroy();
    throw err;
  }
}
