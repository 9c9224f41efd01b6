// A raw XMPP connection for protocol-level tests: exact bytes out, everything received kept
// as text, so tests can send what no well-behaved client library would.
import net from 'node:net';
import { parse } from 'ltx';
import type { Element } from '../../src/xmpp/xml.js';

export const STREAM_HEADER = (to = 'localhost') =>
  `<?xml version='1.0'?><stream:stream to='${to}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

export class RawClient {
  text = '';
  closed = false;
  private readonly socket: net.Socket;
  private readonly watchers: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      this.text += data;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  /** `localAddress` picks the source (any 127.x.y.z), to act as distinct clients. */
  static connect(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Opens a stream and reads its features, without authenticating. */
  static async open(port: number): Promise<RawClient> {
    const client = await RawClient.connect(port);
    client.send(STREAM_HEADER());
    await client.waitFor(/<\/stream:features>/);
    return client;
  }

  /** Opens a stream, authenticates with PLAIN (needs plain auth allowed) and binds `resource`. */
  static async login(port: number, username: string, password: string, resource = 'raw'): Promise<RawClient> {
    const client = await RawClient.open(port);
    const token = Buffer.from(`\0${username}\0${password}`).toString('base64');
    client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`);
    await client.waitFor(/<success/);
    client.send(STREAM_HEADER());
    await client.waitFor(/<bind/);
    client.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    await client.waitFor(/id=["']bind1["']/);
    return client;
  }

  /** One SASL PLAIN attempt on a fresh stream: 'success' or the failure condition. */
  static async tryPlain(port: number, username: string, password: string, localAddress?: string): Promise<string> {
    const client = await RawClient.connect(port, localAddress);
    try {
      client.send(STREAM_HEADER());
      await client.waitFor(/<\/stream:features>/);
      client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${username}\0${password}`).toString('base64')}</auth>`);
      const [, outcome] = await client.waitFor(/<success|<failure[^>]*><([a-z-]+)/);
      return outcome ?? 'success';
    } finally {
      client.destroy();
    }
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** Sends an iq of `type` around `payload` and resolves with the answer (the iq with that id), parsed. */
  async iq(id: string, type: 'get' | 'set', payload: string): Promise<Element> {
    this.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
    const [answer] = await this.waitFor(new RegExp(`<iq [^>]*id="${id}"[^>]*?(?:/>|>[\\s\\S]*?</iq>)`));
    return parse(answer) as Element;
  }

  /** Resolves when the received text matches, rejects after the timeout. */
  waitFor(pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.until(() => this.text.match(pattern), timeoutMs, `no match for ${pattern}`);
  }

  /** Resolves when the server has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<true> {
    return this.until(() => this.closed || null, timeoutMs, 'connection still open');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private until<T>(check: () => T | null, timeoutMs: number, failure: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const found = check();
        if (found === null) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.watchers.splice(this.watchers.indexOf(watcher), 1);
        reject(new Error(`${failure}; received: ${this.text.slice(-500)}`));
      }, timeoutMs);
      const watcher = (): void => {
        if (attempt()) this.watchers.splice(this.watchers.indexOf(watcher), 1);
      };
      if (!attempt()) this.watchers.push(watcher);
    });
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}
