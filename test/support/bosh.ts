// BOSH (XEP-0124/0206) for tests: Strophe.js as the real client library, and raw HTTP for
// what no library would send (bodies out of order, repeated rids, bad XML...).
import http from 'node:http';
import https from 'node:https';
import { parse } from 'ltx';
import { Strophe } from 'strophe.js';
import type { Element } from '../../src/xmpp/xml.js';
import type { TestHub } from './hub.js';

export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
export const NS_XBOSH = 'urn:xmpp:xbosh';

Strophe.setLogLevel(Strophe.LogLevel.FATAL);

/** The BOSH URL of a test hub, plain HTTP or HTTPS. */
export function boshUrl(hub: TestHub, secure = false): string {
  return secure ? `https://127.0.0.1:${hub.httpsPort}/http-bind/` : `http://127.0.0.1:${hub.httpPort}/http-bind/`;
}

// --- raw HTTP -------------------------------------------------------------------------------

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Source address (any 127.x.y.z), to act as another client. */
  localAddress?: string;
  timeoutMs?: number;
}

/** One HTTP(S) request on a connection of its own, so that several can be outstanding at once. */
export function httpRequest(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(target, {
      method: options.method ?? 'GET', headers: options.headers, agent: false,
      localAddress: options.localAddress, rejectUnauthorized: false, timeout: options.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface BoshResponse extends HttpResult {
  /** The <body/> of the answer, when it is XML. */
  body: Element | undefined;
}

/** POSTs `xml` as a BOSH request (text/xml unless the headers say otherwise). */
export async function boshPost(url: string, xml: string | Buffer, options: Omit<RequestOptions, 'body' | 'method'> = {}): Promise<BoshResponse> {
  const headers = { 'Content-Type': 'text/xml; charset=utf-8', ...options.headers };
  const result = await httpRequest(url, { ...options, method: 'POST', headers, body: xml });
  let body: Element | undefined;
  try {
    body = parse(result.text) as Element;
  } catch {
    body = undefined;
  }
  return { ...result, body };
}

/** `<body/>` attributes as XML; undefined values are left out. */
function attributes(attrs: Record<string, string | number | undefined>): string {
  return Object.entries(attrs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}='${String(value).replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;')}'`)
    .join('');
}

export interface RawBoshOptions {
  localAddress?: string;
  headers?: Record<string, string>;
}

/** A BOSH session driven by hand: the test picks every rid and sees every answer. */
export class RawBosh {
  sid = '';
  /** Payloads of every answer, in order. */
  readonly received: Element[] = [];
  private rid = 1_000_000 + Math.floor(Math.random() * 1_000_000);

  constructor(readonly url: string, private readonly options: RawBoshOptions = {}) {}

  /** Creates the session (`attrs` override the defaults; undefined removes one). */
  async create(attrs: Record<string, string | number | undefined> = {}): Promise<BoshResponse> {
    const response = await this.post(this.takeRid(), '', {
      to: 'localhost', 'xml:lang': 'en', ver: '1.11', wait: 5, hold: 1, 'xmpp:version': '1.0', 'xmlns:xmpp': NS_XBOSH, ...attrs,
    });
    this.sid = response.body?.attrs.sid ?? '';
    return response;
  }

  /** Reserves the next rid (for requests the test sends out of order). */
  takeRid(): number {
    return this.rid++;
  }

  /** Sends `payload` in the session's next request. */
  send(payload = '', attrs: Record<string, string | number | undefined> = {}): Promise<BoshResponse> {
    return this.post(this.takeRid(), payload, attrs);
  }

  /** Sends a request with a given rid. */
  async post(rid: number, payload = '', attrs: Record<string, string | number | undefined> = {}): Promise<BoshResponse> {
    const all = { rid, sid: this.sid || undefined, xmlns: NS_HTTPBIND, ...attrs };
    const xml = payload ? `<body${attributes(all)}>${payload}</body>` : `<body${attributes(all)}/>`;
    const response = await boshPost(this.url, xml, this.options);
    this.received.push(...(response.body?.getChildElements() ?? []));
    return response;
  }

  /** Asks for a stream restart (XEP-0206 §5) and returns the answer. */
  restart(): Promise<BoshResponse> {
    return this.send('', { to: 'localhost', 'xml:lang': 'en', 'xmpp:restart': 'true', 'xmlns:xmpp': NS_XBOSH });
  }

  /** Creates the session, authenticates with PLAIN (allowed on this hub) and binds `resource`; returns the full JID. */
  async login(username: string, password: string, resource = 'raw', create: Record<string, string | number> = {}): Promise<string> {
    await this.create(create);
    const token = Buffer.from(`\0${username}\0${password}`).toString('base64');
    await this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${token}</auth>`);
    await this.waitFor((el) => el.name === 'success' || el.name === 'failure');
    if (!this.received.some((el) => el.name === 'success')) throw new Error(`PLAIN login of ${username} failed`);
    await this.restart();
    await this.waitFor((el) => el.name === 'stream:features' && el.getChild('bind') !== undefined);
    await this.send(`<iq xmlns='jabber:client' type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const bound = await this.waitFor((el) => el.attrs.id === 'bind-1');
    const jid = bound.getChild('bind')?.getChildText('jid');
    if (!jid) throw new Error(`binding failed: ${bound.toString()}`);
    return jid;
  }

  /** The first received payload matching `predicate`, polling with empty requests until `timeoutMs`. */
  async waitFor(predicate: (el: Element) => boolean, timeoutMs = 5000): Promise<Element> {
    const deadline = Date.now() + timeoutMs;
    for (let polls = 0; polls < 100; polls++) {
      const found = this.received.find(predicate);
      if (found) return found;
      if (Date.now() >= deadline) break;
      const answer = await this.send();
      if (answer.body?.attrs.type === 'terminate') throw new Error(`session terminated: ${answer.text}`);
    }
    throw new Error(`timed out waiting for a payload; received: ${this.received.map(String).join('').slice(-500)}`);
  }
}

// --- Strophe.js -----------------------------------------------------------------------------

type Connection = InstanceType<typeof Strophe.Connection>;

const MECHANISMS = {
  PLAIN: Strophe.SASLPlain,
  'SCRAM-SHA-1': Strophe.SASLSHA1,
  'SCRAM-SHA-256': Strophe.SASLSHA256,
};

export interface BoshConnectOptions {
  username: string;
  password: string;
  resource?: string;
  /** The one mechanism Strophe may use; its own choice otherwise. */
  mechanism?: keyof typeof MECHANISMS;
  /** Send initial presence once online (default true). */
  presence?: boolean;
  /** The BOSH `wait` Strophe asks for (default 10 s, so held requests stay short in tests). */
  wait?: number;
}

export interface BoshClient {
  connection: Connection;
  jid: string;
  /** Every stanza received, in order, as ltx elements. */
  received: Element[];
  /** Connection status changes (Strophe.Status) with their conditions. */
  statuses: Array<{ status: number; condition: string | null }>;
  waitFor(predicate: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** Resolves once Strophe reports `status`, with its condition. */
  waitForStatus(status: number, timeoutMs?: number): Promise<string | null>;
  send(el: Element): Promise<void>;
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  /** Disconnects cleanly: a terminate request with unavailable presence. */
  stop(): Promise<void>;
  /** Goes away without a word, like a closed browser tab: held requests dropped, no new ones. */
  vanish(): void;
}

interface XmlParser {
  parseFromString(text: string, type: string): { documentElement: unknown };
}

function toDom(el: Element): unknown {
  el.attrs.xmlns ??= 'jabber:client';
  const Parser = (globalThis as unknown as { DOMParser: new () => XmlParser }).DOMParser;
  return new Parser().parseFromString(el.toString(), 'text/xml').documentElement;
}

function fromDom(node: unknown): Element {
  return parse(Strophe.serialize(node as Parameters<typeof Strophe.serialize>[0])) as Element;
}

/** Logs in over BOSH with Strophe.js. */
export async function connectBosh(hub: TestHub, options: BoshConnectOptions): Promise<BoshClient> {
  const connection = new Strophe.Connection(boshUrl(hub), options.mechanism ? { mechanisms: [MECHANISMS[options.mechanism]] } : {});
  const received: Element[] = [];
  const statuses: BoshClient['statuses'] = [];
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const watcher of [...watchers]) watcher();
  };
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => new Promise((resolve, reject) => {
    const watcher = (): void => {
      const found = check();
      if (found === undefined) return;
      watchers.delete(watcher);
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => {
      watchers.delete(watcher);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    watchers.add(watcher);
    watcher();
  });

  connection.addHandler((stanza: unknown) => {
    const el = fromDom(stanza);
    if (el.name === 'message' || el.name === 'presence' || el.name === 'iq') received.push(el);
    notify();
    return true;
  }, null, null, null);

  const resource = options.resource ? `/${options.resource}` : '';
  const online = new Promise<void>((resolve, reject) => {
    connection.connect(`${options.username}@${hub.domain}${resource}`, options.password, (status: number, condition: string | null) => {
      statuses.push({ status, condition });
      notify();
      if (status === Strophe.Status.CONNECTED) resolve();
      else if (status === Strophe.Status.AUTHFAIL || status === Strophe.Status.CONNFAIL || status === Strophe.Status.DISCONNECTED) {
        reject(new Error(`BOSH login of ${options.username} failed: status ${status} ${condition ?? ''}`));
      }
    }, options.wait ?? 10);
  });
  const timeout = setTimeout(() => connection.disconnect('test timeout'), 8000);
  try {
    await online;
  } finally {
    clearTimeout(timeout);
  }
  if (options.presence !== false) {
    connection.send(toDom(parse("<presence xmlns='jabber:client'/>") as Element) as never);
    connection.flush();
  }

  const ended = (): boolean => statuses.some((s) => s.status === Strophe.Status.DISCONNECTED);
  return {
    connection,
    jid: connection.jid,
    received,
    statuses,
    waitFor: (predicate, timeoutMs = 5000) => until(() => received.find(predicate), timeoutMs, 'a stanza'),
    waitForStatus: async (status, timeoutMs = 5000) =>
      (await until(() => statuses.find((s) => s.status === status), timeoutMs, `status ${status}`)).condition,
    async send(el) {
      connection.send(toDom(el) as never);
      connection.flush();
    },
    iq: (el, timeoutMs = 5000) => new Promise((resolve, reject) => {
      connection.sendIQ(toDom(el) as never, (answer: unknown) => resolve(fromDom(answer)), (answer: unknown) => {
        reject(new Error(answer ? `iq error: ${Strophe.serialize(answer as Parameters<typeof Strophe.serialize>[0])}` : 'iq timed out'));
      }, timeoutMs);
    }),
    async stop() {
      if (ended()) return;
      connection.disconnect();
      await until(() => (ended() ? true : undefined), 5000, 'the disconnection').catch(() => connection.reset());
    },
    vanish() {
      connection.pause();
      (connection._proto as unknown as { _abortAllRequests(): void })._abortAllRequests();
      connection.connected = false;
      clearTimeout(connection._idleTimeout ?? undefined);
      statuses.push({ status: Strophe.Status.DISCONNECTED, condition: 'vanished' });
    },
  };
}

/** `http` YAML for a test hub: loopback, ephemeral ports, and `settings` (one `key: value` each). */
export function httpYaml(...settings: string[]): string {
  return 'http:\n  interfaces: ["127.0.0.1"]\n  port: 0\n  tls_port: 0\n' + settings.map((s) => `  ${s}\n`).join('');
}
