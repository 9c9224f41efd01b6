// The generators' BOSH client (XEP-0124/0206) as a browser library (Strophe.js) behaves: a
// session of numbered requests, at most `requests` of them outstanding (one held by the
// server, one carrying data), stanzas queued and sent together in the next request, an
// empty request sent as soon as none is outstanding so that the server always holds one,
// answers handed on in rid order.
import { HttpConnection, type HttpAnswer } from './http-connection.js';
import { authenticate, bindAndPresence, ExpectBuffer, type LiveSession, type Mechanism, type StanzaChannel, type Target } from './xmpp-client.js';

export const BOSH_PATH = '/http-bind/';
const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
const NS_XBOSH = 'urn:xmpp:xbosh';
const FATAL = ['<stream:error'];
const RESTART = Symbol('restart');
/** How long a closing session waits for the answer to its terminate request. */
const TERMINATE_WAIT_MS = 3000;

export interface BoshParams {
  /** Longest time the server may hold a request (s). */
  wait: number;
  hold: number;
}

export class BoshConn implements StanzaChannel, LiveSession {
  private readonly inbox: ExpectBuffer;
  onText: ((chunk: string) => void) | undefined;
  closed = false;
  error = '';
  tail = '';
  /** HTTP requests sent and answered (the scenarios count them). */
  answered = 0;
  /** The `wait` the connection manager granted (s). */
  wait = 0;
  private readonly head: string;
  private sid = '';
  private nextRid: number;
  private maxRequests = 1;
  private outstanding = 0;
  private readonly queue: Array<string | typeof RESTART> = [];
  private readonly idle: HttpConnection[] = [];
  private readonly connections = new Set<HttpConnection>();
  /** Answers not yet handed on (an earlier rid's is still out), by rid. */
  private readonly early = new Map<number, string>();
  private nextToDeliver: number;
  private closing = false;

  private constructor(private readonly target: Target) {
    this.inbox = new ExpectBuffer(FATAL, target.timeoutMs);
    this.head = `POST ${BOSH_PATH} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nContent-Type: text/xml; charset=utf-8\r\n`;
    this.nextRid = 1_000_000 + Math.floor(Math.random() * 2 ** 31);
    this.nextToDeliver = this.nextRid;
  }

  /**
   * Sends the session creation request (XEP-0206 §5); its answer carries the sid and usually
   * the stream features, which `expect` then finds.
   */
  static create(target: Target, params: BoshParams): BoshConn {
    const c = new BoshConn(target);
    c.request(`content='text/xml; charset=utf-8' hold='${params.hold}' to='${target.domain}' ver='1.11' ` +
      `wait='${params.wait}' xml:lang='en' xmpp:version='1.0' xmlns:xmpp='${NS_XBOSH}'`, '');
    return c;
  }

  expect(markers: string | string[], alsoFail: string[] = []): Promise<string> {
    return this.inbox.expect(markers, alsoFail);
  }

  /** Queues stanzas for the next request. */
  send(stanzas: string): void {
    if (this.closed || this.closing) return;
    this.queue.push(stanzas);
    this.pump();
  }

  /** Stream restart after SASL success (XEP-0206 §7): a request of its own. */
  restart(): void {
    this.queue.push(RESTART);
    this.pump();
  }

  /** Ends the session with a terminate request, then drops the connections. */
  destroy(): void {
    if (this.closing) return;
    this.closing = true;
    const drop = (): void => {
      this.closed = true;
      for (const conn of this.connections) conn.destroy();
    };
    if (this.closed || !this.sid) return drop();
    setTimeout(drop, TERMINATE_WAIT_MS).unref();
    this.request(`sid='${this.sid}' type='terminate'`, "<presence type='unavailable' xmlns='jabber:client'/>", true, drop);
  }

  /** Sends what is queued while the window allows; keeps one request outstanding. */
  private pump(): void {
    while (!this.closed && !this.closing && this.sid && this.outstanding < this.maxRequests && this.queue.length > 0) {
      if (this.queue[0] === RESTART) {
        this.queue.shift();
        this.request(`sid='${this.sid}' to='${this.target.domain}' xml:lang='en' xmpp:restart='true' xmlns:xmpp='${NS_XBOSH}'`, '');
        continue;
      }
      let payload = '';
      for (let next = this.queue[0]; typeof next === 'string'; next = this.queue[0]) {
        payload += next;
        this.queue.shift();
      }
      this.request(`sid='${this.sid}'`, payload);
    }
    if (!this.closed && !this.closing && this.sid && this.outstanding === 0) this.request(`sid='${this.sid}'`, '');
  }

  /**
   * Sends one request on an idle connection (or a new one). `outsideWindow`: not counted
   * against `requests` (the terminate request); `after` replaces the answer's handling.
   */
  private request(attrs: string, payload: string, outsideWindow = false, after?: () => void): void {
    const rid = this.nextRid++;
    const body = `<body rid='${rid}' xmlns='${NS_HTTPBIND}' ${attrs}${payload ? `>${payload}</body>` : '/>'}`;
    if (!outsideWindow) this.outstanding++;
    let conn = this.idle.pop();
    if (!conn) {
      conn = new HttpConnection(this.target.host, this.target.port, (closed) => {
        this.connections.delete(closed);
        const at = this.idle.indexOf(closed);
        if (at >= 0) this.idle.splice(at, 1);
      });
      this.connections.add(conn);
    }
    const used = conn;
    used.post(this.head, body, (err, answer) => {
      if (!outsideWindow) this.outstanding--;
      if (!used.closed) this.idle.push(used);
      if (after) return after();
      if (err || !answer) return this.fail(err?.message ?? 'no answer');
      this.answered++;
      this.onAnswer(rid, answer);
    });
  }

  private onAnswer(rid: number, answer: HttpAnswer): void {
    if (answer.status !== 200) return this.fail(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    const body = answer.body;
    const openEnd = body.indexOf('>');
    const open = body.slice(0, openEnd + 1);
    if (!this.sid) {
      this.sid = /\bsid=['"]([^'"]+)['"]/.exec(open)?.[1] ?? '';
      this.maxRequests = Number(/\brequests=['"](\d+)['"]/.exec(open)?.[1] ?? 1);
      this.wait = Number(/\bwait=['"](\d+)['"]/.exec(open)?.[1] ?? 0);
    }
    this.early.set(rid, body[openEnd - 1] === '/' ? '' : body.slice(openEnd + 1, body.lastIndexOf('</body>')));
    for (let next = this.early.get(this.nextToDeliver); next !== undefined; next = this.early.get(this.nextToDeliver)) {
      this.early.delete(this.nextToDeliver++);
      if (next === '') continue;
      if (this.onText) this.onText(next);
      else this.inbox.push(next);
    }
    if (open.includes("type='terminate'") || open.includes('type="terminate"')) return this.fail(`session terminated: ${open}`);
    if (!this.sid) return this.fail(`no sid in the session creation answer: ${open}`);
    this.pump();
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.error ||= reason;
    this.closed = true;
    this.inbox.end(reason);
    for (const conn of this.connections) conn.destroy();
  }
}

/** Session creation, SASL, restart, bind, roster get, initial presence — over BOSH. */
export async function boshLogin(target: Target, params: BoshParams, user: string, mech: Mechanism, resource: string): Promise<BoshConn> {
  const c = BoshConn.create(target, params);
  try {
    await c.expect('</stream:features>');
    await authenticate(c, user, target.password, mech);
    c.restart();
    await c.expect('</stream:features>');
    await bindAndPresence(c, resource);
    return c;
  } catch (err) {
    c.destroy();
    throw err;
  }
}
