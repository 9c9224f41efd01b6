// Client-to-server basics with a real client library: STARTTLS and direct TLS, each SASL
// mechanism xmpp.js implements, resource binding and one-to-one chat.
import assert from 'node:assert/strict';
import { xml } from './support/client.js';
import { useHub } from './support/fixture.js';
import { PLAIN_ALLOWED } from './support/hub.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

describe('c2s with xmpp.js', () => {
  const suite = useHub({ yaml: PLAIN_ALLOWED, users: { alice: 'wonderland', bob: 'builder' } });
  const { login } = suite;

  for (const mechanism of ['SCRAM-SHA-1', 'PLAIN']) {
    it(`logs in with ${mechanism} over STARTTLS and binds the requested resource`, async () => {
      const alice = await login('alice', { mechanism, resource: 'laptop' });
      assert.equal(alice.jid, 'alice@localhost/laptop');
    });
  }

  it('logs in over direct TLS (XEP-0368) with a server-made resource', async () => {
    const alice = await login('alice', { directTls: true });
    assert.match(alice.jid, /^alice@localhost\/.+/);
  });

  it('rejects a wrong password', async () => {
    await assert.rejects(login('alice', { password: 'nope', mechanism: 'SCRAM-SHA-1' }), /not-authorized/);
  });

  it('delivers a chat message to a full JID and to a bare JID', async () => {
    const alice = await login('alice', { resource: 'a' });
    const bob = await login('bob', { resource: 'b' });
    await alice.send(xml('message', { to: 'bob@localhost/b', type: 'chat', id: 'm1' }, xml('body', {}, 'hi full')));
    const full = await bob.waitFor((el) => el.is('message') && el.attrs.id === 'm1');
    assert.equal(full.getChildText('body'), 'hi full');
    assert.equal(full.attrs.from, 'alice@localhost/a');
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'm2' }, xml('body', {}, 'hi bare')));
    const bare = await bob.waitFor((el) => el.is('message') && el.attrs.id === 'm2');
    assert.equal(bare.getChildText('body'), 'hi bare');
  });

  it('replaces the older session when a new one binds the same resource (conflict)', async () => {
    const first = await RawClient.login(suite.hub.port, 'alice', 'wonderland', 'same');
    const second = await login('alice', { resource: 'same' });
    await first.waitFor(/<stream:error><conflict xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']/);
    await first.waitClosed();
    await second.send(xml('message', { to: 'alice@localhost/same', type: 'chat', id: 'self' }, xml('body', {}, 'me')));
    await second.waitFor((el) => el.attrs.id === 'self');
  });

  it('answers the legacy session establishment iq (RFC 3921)', async () => {
    const raw = await RawClient.login(suite.hub.port, 'bob', 'builder', 'legacy');
    raw.send(`<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
    await raw.waitFor(/<iq type=["']result["'] id=["']sess1["']/);
    raw.destroy();
  });

  it('routes an iq to a full JID and the result back; an absent resource gets service-unavailable', async () => {
    const alice = await login('alice', { resource: 'a' });
    const bob = await login('bob', { resource: 'b' });
    bob.xmpp.iqCallee.get('urn:example:echo', 'q', () => xml('q', { xmlns: 'urn:example:echo' }, 'answer'));
    const result = await alice.iq(xml('iq', { type: 'get', to: 'bob@localhost/b' }, xml('q', { xmlns: 'urn:example:echo' })));
    assert.equal(result.getChild('q')?.getText(), 'answer');
    await assert.rejects(alice.iq(xml('iq', { type: 'get', to: 'bob@localhost/gone' }, xml('q', { xmlns: 'urn:example:echo' }))),
      /service-unavailable/);
  });

  it('applies the bare-JID rules per message type and priority (RFC 6121 §8.5.2)', async () => {
    const alice = await login('alice', { resource: 'a' });
    const high = await login('bob', { resource: 'high', presence: false });
    const low = await login('bob', { resource: 'low', presence: false });
    const hidden = await login('bob', { resource: 'hidden', presence: false });
    await high.send(xml('presence', {}, xml('priority', {}, '5')));
    await low.send(xml('presence', {}, xml('priority', {}, '1')));
    await hidden.send(xml('presence', {}, xml('priority', {}, '-1')));
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'c1' }, xml('body', {}, 'chat')));
    await alice.send(xml('message', { to: 'bob@localhost', type: 'headline', id: 'h1' }, xml('body', {}, 'news')));
    await alice.send(xml('message', { to: 'bob@localhost', type: 'groupchat', id: 'g1' }, xml('body', {}, 'room?')));
    await high.waitFor((el) => el.attrs.id === 'c1');
    await high.waitFor((el) => el.attrs.id === 'h1');
    await low.waitFor((el) => el.attrs.id === 'h1');
    const error = await alice.waitFor((el) => el.attrs.id === 'g1' && el.attrs.type === 'error');
    assert.ok(error.getChild('error')!.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    assert.ok(!low.received.some((el) => el.attrs.id === 'c1'), 'chat goes to the highest priority only');
    assert.ok(!hidden.received.some((el) => el.attrs.id === 'c1' || el.attrs.id === 'h1'), 'negative priority gets no bare-JID messages');
  });

  it('answers a message to an unknown local user with service-unavailable', async () => {
    const alice = await login('alice', { resource: 'a' });
    await alice.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'nobody' }, xml('body', {}, 'hello?')));
    const error = await alice.waitFor((el) => el.attrs.id === 'nobody' && el.attrs.type === 'error');
    assert.ok(error.getChild('error')!.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });

  it('answers a malformed "to" with jid-malformed', async () => {
    const alice = await login('alice', { resource: 'a' });
    await alice.send(xml('message', { to: 'bad@@localhost', type: 'chat', id: 'badjid' }, xml('body', {}, 'x')));
    const error = await alice.waitFor((el) => el.attrs.id === 'badjid' && el.attrs.type === 'error');
    assert.ok(error.getChild('error')!.getChild('jid-malformed', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });

  it('sends whitespace keepalives through untouched and ignores them', async () => {
    const raw = await RawClient.connect(suite.hub.port);
    raw.send(STREAM_HEADER() + '   \n  ');
    await raw.waitFor(/<\/stream:features>/);
    raw.send('\n \n');
    raw.send(`<iq type='get' id='pre'><query xmlns='jabber:iq:version'/></iq>`);
    await raw.waitFor(/id=["']pre["']/);
    assert.equal(raw.closed, false);
    raw.destroy();
  });
});

describe('failed-login throttling', () => {
  const suite = useHub({
    yaml: `
auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
  throttle: { max_failures: 3, window_seconds: 60, lock_seconds: 60 }
`,
    users: { victim: 'correct horse', bystander: 'other pass' },
  });

  it('locks an account attacked from several addresses, and only that account', async () => {
    for (const [i, address] of ['127.0.0.2', '127.0.0.3', '127.0.0.4'].entries()) {
      assert.equal(await RawClient.tryPlain(suite.hub.port, 'victim', `guess-${i}`, address), 'not-authorized');
    }
    assert.equal(await RawClient.tryPlain(suite.hub.port, 'victim', 'correct horse', '127.0.0.5'), 'temporary-auth-failure');
    assert.equal(await RawClient.tryPlain(suite.hub.port, 'bystander', 'other pass', '127.0.0.5'), 'success');
    assert.ok(suite.hub.logs.some((l) => l.msg === 'authentication failed' && l.user === 'victim'));
  });

  it('locks an address that guesses at many accounts', async () => {
    for (const user of ['a1', 'a2', 'a3']) assert.equal(await RawClient.tryPlain(suite.hub.port, user, 'x', '127.0.0.9'), 'not-authorized');
    assert.equal(await RawClient.tryPlain(suite.hub.port, 'bystander', 'other pass', '127.0.0.9'), 'temporary-auth-failure');
    assert.equal(await RawClient.tryPlain(suite.hub.port, 'bystander', 'other pass', '127.0.0.10'), 'success');
  });

  it('never writes passwords to the logs', () => {
    const text = JSON.stringify(suite.hub.logs);
    assert.ok(!text.includes('correct horse') && !text.includes('guess-0') && !text.includes('other pass'));
  });
});

