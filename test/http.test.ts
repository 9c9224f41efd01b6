// The hub's HTTP front: connection discovery (XEP-0156), the HTTPS listener and its
// certificates, trusted reverse proxies, and the per-address session limit shared by BOSH
// and WebSocket.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { Element } from '../src/xmpp/xml.js';
import { boshUrl, httpRequest, httpYaml, RawBosh } from './support/bosh.js';
import { xml } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { HandshakeRefused, RawWebSocket, websocketUrl } from './support/websocket.js';

const BOSH_REL = 'urn:xmpp:alt-connections:xbosh';
const WEBSOCKET_REL = 'urn:xmpp:alt-connections:websocket';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

const mechanismsOf = (features: Element | undefined): string[] =>
  features?.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.getText()) ?? [];
const featuresOf = (body: Element | undefined): Element | undefined => body?.getChild('features', 'http://etherx.jabber.org/streams');

/** The XRD links of a host-meta document, rel → href. */
function xrdLinks(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/<Link rel='([^']+)' href='([^']+)'\/>/g)].map((m) => [m[1]!, m[2]!]));
}

function jsonLinks(text: string): Record<string, string> {
  const { links } = JSON.parse(text) as { links: Array<{ rel: string; href: string }> };
  return Object.fromEntries(links.map((l) => [l.rel, l.href]));
}

describe('connection discovery (XEP-0156)', () => {
  const suite = useHub({ yaml: httpYaml() });
  const base = (): string => `http://127.0.0.1:${suite.hub.httpPort}`;

  it('lists both endpoints for the host the client used, in XRD and JSON, for pages of any origin', async () => {
    const headers = { Host: 'chat.example.org:5280', Origin: 'https://webmail.example.org' };
    const xrd = await httpRequest(`${base()}/.well-known/host-meta`, { headers });
    assert.equal(xrd.status, 200);
    assert.match(xrd.headers['content-type'] ?? '', /^application\/xrd\+xml/);
    assert.equal(xrd.headers['access-control-allow-origin'], '*');
    assert.match(xrd.text, /<XRD xmlns='http:\/\/docs.oasis-open.org\/ns\/xri\/xrd-1.0'>/);
    assert.deepEqual(xrdLinks(xrd.text), {
      [BOSH_REL]: 'http://chat.example.org:5280/http-bind/',
      [WEBSOCKET_REL]: 'ws://chat.example.org:5280/xmpp-websocket',
    });

    const json = await httpRequest(`${base()}/.well-known/host-meta.json`, { headers });
    assert.equal(json.status, 200);
    assert.match(json.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(json.headers['access-control-allow-origin'], '*');
    assert.deepEqual(jsonLinks(json.text), xrdLinks(xrd.text));
  });

  it('lists https:// and wss:// endpoints when asked over HTTPS, and both endpoints answer there', async () => {
    const origin = `https://127.0.0.1:${suite.hub.httpsPort}`;
    const links = jsonLinks((await httpRequest(`${origin}/.well-known/host-meta.json`)).text);
    assert.equal(links[BOSH_REL], `${origin}/http-bind/`);
    assert.equal(links[WEBSOCKET_REL], `wss://127.0.0.1:${suite.hub.httpsPort}/xmpp-websocket`);
    assert.deepEqual(xrdLinks((await httpRequest(`${origin}/.well-known/host-meta`)).text), links);

    const created = await new RawBosh(links[BOSH_REL]!).create();
    assert.ok(created.body!.attrs.sid);
    const ws = await RawWebSocket.open(links[WEBSOCKET_REL]!);
    ws.close();
  });

  it('does not write a Host header with markup into the links', async () => {
    const meta = await httpRequest(`${base()}/.well-known/host-meta`, { headers: { Host: "x'/><Link rel='evil' href='https://evil.example/" } });
    assert.equal(meta.status, 200);
    assert.doesNotMatch(meta.text, /evil/);
    assert.equal(xrdLinks(meta.text)[BOSH_REL], 'http://localhost/http-bind/');
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    assert.equal((await httpRequest(`${base()}/nothing-here`)).status, 404);
    assert.equal((await httpRequest(`${base()}/.well-known/host-meta`, { method: 'POST', body: 'x' })).status, 405);
  });
});

describe('the HTTPS listener', () => {
  const suite = useHub({
    yaml: httpYaml() + 'hosts:\n  - domain: localhost\n    require_encryption: optional\n  - domain: example.test\n    require_encryption: optional\n',
    users: { alice: PASSWORD },
  });

  /** The certificate the HTTPS port presents for `servername`. */
  function certificateFor(servername: string): Promise<tls.PeerCertificate> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: suite.hub.httpsPort, servername, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate());
        socket.destroy();
      });
      socket.once('error', reject);
    });
  }

  it('presents the certificate of each host (SNI)', async () => {
    assert.match((await certificateFor('localhost')).subjectaltname ?? '', /DNS:localhost\b/);
    assert.match((await certificateFor('example.test')).subjectaltname ?? '', /DNS:example\.test\b/);
  });

  it('offers SCRAM-PLUS and channel bindings over WebSocket, where the TLS channel is the client\'s own', async () => {
    const raw = await RawWebSocket.open(websocketUrl(suite.hub, true));
    try {
      const features = raw.elements.find((el) => el.name === 'stream:features');
      const mechanisms = mechanismsOf(features);
      assert.ok(mechanisms.includes('SCRAM-SHA-256-PLUS') && mechanisms.includes('SCRAM-SHA-1-PLUS'), mechanisms.join(' '));
      assert.ok(mechanisms.includes('PLAIN'), 'PLAIN over TLS');
      const bindings = features!.getChild('sasl-channel-binding', 'urn:xmpp:sasl-cb:0')?.getChildren('channel-binding').map((c) => c.attrs.type);
      assert.ok(bindings?.includes('tls-server-end-point'), String(bindings));
    } finally {
      raw.close();
    }
  });

  it('marks BOSH over HTTPS secure and offers PLAIN, but no channel binding: requests may use other TLS connections', async () => {
    const created = await new RawBosh(boshUrl(suite.hub, true)).create();
    assert.equal(created.body!.attrs.secure, 'true');
    const features = featuresOf(created.body);
    const mechanisms = mechanismsOf(features);
    assert.deepEqual(mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    assert.equal(features!.getChild('sasl-channel-binding'), undefined);
  });

  it('lets an xmpp.js user log in over wss:// with PLAIN', async () => {
    const client = await suite.login('alice', { websocket: 'wss', mechanism: 'PLAIN' });
    assert.match(client.jid, /^alice@localhost\//);
    const pong = await client.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
  });
});

describe('behind a trusted reverse proxy', () => {
  const suite = useHub({ yaml: httpYaml('trusted_proxies: ["127.0.0.1"]', 'max_sessions_per_address: 2') });
  const bosh = (headers: Record<string, string>) => new RawBosh(boshUrl(suite.hub), { headers });

  it('counts sessions per forwarded client address, not per proxy', async () => {
    const first = { 'X-Forwarded-For': '203.0.113.5' };
    for (let i = 0; i < 2; i++) assert.ok((await bosh(first).create()).body!.attrs.sid);
    const third = await bosh(first).create();
    assert.equal(third.body!.attrs.condition, 'policy-violation');
    // Addresses the client wrote further left are not believed: the proxy's own entry counts.
    const spoofed = await bosh({ 'X-Forwarded-For': '10.1.1.1, 203.0.113.5' }).create();
    assert.equal(spoofed.body!.attrs.condition, 'policy-violation');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'too many BOSH and WebSocket sessions from one address' && l.address === '203.0.113.5'));

    const other = await bosh({ 'X-Forwarded-For': '203.0.113.6' }).create();
    assert.ok(other.body!.attrs.sid, 'another forwarded address has its own count');
    const standard = await bosh({ Forwarded: 'for=198.51.100.7' }).create();
    assert.ok(standard.body!.attrs.sid, 'Forwarded (RFC 7239) too');
  });

  it('counts WebSocket sessions per forwarded address as well', async () => {
    const options = { headers: { 'X-Forwarded-For': '203.0.113.20' } };
    const open = [await RawWebSocket.connect(websocketUrl(suite.hub), options), await RawWebSocket.connect(websocketUrl(suite.hub), options)];
    try {
      await assert.rejects(RawWebSocket.connect(websocketUrl(suite.hub), options), (err: HandshakeRefused) => err.status === 429);
      const other = await RawWebSocket.connect(websocketUrl(suite.hub), { headers: { 'X-Forwarded-For': '203.0.113.21' } });
      other.close();
    } finally {
      for (const ws of open) ws.close();
    }
  });

  it('believes X-Forwarded-Proto and Forwarded proto=https: the BOSH session is secure and PLAIN is offered', async () => {
    const proxied: Array<Record<string, string>> = [
      { 'X-Forwarded-For': '203.0.113.30', 'X-Forwarded-Proto': 'https' },
      { Forwarded: 'for=203.0.113.31;proto=https' },
    ];
    for (const headers of proxied) {
      const created = await bosh(headers).create();
      assert.equal(created.body!.attrs.secure, 'true', JSON.stringify(headers));
      assert.ok(mechanismsOf(featuresOf(created.body)).includes('PLAIN'));
    }
    const clear = await bosh({ 'X-Forwarded-For': '203.0.113.32', 'X-Forwarded-Proto': 'http' }).create();
    assert.equal(clear.body!.attrs.secure, 'false');
    assert.ok(!mechanismsOf(featuresOf(clear.body)).includes('PLAIN'), 'no PLAIN in clear text');
  });

  it('lists the endpoints under the forwarded host and scheme', async () => {
    const meta = await httpRequest(`http://127.0.0.1:${suite.hub.httpPort}/.well-known/host-meta.json`, {
      headers: { 'X-Forwarded-For': '203.0.113.40', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'chat.example.org' },
    });
    assert.deepEqual(jsonLinks(meta.text), {
      [BOSH_REL]: 'https://chat.example.org/http-bind/',
      [WEBSOCKET_REL]: 'wss://chat.example.org/xmpp-websocket',
    });
  });

  it('offers no channel binding over wss:// through the proxy, whose TLS is not the client\'s', async () => {
    const raw = await RawWebSocket.open(websocketUrl(suite.hub, true), { headers: { 'X-Forwarded-For': '203.0.113.50' } });
    try {
      const mechanisms = mechanismsOf(raw.elements.find((el) => el.name === 'stream:features'));
      assert.ok(!mechanisms.some((m) => m.endsWith('-PLUS')), mechanisms.join(' '));
    } finally {
      raw.close();
    }
  });
});

describe('without trusted proxies', () => {
  const suite = useHub({ yaml: httpYaml('max_sessions_per_address: 2') });
  const bosh = (headers: Record<string, string>) => new RawBosh(boshUrl(suite.hub), { headers, localAddress: '127.0.0.9' });

  it('ignores forwarding headers: the socket address counts and the scheme is the connection\'s', async () => {
    const created = await bosh({ 'X-Forwarded-For': '203.0.113.5', 'X-Forwarded-Proto': 'https' }).create();
    assert.equal(created.body!.attrs.secure, 'false');
    assert.ok(!mechanismsOf(featuresOf(created.body)).includes('PLAIN'));
    assert.ok((await bosh({ Forwarded: 'for=203.0.113.6;proto=https' }).create()).body!.attrs.sid);
    const third = await bosh({ 'X-Forwarded-For': '203.0.113.7' }).create();
    assert.equal(third.body!.attrs.condition, 'policy-violation');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'too many BOSH and WebSocket sessions from one address' && l.address === '127.0.0.9'));

    const meta = await httpRequest(`http://127.0.0.1:${suite.hub.httpPort}/.well-known/host-meta.json`, {
      headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' },
    });
    assert.equal(jsonLinks(meta.text)[BOSH_REL], `http://127.0.0.1:${suite.hub.httpPort}/http-bind/`);
  });
});

describe('the per-address session limit', () => {
  const suite = useHub({ yaml: httpYaml('max_sessions_per_address: 2') });
  const localAddress = '127.0.0.2';

  it('is shared by BOSH and WebSocket, and a session that ends frees its place', async () => {
    const session = new RawBosh(boshUrl(suite.hub), { localAddress });
    await session.create();
    const ws = await RawWebSocket.connect(websocketUrl(suite.hub), { localAddress });
    try {
      await assert.rejects(RawWebSocket.connect(websocketUrl(suite.hub), { localAddress }), (err: HandshakeRefused) => err.status === 429);
      assert.equal((await new RawBosh(boshUrl(suite.hub), { localAddress }).create()).body!.attrs.condition, 'policy-violation');
      const elsewhere = await new RawBosh(boshUrl(suite.hub), { localAddress: '127.0.0.3' }).create();
      assert.ok(elsewhere.body!.attrs.sid, 'other addresses are not affected');

      await session.send('', { type: 'terminate' });
      const again = await new RawBosh(boshUrl(suite.hub), { localAddress }).create();
      assert.ok(again.body!.attrs.sid, 'the terminated session freed its place');
    } finally {
      ws.close();
    }
    // The server notices the closed WebSocket a moment later.
    for (let attempt = 1; ; attempt++) {
      try {
        (await RawWebSocket.connect(websocketUrl(suite.hub), { localAddress })).close();
        break;
      } catch (err) {
        if (!(err instanceof HandshakeRefused) || attempt === 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });

  it('does not count WebSocket handshakes that failed', async () => {
    const address = '127.0.0.4';
    for (let i = 0; i < 3; i++) {
      // A handshake ws itself refuses (unsupported version) after our checks passed.
      const status = await rawUpgrade(suite.hub.httpPort, address, { 'Sec-WebSocket-Version': '99' });
      assert.equal(status, 400);
    }
    const ws = await RawWebSocket.connect(websocketUrl(suite.hub), { localAddress: address });
    ws.close();
  });
});

/** Sends a WebSocket upgrade request by hand and resolves with the HTTP status of the answer. */
function rawUpgrade(port: number, localAddress: string, headers: Record<string, string>): Promise<number> {
  const all: Record<string, string> = {
    Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'xmpp', ...headers,
  };
  const request = `GET /xmpp-websocket HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => socket.write(request));
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer to the upgrade')));
    socket.on('data', (data: string) => {
      answer += data;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (status) {
        resolve(Number(status[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}
