// Client-to-server basics with a real client library: STARTTLS and direct TLS, each SASL
// mechanism xmpp.js implements, resource binding and one-to-one chat.
import assert from 'node:assert/strict';
import { connect, xml, type TestClient } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';

describe('c2s with xmpp.js', () => {
  let hub: TestHub;
  const clients: TestClient[] = [];

  before(async () => {
    hub = await startHub();
    await hub.addUser('alice', 'wonderland');
    await hub.addUser('bob', 'builder');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });
  after(() => hub.stop());

  for (const mechanism of ['SCRAM-SHA-1', 'PLAIN']) {
    it(`logs in with ${mechanism} over STARTTLS and binds the requested resource`, async () => {
      const alice = await connect(hub, { username: 'alice', password: 'wonderland', mechanism, resource: 'laptop' });
      clients.push(alice);
      assert.equal(alice.jid, 'alice@localhost/laptop');
    });
  }

  it('logs in over direct TLS (XEP-0368) with a server-made resource', async () => {
    const alice = await connect(hub, { username: 'alice', password: 'wonderland', directTls: true });
    clients.push(alice);
    assert.match(alice.jid, /^alice@localhost\/.+/);
  });

  it('rejects a wrong password', async () => {
    await assert.rejects(connect(hub, { username: 'alice', password: 'nope', mechanism: 'SCRAM-SHA-1' }), /not-authorized/);
  });

  it('delivers a chat message to a full JID and to a bare JID', async () => {
    const alice = await connect(hub, { username: 'alice', password: 'wonderland', resource: 'a' });
    const bob = await connect(hub, { username: 'bob', password: 'builder', resource: 'b' });
    clients.push(alice, bob);
    await alice.send(xml('message', { to: 'bob@localhost/b', type: 'chat', id: 'm1' }, xml('body', {}, 'hi full')));
    const full = await bob.waitFor((el) => el.is('message') && el.attrs.id === 'm1');
    assert.equal(full.getChildText('body'), 'hi full');
    assert.equal(full.attrs.from, 'alice@localhost/a');
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'm2' }, xml('body', {}, 'hi bare')));
    const bare = await bob.waitFor((el) => el.is('message') && el.attrs.id === 'm2');
    assert.equal(bare.getChildText('body'), 'hi bare');
  });
});
