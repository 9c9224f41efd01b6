// Real XMPP clients for tests: xmpp.js (@xmpp/client) against a TestHub.
import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '../../src/xmpp/xml.js';
import type { TestHub } from './hub.js';

export { xml };

export interface ConnectOptions {
  username: string;
  password: string;
  resource?: string;
  /** 'PLAIN' or 'SCRAM-SHA-1' (what xmpp.js implements); the client's choice otherwise. */
  mechanism?: string;
  /** Connect with direct TLS (XEP-0368) instead of STARTTLS. */
  directTls?: boolean;
  /** Connect over WebSocket (RFC 7395) on the HTTP ('ws') or HTTPS ('wss') port instead of TCP. */
  websocket?: 'ws' | 'wss';
  /** Send initial presence once online (default true). */
  presence?: boolean;
}

export interface TestClient {
  xmpp: Client;
  jid: string;
  /** Every stanza received, in order. */
  received: Element[];
  /** Resolves with the next received stanza matching `predicate` (already received ones count). */
  waitFor(predicate: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  send(el: Element): Promise<void>;
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  stop(): Promise<void>;
}

export async function connect(hub: TestHub, options: ConnectOptions): Promise<TestClient> {
  const service = serviceOf(hub, options);
  const credentials = options.mechanism
    ? async (authenticate: (c: object, m: string) => Promise<void>, mechanisms: string[]) => {
      if (!mechanisms.includes(options.mechanism!)) throw new Error(`${options.mechanism} not offered: ${mechanisms.join(' ')}`);
      await authenticate({ username: options.username, password: options.password }, options.mechanism!);
    }
    : undefined;
  const xmpp = client({
    service, domain: hub.domain, resource: options.resource,
    ...(credentials ? { credentials } : { username: options.username, password: options.password }),
  });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  const received: Element[] = [];
  const waiters: Array<{ predicate: (el: Element) => boolean; resolve: (el: Element) => void }> = [];
  xmpp.on('stanza', (el: Element) => {
    received.push(el);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(el)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(el);
      }
    }
  });
  const address = await xmpp.start();
  if (options.presence !== false) await xmpp.send(xml('presence'));
  return {
    xmpp,
    jid: address.toString(),
    received,
    waitFor(predicate, timeoutMs = 5000) {
      const seen = received.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a stanza')), timeoutMs);
        waiters.push({ predicate, resolve: (el) => { clearTimeout(timer); resolve(el); } });
      });
    },
    send: (el) => xmpp.send(el),
    iq: (el, timeoutMs = 5000) => xmpp.iqCaller.request(el, timeoutMs),
    async stop() {
      await xmpp.stop().catch(() => {});
    },
  };
}

function serviceOf(hub: TestHub, options: ConnectOptions): string {
  if (options.websocket === 'ws') return `ws://127.0.0.1:${hub.httpPort}/xmpp-websocket`;
  if (options.websocket === 'wss') return `wss://127.0.0.1:${hub.httpsPort}/xmpp-websocket`;
  return options.directTls ? `xmpps://127.0.0.1:${hub.directTlsPort}` : `xmpp://127.0.0.1:${hub.port}`;
}
