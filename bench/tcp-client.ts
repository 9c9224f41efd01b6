// The generators' raw TCP XMPP client (RFC 6120): one socket, optional STARTTLS, and the full
// login a real client does.
import net from 'node:net';
import tls from 'node:tls';
import { authenticate, bindAndPresence, ExpectBuffer, type LiveSession, type Mechanism, type StanzaChannel, type Target } from './xmpp-client.js';

const FATAL = ['<stream:error', '</stream:stream>'];
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';

export function streamHeader(domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>`;
}

export class Conn implements StanzaChannel, LiveSession {
  sock!: net.Socket;
  private inbox: ExpectBuffer;
  onText: ((chunk: string) => void) | undefined;
  closed = false;
  error = '';
  tail = '';
  /** Scratch for the scenarios: which user this is. */
  index = 0;

  private constructor(sock: net.Socket, timeoutMs: number) {
    this.inbox = new ExpectBuffer(FATAL, timeoutMs);
    this.attach(sock);
  }

  static connect(target: Target): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: target.host, port: target.port });
      const failed = (err: Error) => reject(err);
      sock.once('error', failed);
      sock.once('connect', () => {
        sock.off('error', failed);
        resolve(new Conn(sock, target.timeoutMs));
      });
    });
  }

  private attach(sock: net.Socket): void {
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.on('data', (chunk: string) => {
      if (this.onText) this.onText(chunk);
      else this.inbox.push(chunk);
    });
    sock.on('error', (err) => {
      this.error ||= err.message;
    });
    sock.on('close', () => {
      this.closed = true;
      this.inbox.end(this.error);
    });
  }

  expect(markers: string | string[], alsoFail: string[] = []): Promise<string> {
    return this.inbox.expect(markers, alsoFail);
  }

  send(data: string): void {
    this.sock.write(data);
  }

  /** STARTTLS after <proceed/>: the same TCP connection, wrapped. */
  startTls(servername: string, timeoutMs: number): Promise<void> {
    const raw = this.sock;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    this.inbox = new ExpectBuffer(FATAL, timeoutMs);
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ socket: raw, servername, rejectUnauthorized: false });
      secure.once('error', reject);
      secure.once('secureConnect', () => {
        secure.off('error', reject);
        this.attach(secure);
        resolve();
      });
    });
  }

  destroy(): void {
    this.sock.destroy();
  }
}

export interface LoginOptions {
  mech: Mechanism;
  tls: boolean;
  resource: string;
  /** Send <presence/> after the roster (default true). */
  presence?: boolean;
}

/** Full client login: stream, [STARTTLS], SASL, restart, bind, roster get, initial presence. */
export async function tcpLogin(target: Target, user: string, opts: LoginOptions): Promise<Conn> {
  const c = await Conn.connect(target);
  const header = streamHeader(target.domain);
  try {
    c.send(header);
    await c.expect('</stream:features>');
    if (opts.tls) {
      c.send(`<starttls xmlns='${NS_TLS}'/>`);
      await c.expect('<proceed', ['<failure']);
      await c.startTls(target.domain, target.timeoutMs);
      c.send(header);
      await c.expect('</stream:features>');
    }
    await authenticate(c, user, target.password, opts.mech);
    c.send(header);
    await c.expect('</stream:features>');
    await bindAndPresence(c, opts.resource, opts.presence);
    return c;
  } catch (err) {
    c.destroy();
    throw err;
  }
}
