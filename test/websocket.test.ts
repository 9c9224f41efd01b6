// XMPP over WebSocket (RFC 7395) at /xmpp-websocket: xmpp.js users, then the framing frame by
// frame with the ws package, and what the server does with frames it cannot accept.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub, withHub } from './support/fixture.js';
import { PLAIN_ALLOWED } from './support/hub.js';
import { httpYaml } from './support/bosh.js';
import { bare, subscribeMutually } from './support/stanzas.js';
import { HandshakeRefused, NS_FRAMING, OPEN, RawWebSocket, websocketUrl } from './support/websocket.js';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const ALLOWED_ORIGIN = 'https://mail.example.org';

const chat = (to: string, id: string, body: string) => xml('message', { to, id, type: 'chat' }, xml('body', {}, body));
const isPresence = (from: string, type?: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === type;
/** The defined condition of a <stream:error/>. */
const streamErrorCondition = (el: Element) => el.getChildElements().find((c) => c.attrs.xmlns === NS_STREAMS && c.name !== 'text')?.name;

describe('XMPP over WebSocket (RFC 7395)', () => {
  const suite = useHub({
    yaml: PLAIN_ALLOWED + httpYaml(`cors_origins: ["${ALLOWED_ORIGIN}"]`),
    users: { alice: PASSWORD, bob: PASSWORD, carol: PASSWORD },
  });
  const url = (): string => websocketUrl(suite.hub);
  const raws: RawWebSocket[] = [];
  const track = (raw: RawWebSocket): RawWebSocket => {
    raws.push(raw);
    return raw;
  };
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.close();
  });

  /** Two users chatting over WebSocket the whole time: bad input elsewhere must not disturb them. */
  let carol: TestClient;
  let bob: TestClient;
  before(async () => {
    carol = await suite.login('carol', { resource: 'steady', websocket: 'ws' });
    bob = await suite.login('bob', { resource: 'steady', websocket: 'ws' });
  });
  let exchanges = 0;
  async function othersStillWork(): Promise<void> {
    const id = `steady-${++exchanges}`;
    await carol.send(chat(bob.jid, id, 'still fine?'));
    await bob.waitFor((el) => el.attrs.id === id);
    await bob.send(chat(carol.jid, `${id}-re`, 'still fine'));
    await carol.waitFor((el) => el.attrs.id === `${id}-re`);
  }

  const logged = (msg: string) => suite.hub.logs.some((l) => l.msg === msg);

  describe('with xmpp.js', () => {
    it('logs in with SCRAM-SHA-1 and PLAIN and exchanges messages with a TCP user', async () => {
      for (const mechanism of ['SCRAM-SHA-1', 'PLAIN']) {
        const ws = await suite.login('alice', { resource: `ws-${mechanism}`, mechanism, websocket: 'ws' });
        assert.equal(ws.jid, `alice@localhost/ws-${mechanism}`);
        const tcp = await suite.login('bob', { resource: `tcp-${mechanism}` });
        await ws.send(chat(tcp.jid, `to-tcp-${mechanism}`, 'over websocket'));
        const got = await tcp.waitFor((el) => el.attrs.id === `to-tcp-${mechanism}`);
        assert.equal(got.attrs.from, ws.jid);
        await tcp.send(chat(ws.jid, `to-ws-${mechanism}`, 'over tcp'));
        assert.equal((await ws.waitFor((el) => el.attrs.id === `to-ws-${mechanism}`)).getChildText('body'), 'over tcp');
      }
    });

    it('delivers a message stored while the user was offline when they log in over WebSocket', async () => {
      const dave = await suite.account('dave', PASSWORD);
      const tcp = await suite.login('bob', { resource: 'sender' });
      await tcp.send(chat(bare(dave), 'stored-1', 'for later'));
      for (let i = 0; i < 60 && await suite.hub.hub.store.offline.count('localhost', dave) === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const ws = await suite.login(dave, { websocket: 'ws' });
      const message = await ws.waitFor((el) => el.attrs.id === 'stored-1');
      assert.equal(message.getChildText('body'), 'for later');
      assert.ok(message.getChild('delay', 'urn:xmpp:delay'));
    });

    it('treats a dropped WebSocket as a dropped connection: contacts get unavailable presence', async () => {
      const erin = await suite.account('erin', PASSWORD);
      await subscribeMutually(suite.hub, erin, 'bob');
      const watcher = await suite.login('bob', { resource: 'watcher' });
      const { raw, jid } = await RawWebSocket.login(url(), erin, PASSWORD, 'flaky');
      track(raw);
      raw.send("<presence xmlns='jabber:client'/>");
      await watcher.waitFor(isPresence(jid));
      raw.ws.terminate();
      await watcher.waitFor(isPresence(jid, 'unavailable'));
    });

    it('replaces a WebSocket session when the same resource logs in again (conflict)', async () => {
      const { raw } = await RawWebSocket.login(url(), 'alice', PASSWORD, 'twice');
      track(raw);
      const again = await suite.login('alice', { resource: 'twice', websocket: 'ws' });
      const error = await raw.waitFor((el) => el.name === 'stream:error');
      assert.equal(streamErrorCondition(error), 'conflict');
      await raw.waitFor((el) => el.is('close') && el.attrs.xmlns === NS_FRAMING);
      await raw.waitClosed();
      assert.equal(again.jid, 'alice@localhost/twice');
    });
  });

  describe('framing', () => {
    it('answers <open/> with <open/> and features, every frame a complete document with its namespaces', async () => {
      const raw = track(await RawWebSocket.connect(url()));
      assert.equal(raw.ws.protocol, 'xmpp');
      raw.send(OPEN());
      const features = await raw.waitFor((el) => el.name === 'stream:features');
      const open = raw.elements[0]!;
      assert.equal(open.name, 'open');
      assert.equal(open.attrs.xmlns, NS_FRAMING);
      assert.equal(open.attrs.from, 'localhost');
      assert.equal(open.attrs.version, '1.0');
      assert.ok(open.attrs.id, 'a stream id');
      assert.ok(open.attrs['xml:lang']);
      assert.equal(open.attrs.to, undefined);
      assert.equal(features.attrs['xmlns:stream'], NS_STREAM);
      assert.ok(features.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl'));
      assert.equal(features.getChild('starttls'), undefined, 'no STARTTLS inside WebSocket');
      assert.equal(raw.elements.length, raw.frames.length, 'every frame parses on its own');
    });

    it('sends stanzas with xmlns="jabber:client" on each, and answers <close/> with <close/>', async () => {
      const { raw, jid } = await RawWebSocket.login(url(), 'alice', PASSWORD, 'framed');
      track(raw);
      assert.equal(raw.elements.find((el) => el.attrs.id === 'bind-1')!.attrs.xmlns, 'jabber:client');
      await bob.send(chat(jid, 'framed-1', 'hello'));
      const message = await raw.waitFor((el) => el.attrs.id === 'framed-1');
      assert.equal(message.attrs.xmlns, 'jabber:client');
      assert.equal(raw.elements.length, raw.frames.length, 'every frame parses on its own');

      raw.send(`<close xmlns='${NS_FRAMING}'/>`);
      const close = await raw.waitFor((el) => el.is('close'));
      assert.equal(close.attrs.xmlns, NS_FRAMING);
      assert.equal((await raw.waitClosed()).code, 1000);
    });

    it('refuses a handshake without the "xmpp" subprotocol (400)', async () => {
      await assert.rejects(RawWebSocket.connect(url(), { protocols: ['chat'] }), (err: HandshakeRefused) => err.status === 400);
      await assert.rejects(RawWebSocket.connect(url(), { protocols: [] }), (err: HandshakeRefused) => err.status === 400);
      assert.ok(logged('WebSocket connection refused'));
      await othersStillWork();
    });

    it('refuses pages from origins not in cors_origins (403) and serves the configured one and its own', async () => {
      await assert.rejects(RawWebSocket.connect(url(), { origin: 'https://evil.example' }), (err: HandshakeRefused) => err.status === 403);
      const allowed = track(await RawWebSocket.open(url(), { origin: ALLOWED_ORIGIN }));
      assert.ok(allowed.elements.some((el) => el.name === 'stream:features'));
      // The hub's own pages (the web client) are same-origin: Origin http://<Host header>.
      const own = track(await RawWebSocket.open(url(), { origin: `http://127.0.0.1:${suite.hub.httpPort}` }));
      assert.ok(own.elements.some((el) => el.name === 'stream:features'));
    });

    it('closes the stream with a stream error for an unknown host in <open/>', async () => {
      const raw = track(await RawWebSocket.connect(url()));
      raw.send(OPEN('elsewhere.example'));
      const error = await raw.waitFor((el) => el.name === 'stream:error');
      assert.equal(streamErrorCondition(error), 'host-unknown');
      await raw.waitFor((el) => el.is('close'));
      await raw.waitClosed();
    });
  });

  describe('bad frames', () => {
    /** Sends `frame` on an opened stream; resolves with the stream error condition once the server closed. */
    async function streamErrorFor(send: (raw: RawWebSocket) => void, open = true): Promise<string | undefined> {
      const raw = track(open ? await RawWebSocket.open(url()) : await RawWebSocket.connect(url()));
      send(raw);
      await raw.waitClosed();
      const frames = raw.elements;
      const error = frames.at(-2);
      assert.equal(error?.name, 'stream:error', raw.frames.join(' '));
      assert.equal(error.attrs['xmlns:stream'], NS_STREAM);
      assert.ok(frames.at(-1)!.is('close') && frames.at(-1)!.attrs.xmlns === NS_FRAMING, 'the error is followed by <close/>');
      return streamErrorCondition(error);
    }

    it('closes the stream for a text frame that is not XML, or has text after its element', async () => {
      for (const frame of ['hello, is this XMPP?', "<presence xmlns='jabber:client'/> and some text"]) {
        assert.equal(await streamErrorFor((raw) => raw.send(frame)), 'not-well-formed', frame);
      }
      assert.ok(logged('bad XML from client'));
      await othersStillWork();
    });

    it('closes the stream for a frame with a partial element', async () => {
      assert.equal(await streamErrorFor((raw) => raw.send("<message xmlns='jabber:client' to='bob@localhost'><body>cut")), 'not-well-formed');
      await othersStillWork();
    });

    it('closes the stream with policy-violation for a frame above c2s.max_stanza_size', async () => {
      const big = `<message xmlns='jabber:client' to='bob@localhost'><body>${'x'.repeat(262_144)}</body></message>`;
      assert.equal(await streamErrorFor((raw) => raw.send(big)), 'policy-violation');
      await othersStillWork();
    });

    it('closes the stream for a binary frame', async () => {
      assert.equal(await streamErrorFor((raw) => raw.send(Buffer.from("<presence xmlns='jabber:client'/>"), true)), 'bad-format');
      await othersStillWork();
    });

    it('closes the stream for a stanza before <open/>', async () => {
      assert.equal(await streamErrorFor((raw) => raw.send("<presence xmlns='jabber:client'/>"), false), 'bad-format');
      await othersStillWork();
    });

    it('closes the stream for <open/> outside the framing namespace', async () => {
      const condition = await streamErrorFor((raw) => raw.send(`<open xmlns='${NS_STREAM}' to='localhost' version='1.0'/>`), false);
      assert.equal(condition, 'invalid-namespace');
      await othersStillWork();
    });
  });
});

describe('XMPP over WebSocket with see-other-uri', () => {
  it('opens the stream and then redirects it with <close see-other-uri/>', async () => {
    const target = 'wss://chat.example.org/xmpp-websocket';
    await withHub({ yaml: httpYaml(`websocket: { see_other_uri: "${target}" }`) }, async (hub) => {
      const raw = await RawWebSocket.connect(websocketUrl(hub));
      try {
        raw.send(OPEN());
        const close = await raw.waitFor((el) => el.is('close'));
        assert.equal(close.attrs.xmlns, NS_FRAMING);
        assert.equal(close.attrs['see-other-uri'], target);
        assert.equal(raw.elements[0]!.name, 'open', '<open/> comes first');
        assert.ok(!raw.elements.some((el) => el.name === 'stream:features'), 'no features for a redirected stream');
        await raw.waitClosed();
        assert.ok(hub.logs.some((l) => l.msg === 'redirecting a WebSocket stream'));
      } finally {
        raw.close();
      }
    });
  });
});
