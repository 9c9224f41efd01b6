// The signal bus seen from a client: a gateway registers a domain and exchanges signals
// with XMPP users without knowing XMPP (here the loopback echo gateway).
import assert from 'node:assert/strict';
import { EchoGateway } from '../gateways/echo/index.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';

describe('gateways on the signal bus', () => {
  const suite = useHub({ gateways: [new EchoGateway('echo.localhost')], users: ['alice'] });
  let alice: TestClient;

  before(async () => {
    alice = await suite.login('alice', { resource: 'r' });
  });

  it('turns a chat message into a MESSAGE signal and the answer back into a message', async () => {
    await alice.send(xml('message', { to: 'robot@echo.localhost', type: 'chat', id: 'e1' },
      xml('body', {}, 'ping <&>'), xml('request', { xmlns: 'urn:xmpp:receipts' })));
    const echo = await alice.waitFor((el) => el.is('message') && el.getChildText('body') === 'ping <&>');
    assert.equal(echo.attrs.from, 'robot@echo.localhost');
    assert.equal(echo.attrs.to, 'alice@localhost/r');
    assert.equal(echo.attrs.type, 'chat');
    const receipt = await alice.waitFor((el) => el.getChild('received', 'urn:xmpp:receipts') !== undefined);
    assert.equal(receipt.getChild('received', 'urn:xmpp:receipts')!.attrs.id, 'e1');
  });

  it('answers a subscription with subscribed and available presence (SUBSCRIBE, NOTIFY)', async () => {
    await alice.send(xml('presence', { to: 'robot@echo.localhost', type: 'subscribe' }));
    const subscribed = await alice.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed');
    assert.equal(subscribed.attrs.from, 'robot@echo.localhost');
    const available = await alice.waitFor((el) => el.is('presence') && el.attrs.from === 'robot@echo.localhost' && !el.attrs.type);
    assert.equal(available.getChildText('status'), 'echoing');
  });

  it('returns an INFO error for queries the gateway does not serve', async () => {
    await assert.rejects(alice.iq(xml('iq', { type: 'get', to: 'robot@echo.localhost' }, xml('query', { xmlns: 'jabber:iq:version' }))),
      /service-unavailable/);
  });

  it('answers a domain served by nobody with remote-server-not-found', async () => {
    await alice.send(xml('message', { to: 'someone@elsewhere.example', type: 'chat', id: 'far' }, xml('body', {}, 'hello?')));
    const error = await alice.waitFor((el) => el.attrs.id === 'far' && el.attrs.type === 'error');
    assert.ok(error.getChild('error')!.getChild('remote-server-not-found', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });
});
