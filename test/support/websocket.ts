// A raw XMPP-over-WebSocket connection (RFC 7395) for protocol tests: exact frames out,
// every text frame received kept, so tests can send what no client library would.
import { parse } from 'ltx';
import { WebSocket } from 'ws';
import type { Element } from '../../src/xmpp/xml.js';
import type { TestHub } from './hub.js';

export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
export const OPEN = (to = 'localhost') => `<open xmlns='${NS_FRAMING}' to='${to}' version='1.0'/>`;

export function websocketUrl(hub: TestHub, secure = false): string {
  return secure ? `wss://127.0.0.1:${hub.httpsPort}/xmpp-websocket` : `ws://127.0.0.1:${hub.httpPort}/xmpp-websocket`;
}

export interface RawWebSocketOptions {
  /** Subprotocols offered (default ['xmpp']). */
  protocols?: string[];
  origin?: string;
  headers?: Record<string, string>;
  /** Source address (any 127.x.y.z), to act as another client. */
  localAddress?: string;
}

/** The HTTP status of a refused WebSocket handshake. */
export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`WebSocket handshake refused with HTTP ${status}`);
  }
}

export class RawWebSocket {
  /** Every text frame received, in order. */
  readonly frames: string[] = [];
  /** Set once the connection is closed. */
  closed: { code: number; reason: string } | undefined;
  private readonly watchers = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? '<binary/>' : (data as Buffer).toString('utf8'));
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => {});
  }

  /** Connects; rejects with HandshakeRefused when the server answers the upgrade with an HTTP error. */
  static connect(url: string, options: RawWebSocketOptions = {}): Promise<RawWebSocket> {
    const ws = new WebSocket(url, options.protocols ?? ['xmpp'], {
      origin: options.origin, headers: options.headers, localAddress: options.localAddress, rejectUnauthorized: false,
      handshakeTimeout: 5000,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawWebSocket(ws)));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        reject(new HandshakeRefused(res.statusCode ?? 0));
      });
      ws.once('error', reject);
    });
  }

  /** Connects and opens the stream; resolves once the features arrived. */
  static async open(url: string, options: RawWebSocketOptions = {}): Promise<RawWebSocket> {
    const raw = await RawWebSocket.connect(url, options);
    raw.send(OPEN());
    await raw.waitFor((el) => el.name === 'stream:features');
    return raw;
  }

  /** Opens a stream, authenticates with PLAIN (allowed on this hub) and binds `resource`; returns the full JID. */
  static async login(url: string, username: string, password: string, resource = 'raw'): Promise<{ raw: RawWebSocket; jid: string }> {
    const raw = await RawWebSocket.open(url);
    raw.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${username}\0${password}`).toString('base64')}</auth>`);
    await raw.waitFor((el) => el.name === 'success');
    raw.send(OPEN());
    await raw.waitFor((el) => el.name === 'stream:features' && el.getChild('bind') !== undefined);
    raw.send(`<iq xmlns='jabber:client' type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const bound = await raw.waitFor((el) => el.attrs.id === 'bind-1');
    return { raw, jid: bound.getChild('bind')!.getChildText('jid')! };
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Every text frame parsed on its own (RFC 7395 makes each one a complete XML document); others are left out. */
  get elements(): Element[] {
    return this.frames.flatMap((frame) => {
      try {
        return [parse(frame) as Element];
      } catch {
        return [];
      }
    });
  }

  /** The first received element matching `predicate` (already received ones count). */
  waitFor(predicate: (el: Element) => boolean, timeoutMs = 5000): Promise<Element> {
    return this.until(() => this.elements.find(predicate), timeoutMs, 'a matching frame');
  }

  /** Resolves once the server has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed, timeoutMs, 'the connection to close');
  }

  close(): void {
    this.ws.terminate();
  }

  private until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const watcher = (): void => {
        const found = check();
        if (found === undefined) return;
        this.watchers.delete(watcher);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        reject(new Error(`timed out waiting for ${what}; received: ${this.frames.join(' ').slice(-500)}`));
      }, timeoutMs);
      this.watchers.add(watcher);
      watcher();
    });
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}
