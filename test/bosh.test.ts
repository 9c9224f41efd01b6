// BOSH (XEP-0124 with XEP-0206) at /http-bind/: Strophe.js users next to WebSocket and TCP
// users, then the binding itself request by request over raw HTTP, and bad requests.
import assert from 'node:assert/strict';
import { Strophe } from 'strophe.js';
import type { Element } from '../src/xmpp/xml.js';
import { boshPost, boshUrl, connectBosh, httpRequest, httpYaml, NS_HTTPBIND, RawBosh, type BoshClient, type BoshConnectOptions } from './support/bosh.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { PLAIN_ALLOWED, type TestHub } from './support/hub.js';
import { bare, subscribeMutually } from './support/stanzas.js';

const NS_CARBONS = 'urn:xmpp:carbons:2';

const chat = (to: string, id: string, body: string) => xml('message', { to, id, type: 'chat' }, xml('body', {}, body));
const isPresence = (from: string, type?: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === type;

/** Strophe clients stopped after each test. */
function useBoshClients(hub: () => TestHub): (name: string, options?: Partial<BoshConnectOptions>) => Promise<BoshClient> {
  const clients: BoshClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });
  return async (username, options = {}) => {
    const client = await connectBosh(hub(), { username, password: PASSWORD, ...options });
    clients.push(client);
    return client;
  };
}

/** Resolves when `check` holds, polling for at most `timeoutMs`. */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('BOSH with Strophe.js', () => {
  const INACTIVITY = 5;
  const suite = useHub({
    yaml: PLAIN_ALLOWED + httpYaml(`bosh: { max_inactivity: ${INACTIVITY} }`),
  });
  const bosh = useBoshClients(() => suite.hub);

  /** Fresh accounts, subscribed to each other's presence. */
  async function friends(...bases: string[]): Promise<string[]> {
    const names: string[] = [];
    for (const base of bases) names.push(await suite.account(base, PASSWORD));
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) await subscribeMutually(suite.hub, names[i]!, names[j]!);
    }
    return names;
  }

  it('logs in with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN, restarting the stream after SASL and binding the resource', async () => {
    const [alice] = await friends('alice');
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const) {
      const client = await bosh(alice!, { mechanism, resource: `web-${mechanism}` });
      assert.equal(client.jid, `${alice}@localhost/web-${mechanism}`);
      const pong = await client.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      assert.equal(pong.attrs.type, 'result');
    }
    const logins = suite.hub.logs.filter((l) => l.msg === 'authenticated' && l.user === `${alice}@localhost`);
    assert.equal(logins.length, 3);
  });

  it('refuses a wrong password', async () => {
    const [alice] = await friends('alice');
    await assert.rejects(bosh(alice!, { password: 'wrong' }), /failed: status 4/);
  });

  it('exchanges messages and presence with a WebSocket user and a TCP user', async () => {
    const [alice, bob, carol] = await friends('alice', 'bob', 'carol');
    const web = await bosh(alice!, { resource: 'web' });
    const ws = await suite.login(bob!, { password: PASSWORD, resource: 'ws', websocket: 'ws' });
    const tcp = await suite.login(carol!, { password: PASSWORD, resource: 'tcp' });

    await web.waitFor(isPresence(ws.jid));
    await web.waitFor(isPresence(tcp.jid));
    await ws.waitFor(isPresence(web.jid));
    await tcp.waitFor(isPresence(web.jid));

    await web.send(chat(ws.jid, 'b1', 'hello websocket'));
    await web.send(chat(bare(carol!), 'b2', 'hello tcp'));
    assert.equal((await ws.waitFor((el) => el.attrs.id === 'b1')).getChildText('body'), 'hello websocket');
    const toTcp = await tcp.waitFor((el) => el.attrs.id === 'b2');
    assert.equal(toTcp.attrs.from, web.jid);
    assert.equal(toTcp.getChildText('body'), 'hello tcp');

    await ws.send(chat(web.jid, 'w1', 'hello bosh from websocket'));
    await tcp.send(chat(bare(alice!), 't1', 'hello bosh from tcp'));
    const fromWs = await web.waitFor((el) => el.attrs.id === 'w1');
    assert.equal(fromWs.attrs.from, ws.jid);
    assert.equal(fromWs.getChildText('body'), 'hello bosh from websocket');
    assert.equal((await web.waitFor((el) => el.attrs.id === 't1')).getChildText('body'), 'hello bosh from tcp');

    await web.send(xml('presence', {}, xml('show', {}, 'away')));
    await tcp.waitFor((el) => isPresence(web.jid)(el) && el.getChildText('show') === 'away');
    await ws.waitFor((el) => isPresence(web.jid)(el) && el.getChildText('show') === 'away');
  });

  it('delivers a message stored while the user was offline when they log in over BOSH', async () => {
    const [alice, bob] = await friends('alice', 'bob');
    const tcp = await suite.login(bob!, { password: PASSWORD });
    await tcp.send(chat(bare(alice!), 'off1', 'while you were away'));
    await eventually(async () => await suite.hub.hub.store.offline.count('localhost', alice!) === 1, 3000, 'the stored message');

    const web = await bosh(alice!);
    const message = await web.waitFor((el) => el.attrs.id === 'off1');
    assert.equal(message.getChildText('body'), 'while you were away');
    assert.ok(message.getChild('delay', 'urn:xmpp:delay'), 'stamped with its delay');
    await eventually(async () => await suite.hub.hub.store.offline.count('localhost', alice!) === 0, 3000, 'the store to empty');
  });

  it('gives a BOSH resource carbon copies of messages its other resources receive and send', async () => {
    const [alice, bob] = await friends('alice', 'bob');
    const web = await bosh(alice!, { resource: 'web' });
    const enabled = await web.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_CARBONS })));
    assert.equal(enabled.attrs.type, 'result');
    const desk = await suite.login(alice!, { password: PASSWORD, resource: 'desk' });
    const friend = await suite.login(bob!, { password: PASSWORD });

    await friend.send(chat(desk.jid, 'c1', 'to the desk'));
    await desk.waitFor((el) => el.attrs.id === 'c1');
    const received = await web.waitFor((el) => el.getChild('received', NS_CARBONS) !== undefined);
    const copy = received.getChild('received', NS_CARBONS)!.getChild('forwarded')!.getChild('message')!;
    assert.equal(received.attrs.from, bare(alice!));
    assert.equal(copy.attrs.id, 'c1');
    assert.equal(copy.getChildText('body'), 'to the desk');

    await desk.send(chat(friend.jid, 'c2', 'from the desk'));
    const sent = await web.waitFor((el) => el.getChild('sent', NS_CARBONS) !== undefined);
    assert.equal(sent.getChild('sent', NS_CARBONS)!.getChild('forwarded')!.getChild('message')!.attrs.id, 'c2');
  });

  it('ends with a terminate request carrying unavailable presence: contacts see it and the session is gone', async () => {
    const [alice, bob] = await friends('alice', 'bob');
    const tcp = await suite.login(bob!, { password: PASSWORD });
    const web = await bosh(alice!, { resource: 'leaving' });
    await tcp.waitFor(isPresence(web.jid));
    const sessions = suite.hub.hub.web.bosh.size;

    await web.stop();
    await tcp.waitFor(isPresence(web.jid, 'unavailable'));
    assert.equal(suite.hub.hub.web.bosh.size, sessions - 1);
  });

  it('replaces a BOSH session when the same resource logs in again (conflict)', async () => {
    const [alice] = await friends('alice');
    const first = await bosh(alice!, { resource: 'same' });
    const second = await bosh(alice!, { resource: 'same' });
    assert.equal(await first.waitForStatus(Strophe.Status.DISCONNECTED), 'conflict');
    const pong = await second.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
  });

  it('times out a client that stops polling like a dropped connection: unavailable presence, then offline storage', async function () {
    this.timeout((INACTIVITY + 5) * 1000);
    const [alice, bob] = await friends('alice', 'bob');
    const tcp = await suite.login(bob!, { password: PASSWORD });
    const web = await bosh(alice!, { resource: 'gone' });
    await tcp.waitFor(isPresence(web.jid));

    const left = Date.now();
    web.vanish();
    const unavailable = await tcp.waitFor(isPresence(web.jid, 'unavailable'), (INACTIVITY + 3) * 1000);
    assert.ok(unavailable);
    const waited = (Date.now() - left) / 1000;
    assert.ok(waited >= INACTIVITY - 0.5 && waited < INACTIVITY + 3, `timed out after ${waited} s`);
    assert.ok(suite.hub.logs.some((l) => l.msg === 'BOSH session timed out' && l.jid === web.jid));

    await tcp.send(chat(bare(alice!), 'late', 'are you there?'));
    await eventually(async () => await suite.hub.hub.store.offline.count('localhost', alice!) === 1, 3000, 'the message to be stored');
  });
});

describe('BOSH requests (XEP-0124 over raw HTTP)', () => {
  const MAX_WAIT = 10;
  const MAX_BODY = 4096;
  const suite = useHub({
    yaml: PLAIN_ALLOWED + httpYaml(`bosh: { max_wait: ${MAX_WAIT}, max_hold: 2, max_inactivity: 20, max_pause: 30, polling: 1, max_body_size: ${MAX_BODY} }`),
    users: { alice: PASSWORD, bob: PASSWORD },
  });
  const url = (): string => boshUrl(suite.hub);
  let bob: TestClient;
  before(async () => {
    bob = await suite.login('bob', { resource: 'tcp' });
  });

  /** A logged-in raw session of alice with `wait` seconds. */
  async function alice(resource: string, wait = 2): Promise<RawBosh> {
    const session = new RawBosh(url());
    await session.login('alice', PASSWORD, resource, { wait });
    return session;
  }

  const logged = (msg: string) => suite.hub.logs.some((l) => l.msg === msg);

  it('answers session creation with the negotiated attributes and the stream features', async () => {
    const session = new RawBosh(url());
    const rid = 4242;
    const response = await session.post(rid, '', {
      to: 'localhost', 'xml:lang': 'en', ver: '1.6', wait: 100, hold: 5, ack: 1, 'xmpp:version': '1.0', 'xmlns:xmpp': 'urn:xmpp:xbosh',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/xml; charset=utf-8');
    const body = response.body!;
    assert.equal(body.name, 'body');
    assert.equal(body.attrs.xmlns, NS_HTTPBIND);
    assert.match(body.attrs.sid ?? '', /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(body.attrs.wait, String(MAX_WAIT), 'wait is at most max_wait');
    assert.equal(body.attrs.hold, '2', 'hold is at most max_hold');
    assert.equal(body.attrs.requests, '3');
    assert.equal(body.attrs.inactivity, '20');
    assert.equal(body.attrs.polling, '1');
    assert.equal(body.attrs.maxpause, '30');
    assert.equal(body.attrs.ver, '1.6', 'the lower of the two versions');
    assert.equal(body.attrs.from, 'localhost');
    assert.ok(body.attrs.authid, 'the stream id');
    assert.equal(body.attrs['xmpp:version'], '1.0');
    assert.equal(body.attrs['xmpp:restartlogic'], 'true');
    assert.equal(body.attrs['xmlns:xmpp'], 'urn:xmpp:xbosh');
    assert.equal(body.attrs.ack, String(rid));
    assert.equal(body.attrs.secure, 'false');
    const features = body.getChild('features', 'http://etherx.jabber.org/streams');
    assert.ok(features, 'the stream features come with the creation response');
    assert.equal(body.attrs['xmlns:stream'], 'http://etherx.jabber.org/streams');
    const mechanisms = features.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl')!.getChildren('mechanism').map((m) => m.getText());
    assert.deepEqual(mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  });

  it('holds an empty request for `wait` seconds, then answers it empty', async () => {
    const session = await alice('poll', 1);
    const started = Date.now();
    const answer = await session.send();
    const took = Date.now() - started;
    assert.equal(answer.status, 200);
    assert.equal(answer.body!.getChildElements().length, 0);
    assert.equal(answer.body!.attrs.type, undefined);
    assert.ok(took >= 900 && took < 2500, `answered after ${took} ms`);
  });

  it('answers a held request as soon as a stanza arrives for the user', async () => {
    const session = await alice('early', 5);
    const started = Date.now();
    const held = session.send();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bob.send(chat('alice@localhost/early', 'now', 'right now'));
    const answer = await held;
    const took = Date.now() - started;
    assert.ok(took < 2000, `answered after ${took} ms`);
    assert.equal(answer.body!.getChild('message')?.attrs.id, 'now');
    assert.equal(answer.body!.getChild('message')?.attrs.xmlns, 'jabber:client');
  });

  it('processes simultaneous requests in rid order, whatever order they arrive in', async () => {
    const session = await alice('ordered', 1);
    const first = session.takeRid();
    const second = session.takeRid();
    const later = session.post(second, chat('bob@localhost/tcp', 'o2', 'second').toString());
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(bob.received.filter((el) => el.attrs.id === 'o2').length, 0, 'not processed before the missing rid');
    const earlier = session.post(first, chat('bob@localhost/tcp', 'o1', 'first').toString());
    await bob.waitFor((el) => el.attrs.id === 'o2');
    const ids = bob.received.filter((el) => el.attrs.id === 'o1' || el.attrs.id === 'o2').map((el) => el.attrs.id);
    assert.deepEqual(ids, ['o1', 'o2']);
    const answers = await Promise.all([earlier, later]);
    for (const answer of answers) assert.equal(answer.body!.attrs.type, undefined);
  });

  it('resends the identical answer when a rid is repeated', async () => {
    const session = await alice('resend', 5);
    const rid = session.takeRid();
    const held = session.post(rid);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bob.send(chat('alice@localhost/resend', 'lost', 'did you get this?'));
    const original = await held;
    assert.ok(original.body!.getChild('message'), 'the answer carries the message');
    const again = await session.post(rid);
    assert.equal(again.status, 200);
    assert.equal(again.text, original.text);
    assert.ok(logged('resending a BOSH response'));
  });

  it('acknowledges a later request on the answer to an earlier one when acks were asked for', async () => {
    const session = new RawBosh(url());
    await session.create({ ack: 1, wait: 1 });
    const first = session.send();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const secondRid = session.takeRid();
    const second = session.post(secondRid);
    assert.equal((await first).body!.attrs.ack, String(secondRid));
    assert.equal((await second).body!.attrs.ack, undefined, 'no ack naming the request answered');
  });

  it('times out a session whose last request waits for a rid that never comes', async () => {
    await subscribeMutually(suite.hub, 'alice', 'bob');
    const session = await alice('gap', 1);
    await session.send("<presence xmlns='jabber:client'/>");
    await bob.waitFor(isPresence('alice@localhost/gap'));
    // A pause of 1 s shortens the inactivity period; then a request comes with a gap before it.
    await session.send('', { pause: 1 });
    session.takeRid();
    const stranded = session.send();
    await bob.waitFor(isPresence('alice@localhost/gap', 'unavailable'), 4000);
    await stranded;
    assert.equal((await session.send()).body!.attrs.condition, 'item-not-found', 'the session is gone');
  });

  it('terminates the session with item-not-found for a rid beyond the window', async () => {
    const session = await alice('window', 1);
    const answer = await session.post(session.takeRid() + 10);
    assert.equal(answer.body!.attrs.type, 'terminate');
    assert.equal(answer.body!.attrs.condition, 'item-not-found');
    const after = await session.send();
    assert.equal(after.body!.attrs.condition, 'item-not-found', 'the session is gone');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'BOSH session terminated' && l.condition === 'item-not-found'));
  });

  it('answers an unknown sid with item-not-found', async () => {
    const answer = await boshPost(url(), `<body xmlns='${NS_HTTPBIND}' rid='77' sid='no-such-session'/>`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body!.attrs.type, 'terminate');
    assert.equal(answer.body!.attrs.condition, 'item-not-found');
    assert.ok(logged('BOSH request for an unknown session'));
  });

  it('answers a pause at once and keeps the session for the pause, not longer', async () => {
    const session = await alice('pausing', 2);
    const held = session.send();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const [heldAnswer, pauseAnswer] = await Promise.all([held, session.send('', { pause: 2 })]);
    assert.ok(Date.now() - started < 1000, 'everything answered at once');
    assert.equal(pauseAnswer.body!.getChildElements().length, 0, 'no payloads in the answer to a pause');
    assert.equal(heldAnswer.body!.attrs.type, undefined);

    // Back within the pause: the session is alive.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const resumed = session.send(chat('bob@localhost/tcp', 'resumed', 'back').toString());
    await bob.waitFor((el) => el.attrs.id === 'resumed');

    // A pause of 1 s answers the held request too, and ends the session after 1 s of silence.
    await Promise.all([resumed, session.send('', { pause: 1 })]);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const late = await session.send();
    assert.equal(late.body!.attrs.condition, 'item-not-found');
  });

  it('ends the session on a terminate request, forwarding its unavailable presence', async () => {
    await subscribeMutually(suite.hub, 'alice', 'bob');
    const session = await alice('terminating');
    await session.send("<presence xmlns='jabber:client'/>");
    await bob.waitFor(isPresence('alice@localhost/terminating'));
    const answer = await session.send("<presence xmlns='jabber:client' type='unavailable'/>", { type: 'terminate' });
    assert.equal(answer.body!.attrs.type, 'terminate');
    assert.equal(answer.body!.attrs.condition, undefined);
    await bob.waitFor(isPresence('alice@localhost/terminating', 'unavailable'));
    const after = await session.send();
    assert.equal(after.body!.attrs.condition, 'item-not-found');
  });

  it('refuses malformed XML with 400 and a bad-request terminate body', async () => {
    const answer = await boshPost(url(), `<body xmlns='${NS_HTTPBIND}' rid='1' to='localhost'><message>`);
    assert.equal(answer.status, 400);
    assert.equal(answer.body!.attrs.type, 'terminate');
    assert.equal(answer.body!.attrs.condition, 'bad-request');
    assert.ok(logged('malformed BOSH request'));
    await othersStillWork();
  });

  it('refuses a root element other than <body/> with 400', async () => {
    for (const xmlText of [`<iq xmlns='jabber:client' type='get' id='x'/>`, `<body xmlns='jabber:client' rid='1' to='localhost'/>`]) {
      const answer = await boshPost(url(), xmlText);
      assert.equal(answer.status, 400, xmlText);
      assert.equal(answer.body!.attrs.condition, 'bad-request');
    }
  });

  it('refuses a body larger than max_body_size with 413', async () => {
    const big = `<body xmlns='${NS_HTTPBIND}' rid='1' to='localhost'><message><body>${'x'.repeat(MAX_BODY)}</body></message></body>`;
    const answer = await boshPost(url(), big);
    assert.equal(answer.status, 413);
    assert.equal(answer.body!.attrs.type, 'terminate');
    const chunked = await boshPost(url(), big, { headers: { 'Transfer-Encoding': 'chunked' } });
    assert.equal(chunked.status, 413, 'also without a Content-Length');
    assert.ok(logged('BOSH request body too large'));
    await othersStillWork();
  });

  it('refuses a JSON content type with 415, and takes the types XEP-0124 allows constrained clients', async () => {
    const answer = await boshPost(url(), JSON.stringify({ rid: 1 }), { headers: { 'Content-Type': 'application/json' } });
    assert.equal(answer.status, 415);
    assert.equal(answer.body!.attrs.type, 'terminate');
    assert.ok(logged('BOSH request with a wrong content type'));
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/xml']) {
      const created = await boshPost(url(), `<body xmlns='${NS_HTTPBIND}' rid='5' to='localhost' wait='1'/>`, { headers: { 'Content-Type': type } });
      assert.ok(created.body!.attrs.sid, type);
    }
  });

  it('answers GET with a short description', async () => {
    const answer = await httpRequest(url());
    assert.equal(answer.status, 200);
    assert.match(answer.text, /BOSH/);
    assert.equal((await httpRequest(url().replace('/http-bind/', '/bosh'))).status, 200, 'also at /bosh');
  });

  it('refuses a session for a host it does not serve (host-unknown) or without one (improper-addressing)', async () => {
    const unknown = await new RawBosh(url()).create({ to: 'elsewhere.example' });
    assert.equal(unknown.body!.attrs.type, 'terminate');
    assert.equal(unknown.body!.attrs.condition, 'host-unknown');
    const missing = await new RawBosh(url()).create({ to: undefined });
    assert.equal(missing.body!.attrs.condition, 'improper-addressing');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'BOSH session refused' && l.condition === 'host-unknown'));
  });

  it('answers a polling session (hold 0) at once, and ends it with policy-violation when it polls too often', async () => {
    const session = new RawBosh(url());
    const created = await session.create({ hold: 0 });
    assert.equal(created.body!.attrs.hold, '0');
    assert.equal(created.body!.attrs.requests, '1');
    const started = Date.now();
    const first = await session.send();
    assert.ok(Date.now() - started < 500, 'not held');
    assert.equal(first.body!.attrs.type, undefined);
    const tooSoon = await session.send();
    assert.equal(tooSoon.body!.attrs.type, 'terminate');
    assert.equal(tooSoon.body!.attrs.condition, 'policy-violation');
  });

  /** A fresh BOSH session of alice still exchanges messages with bob. */
  async function othersStillWork(): Promise<void> {
    const resource = `bystander-${Math.random().toString(36).slice(2)}`;
    const session = await alice(resource, 2);
    const id = `still-${resource}`;
    // The request stays held until bob's answer arrives.
    const sending = session.send(chat('bob@localhost/tcp', id, 'still here').toString());
    await bob.waitFor((el) => el.attrs.id === id);
    await bob.send(chat(`alice@localhost/${resource}`, `${id}-back`, 'me too'));
    await sending;
    await session.waitFor((el) => el.attrs.id === `${id}-back`);
  }
});

describe('BOSH limits and pages from other origins', () => {
  const ORIGIN = 'https://mail.example.org';
  const suite = useHub({
    yaml: PLAIN_ALLOWED + httpYaml(`cors_origins: ["${ORIGIN}"]`, 'max_sessions_per_address: 2'),
    users: { alice: PASSWORD, bob: PASSWORD },
  });
  const url = (): string => boshUrl(suite.hub);

  it('answers a preflight from a configured origin with the CORS headers, and adds them to its answers', async () => {
    const preflight = await httpRequest(url(), {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], ORIGIN);
    assert.match(preflight.headers['access-control-allow-methods'] ?? '', /\bPOST\b/);
    assert.match(preflight.headers['access-control-allow-headers'] ?? '', /content-type/i);
    assert.match(preflight.headers.vary ?? '', /Origin/);

    const created = await boshPost(url(), `<body xmlns='${NS_HTTPBIND}' rid='10' to='localhost' wait='1' hold='1'/>`, {
      headers: { Origin: ORIGIN }, localAddress: '127.0.0.7',
    });
    assert.equal(created.headers['access-control-allow-origin'], ORIGIN);
  });

  it('gives pages from other origins no CORS headers', async () => {
    const preflight = await httpRequest(url(), {
      method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-methods'], undefined);
    const answer = await httpRequest(url(), { headers: { Origin: 'https://evil.example' } });
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
  });

  it('refuses a third session from one address with policy-violation; its other sessions and other addresses carry on', async () => {
    const localAddress = '127.0.0.5';
    const bob = await suite.login('bob', { resource: 'tcp' });
    const working = new RawBosh(url(), { localAddress });
    const jid = await working.login('alice', PASSWORD, 'limited', { wait: 1 });
    await new RawBosh(url(), { localAddress }).create();

    const refused = await new RawBosh(url(), { localAddress }).create();
    assert.equal(refused.status, 200);
    assert.equal(refused.body!.attrs.type, 'terminate');
    assert.equal(refused.body!.attrs.condition, 'policy-violation');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'too many BOSH and WebSocket sessions from one address' && l.address === localAddress));

    assert.ok((await new RawBosh(url(), { localAddress: '127.0.0.6' }).create()).body!.attrs.sid, 'another address');
    await bob.send(chat(jid, 'limit-1', 'still connected?'));
    await working.waitFor((el) => el.attrs.id === 'limit-1');
    await working.send(chat(bob.jid, 'limit-2', 'yes').toString());
    await bob.waitFor((el) => el.attrs.id === 'limit-2');
  });
});
