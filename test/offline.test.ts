// Offline messages (XEP-0160) with delay stamps (XEP-0203), storage hints (XEP-0334) and
// the per-user quota, seen from xmpp.js clients.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { localhostYaml } from './support/hub.js';
import { sync } from './support/stanzas.js';

const QUOTA = 3;
const HINTS = 'urn:xmpp:hints';

describe('offline messages (XEP-0160)', () => {
  const suite = useHub({ yaml: localhostYaml(`offline_quota: ${QUOTA}`) });
  const login = (username: string, resource: string, presence = true) => suite.login(username, { resource, presence });

  /** A fresh pair of accounts, so no test sees another's stored messages. */
  async function accounts(): Promise<{ alice: TestClient; bob: string }> {
    const alice = await suite.account('alice');
    const bob = await suite.account('bob');
    return { alice: await login(alice, 'desk'), bob };
  }

  function chat(to: string, id: string, ...children: Element[]): Element {
    return xml('message', { to, type: 'chat', id }, ...children);
  }

  async function stored(username: string, count: number): Promise<void> {
    for (let i = 0; i < 100 && await suite.hub.hub.store.offline.count('localhost', username) !== count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await suite.hub.hub.store.offline.count('localhost', username), count, 'messages stored');
  }

  const isMessage = (el: Element) => el.is('message') && el.attrs.type !== 'error';
  const isError = (id: string) => (el: Element) => el.is('message') && el.attrs.type === 'error' && el.attrs.id === id;

  it('stores messages while the user is offline and delivers them in order, stamped, at the next login', async () => {
    const { alice, bob } = await accounts();
    const before = Date.now();
    await alice.send(chat(`${bob}@localhost`, 'm1', xml('body', {}, 'first')));
    await alice.send(chat(`${bob}@localhost/gone`, 'm2', xml('body', {}, 'second')));
    await alice.send(xml('message', { to: `${bob}@localhost`, id: 'm3' }, xml('subject', {}, 'third')));
    await stored(bob, 3);

    const phone = await login(bob, 'phone');
    await phone.waitFor((el) => el.attrs.id === 'm3');
    const messages = phone.received.filter(isMessage);
    assert.deepEqual(messages.map((m) => m.attrs.id), ['m1', 'm2', 'm3']);
    for (const message of messages) {
      assert.equal(message.attrs.from, `${alice.jid}`);
      const delay = message.getChild('delay', 'urn:xmpp:delay');
      assert.ok(delay, 'a delay stamp');
      assert.equal(delay.attrs.from, 'localhost');
      assert.equal(delay.getText(), 'Offline Storage');
      assert.match(delay.attrs.stamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const stamp = Date.parse(delay.attrs.stamp!);
      assert.ok(stamp >= before - 1000 && stamp <= Date.now(), 'stamped when stored');
    }
    assert.equal(alice.received.filter((el) => el.attrs.type === 'error').length, 0, 'no error for the sender');

    await phone.stop();
    const again = await login(bob, 'phone');
    await sync(again);
    assert.equal(again.received.filter(isMessage).length, 0, 'delivered messages are gone from the store');
  });

  it('keeps the messages while the only resource has a negative priority', async () => {
    const { alice, bob } = await accounts();
    await alice.send(chat(`${bob}@localhost`, 'n1', xml('body', {}, 'wait for it')));
    await stored(bob, 1);
    const hidden = await login(bob, 'hidden', false);
    await hidden.send(xml('presence', {}, xml('priority', {}, '-1')));
    await sync(hidden);
    await stored(bob, 1);
    assert.equal(hidden.received.filter((el) => el.attrs.id === 'n1').length, 0);

    const visible = await login(bob, 'visible');
    await visible.waitFor((el) => el.attrs.id === 'n1');
  });

  it('answers service-unavailable once the quota is full, keeping what was stored', async () => {
    const { alice, bob } = await accounts();
    for (let i = 1; i <= QUOTA + 1; i++) await alice.send(chat(`${bob}@localhost`, `q${i}`, xml('body', {}, `number ${i}`)));
    const error = await alice.waitFor(isError(`q${QUOTA + 1}`));
    assert.ok(error.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    assert.equal(alice.received.filter((el) => el.attrs.type === 'error').length, 1, 'only the message over quota bounced');

    const phone = await login(bob, 'phone');
    await phone.waitFor((el) => el.attrs.id === `q${QUOTA}`);
    assert.deepEqual(phone.received.filter(isMessage).map((m) => m.attrs.id), ['q1', 'q2', 'q3']);
  });

  it('follows storage hints (XEP-0334) and leaves standalone chat states out (XEP-0085)', async () => {
    const { alice, bob } = await accounts();
    const states = 'http://jabber.org/protocol/chatstates';
    await alice.send(chat(`${bob}@localhost`, 'h1', xml('body', {}, 'ephemeral'), xml('no-store', { xmlns: HINTS })));
    await alice.send(chat(`${bob}@localhost`, 'h2', xml('composing', { xmlns: states })));
    await alice.send(chat(`${bob}@localhost`, 'h3', xml('gone', { xmlns: states }), xml('store', { xmlns: HINTS })));
    await alice.send(chat(`${bob}@localhost`, 'h4', xml('body', {}, 'kept'), xml('active', { xmlns: states })));

    const refused = await alice.waitFor(isError('h1'));
    assert.ok(refused.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    await stored(bob, 2);
    assert.equal(alice.received.filter((el) => el.attrs.type === 'error').length, 1, 'no error for a chat state');

    const phone = await login(bob, 'phone');
    await phone.waitFor((el) => el.attrs.id === 'h4');
    assert.deepEqual(phone.received.filter(isMessage).map((m) => m.attrs.id), ['h3', 'h4']);
  });

  it('answers a message to an unknown user with service-unavailable', async () => {
    const { alice } = await accounts();
    await alice.send(chat('nobody@localhost', 'u1', xml('body', {}, 'hello?')));
    const error = await alice.waitFor(isError('u1'));
    assert.equal(error.attrs.from, 'nobody@localhost');
    assert.ok(error.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });

  it('advertises msgoffline in disco#info', async () => {
    const { alice } = await accounts();
    const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const features = info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
    assert.ok(features.includes('msgoffline'));
  });
});
