// Message Carbons (XEP-0280) with xmpp.js clients: received and sent copies, which
// resources get them, and which messages are not copied.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { sync } from './support/stanzas.js';

const NS = 'urn:xmpp:carbons:2';
const FORWARD = 'urn:xmpp:forward:0';

describe('message carbons (XEP-0280)', () => {
  const suite = useHub({ users: ['alice', 'bob'] });

  async function login(username: string, resource: string, options: { carbons?: boolean; priority?: number } = {}): Promise<TestClient> {
    const client = await suite.login(username, { resource, presence: false });
    if (options.carbons) await client.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: NS })));
    await client.send(xml('presence', {}, xml('priority', {}, String(options.priority ?? 0))));
    await sync(client);
    return client;
  }

  const isCarbon = (direction: 'sent' | 'received', id: string) => (el: Element) =>
    el.is('message') && carbonOf(el, direction)?.attrs.id === id;
  const carbons = (client: TestClient) =>
    client.received.filter((el) => el.getChild('sent', NS) || el.getChild('received', NS));

  function carbonOf(el: Element, direction: 'sent' | 'received'): Element | undefined {
    return el.getChild(direction, NS)?.getChild('forwarded', FORWARD)?.getChild('message');
  }

  it('is advertised, and enabling and disabling it answer with results, repeatedly', async () => {
    const desk = await login('alice', 'desk');
    const info = await desk.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    assert.ok(info.getChild('query')!.getChildren('feature').some((f) => f.attrs.var === NS));
    for (const op of ['enable', 'enable', 'disable', 'disable']) {
      const result = await desk.iq(xml('iq', { type: 'set' }, xml(op, { xmlns: NS })));
      assert.equal(result.attrs.type, 'result');
    }
    await assert.rejects(desk.iq(xml('iq', { type: 'set' }, xml('toggle', { xmlns: NS }))), /bad-request/);
  });

  it('copies a received message to the other enabled resources, wrapped and from the own bare JID', async () => {
    const desk = await login('alice', 'desk', { carbons: true });
    const phone = await login('alice', 'phone', { carbons: true });
    const tablet = await login('alice', 'tablet');
    const bob = await login('bob', 'home');

    await bob.send(xml('message', { to: 'alice@localhost/desk', type: 'chat', id: 'r1' }, xml('body', {}, 'hi desk')));
    const original = await desk.waitFor((el) => el.attrs.id === 'r1');
    assert.equal(original.getChildText('body'), 'hi desk');
    const carbon = await phone.waitFor(isCarbon('received', 'r1'));
    assert.equal(carbon.attrs.from, 'alice@localhost');
    assert.equal(carbon.attrs.to, 'alice@localhost/phone');
    assert.equal(carbon.attrs.type, 'chat');
    const inner = carbonOf(carbon, 'received')!;
    assert.equal(inner.attrs.xmlns, 'jabber:client');
    assert.equal(inner.attrs.from, 'bob@localhost/home');
    assert.equal(inner.attrs.to, 'alice@localhost/desk');
    assert.equal(inner.getChildText('body'), 'hi desk');

    await Promise.all([desk, tablet].map(sync));
    assert.equal(carbons(desk).length, 0, 'the addressee gets the message only');
    assert.equal(carbons(tablet).length + tablet.received.filter((el) => el.attrs.id === 'r1').length, 0, 'nothing without enabling');
  });

  it('copies a sent message to the other enabled resources, not to the sender', async () => {
    const desk = await login('alice', 'desk', { carbons: true });
    const phone = await login('alice', 'phone', { carbons: true });
    const bob = await login('bob', 'home');

    await desk.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 's1' }, xml('body', {}, 'hello bob')));
    await bob.waitFor((el) => el.attrs.id === 's1');
    const carbon = await phone.waitFor(isCarbon('sent', 's1'));
    assert.equal(carbon.attrs.from, 'alice@localhost');
    const inner = carbonOf(carbon, 'sent')!;
    assert.equal(inner.attrs.from, 'alice@localhost/desk');
    assert.equal(inner.attrs.to, 'bob@localhost');
    await sync(desk);
    assert.equal(carbons(desk).length, 0);
  });

  it('copies a message to the bare JID to the enabled resources that did not get it by priority', async () => {
    const desk = await login('alice', 'desk', { carbons: true, priority: 5 });
    const phone = await login('alice', 'phone', { carbons: true, priority: 1 });
    const away = await login('alice', 'away', { carbons: true, priority: -1 });
    const bob = await login('bob', 'home');

    await bob.send(xml('message', { to: 'alice@localhost', type: 'chat', id: 'b1' }, xml('body', {}, 'to whoever')));
    await desk.waitFor((el) => el.attrs.id === 'b1');
    await phone.waitFor(isCarbon('received', 'b1'));
    await away.waitFor(isCarbon('received', 'b1'));
    await sync(desk);
    assert.equal(carbons(desk).length, 0, 'the highest-priority resource gets no copy');
  });

  it('copies a normal message with a body, and not private, hinted, headline, bodiless or MUC messages', async () => {
    const desk = await login('alice', 'desk', { carbons: true });
    const phone = await login('alice', 'phone', { carbons: true });
    const bob = await login('bob', 'home');
    const to = 'alice@localhost/desk';

    const skipped = [
      xml('message', { to, type: 'chat', id: 'x1' }, xml('body', {}, 'secret'), xml('private', { xmlns: NS })),
      xml('message', { to, type: 'chat', id: 'x2' }, xml('body', {}, 'secret'), xml('no-copy', { xmlns: 'urn:xmpp:hints' })),
      xml('message', { to, type: 'headline', id: 'x3' }, xml('body', {}, 'news')),
      xml('message', { to, id: 'x4' }, xml('received', { xmlns: 'urn:xmpp:receipts', id: 'n0' })),
      xml('message', { to, type: 'chat', id: 'x5' }, xml('body', {}, 'pm'), xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' })),
    ];
    for (const message of skipped) await bob.send(message);
    await bob.send(xml('message', { to, id: 'n1' }, xml('body', {}, 'a normal message')));
    await phone.waitFor(isCarbon('received', 'n1'));
    assert.deepEqual(carbons(phone).map((el) => carbonOf(el, 'received')?.attrs.id), ['n1']);

    const privateOne = await desk.waitFor((el) => el.attrs.id === 'x1');
    assert.equal(privateOne.getChild('private', NS), undefined, 'the marker is removed on delivery');
  });

  it('stops copying once disabled', async () => {
    const desk = await login('alice', 'desk', { carbons: true });
    const phone = await login('alice', 'phone', { carbons: true });
    const bob = await login('bob', 'home');
    await phone.iq(xml('iq', { type: 'set' }, xml('disable', { xmlns: NS })));
    await bob.send(xml('message', { to: 'alice@localhost/desk', type: 'chat', id: 'd1' }, xml('body', {}, 'hi')));
    await desk.send(xml('message', { to: 'bob@localhost/home', type: 'chat', id: 'd2' }, xml('body', {}, 'hi back')));
    await desk.waitFor((el) => el.attrs.id === 'd1');
    await bob.waitFor((el) => el.attrs.id === 'd2');
    await sync(phone);
    assert.equal(carbons(phone).length, 0);
  });
});
