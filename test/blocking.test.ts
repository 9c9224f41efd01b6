// Blocking Command (XEP-0191) with xmpp.js clients: the list and its pushes, what a blocked
// contact sees, what the blocking user sees, JID matching and presence on block/unblock.
import assert from 'node:assert/strict';
import { Jid } from '../src/core/jid.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { sync } from './support/stanzas.js';

const NS = 'urn:xmpp:blocking';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

describe('blocking command (XEP-0191)', () => {
  const suite = useHub();
  const login = (username: string, resource: string) => suite.login(username, { resource });

  /** Fresh accounts per test, so no block list leaks from one test into the next. */
  async function users(...names: string[]): Promise<string[]> {
    const accounts: string[] = [];
    for (const name of names) accounts.push(await suite.account(name));
    return accounts;
  }

  const items = (el: Element | undefined) => el?.getChildren('item').map((i) => i.attrs.jid) ?? [];
  const blocklist = async (client: TestClient) =>
    items((await client.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: NS })))).getChild('blocklist', NS));
  const block = (client: TestClient, ...jids: string[]) =>
    client.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: NS }, ...jids.map((jid) => xml('item', { jid })))));
  const unblock = (client: TestClient, ...jids: string[]) =>
    client.iq(xml('iq', { type: 'set' }, xml('unblock', { xmlns: NS }, ...jids.map((jid) => xml('item', { jid })))));
  const chat = (to: string, id: string) => xml('message', { to, type: 'chat', id }, xml('body', {}, `message ${id}`));
  const errorOf = (client: TestClient, id: string) =>
    client.waitFor((el) => el.attrs.type === 'error' && el.attrs.id === id).then((el) => el.getChild('error')!);
  const pushes = (client: TestClient) => client.received.filter((el) => el.is('iq') && el.attrs.type === 'set'
    && (el.getChild('block', NS) || el.getChild('unblock', NS)));

  it('keeps the list and pushes changes to the resources that retrieved it', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const desk = await login(alice, 'desk');
    const phone = await login(alice, 'phone');
    const tablet = await login(alice, 'tablet');
    assert.deepEqual(await blocklist(desk), []);
    assert.deepEqual(await blocklist(phone), []);

    await block(desk, `${bob}@localhost`, `${carol}@LOCALHOST`);
    for (const client of [desk, phone]) {
      const push = await client.waitFor((el) => el.getChild('block', NS) !== undefined);
      assert.equal(push.attrs.type, 'set');
      assert.deepEqual(items(push.getChild('block', NS)), [`${bob}@localhost`, `${carol}@localhost`]);
    }
    await sync(tablet);
    assert.equal(pushes(tablet).length, 0, 'no push to a resource that never asked for the list');
    assert.deepEqual((await blocklist(tablet)).sort(), [`${bob}@localhost`, `${carol}@localhost`]);

    await unblock(phone, `${bob}@localhost`);
    const push = await desk.waitFor((el) => el.getChild('unblock', NS) !== undefined);
    assert.deepEqual(items(push.getChild('unblock', NS)), [`${bob}@localhost`]);
    assert.deepEqual(await blocklist(desk), [`${carol}@localhost`]);

    await unblock(desk);
    const all = await phone.waitFor((el) => el.getChild('unblock', NS) !== undefined && items(el.getChild('unblock', NS)).length === 0);
    assert.ok(all, 'unblock-all push without items');
    assert.deepEqual(await blocklist(desk), []);

    await desk.stop();
    const later = await login(alice, 'later');
    await block(later, `${bob}@localhost`);
    await later.stop();
    const again = await login(alice, 'again');
    assert.deepEqual(await blocklist(again), [`${bob}@localhost`], 'the list outlives the sessions');
  });

  it('rejects a block without items and malformed JIDs', async () => {
    const [alice] = await users('alice');
    const desk = await login(alice, 'desk');
    await assert.rejects(desk.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: NS }))), /bad-request/);
    await assert.rejects(block(desk, 'a@b@c'), /jid-malformed/);
    assert.deepEqual(await blocklist(desk), []);
  });

  it('makes the user look offline to a blocked contact, online or not', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const desk = await login(alice, 'desk');
    const spammer = await login(bob, 'spam');
    await block(desk, `${bob}@localhost`);

    await spammer.send(chat(`${alice}@localhost/desk`, 'b1'));
    assert.ok((await errorOf(spammer, 'b1')).getChild('service-unavailable', STANZAS));
    await spammer.send(chat(`${alice}@localhost`, 'b2'));
    assert.ok((await errorOf(spammer, 'b2')).getChild('service-unavailable', STANZAS));
    await assert.rejects(spammer.iq(xml('iq', { type: 'get', to: `${alice}@localhost/desk` }, xml('query', { xmlns: 'jabber:iq:version' }))),
      /service-unavailable/);
    await spammer.send(xml('presence', { to: `${alice}@localhost/desk` }));
    await spammer.send(xml('presence', { to: `${alice}@localhost`, type: 'subscribe' }));
    await sync(spammer);
    await sync(desk);
    assert.equal(desk.received.filter((el) => el.attrs.from?.startsWith(`${bob}@`)).length, 0, 'nothing from the blocked contact');
    assert.equal(spammer.received.filter((el) => el.is('presence') && el.attrs.type === 'error').length, 0, 'presence is dropped silently');

    // Offline: nothing is stored for later either.
    await desk.stop();
    const friend = await login(carol, 'home');
    await spammer.send(chat(`${alice}@localhost`, 'b3'));
    assert.ok((await errorOf(spammer, 'b3')).getChild('service-unavailable', STANZAS));
    await friend.send(chat(`${alice}@localhost`, 'c1'));
    const back = await login(alice, 'back');
    await back.waitFor((el) => el.attrs.id === 'c1');
    await sync(back);
    assert.equal(back.received.filter((el) => el.attrs.id === 'b3').length, 0);
  });

  it('refuses what the user sends to a blocked contact with not-acceptable and <blocked/>', async () => {
    const [alice, bob] = await users('alice', 'bob');
    const desk = await login(alice, 'desk');
    const contact = await login(bob, 'home');
    await block(desk, `${bob}@localhost`);

    await desk.send(chat(`${bob}@localhost`, 'o1'));
    const error = await errorOf(desk, 'o1');
    assert.equal(error.attrs.type, 'cancel');
    assert.ok(error.getChild('not-acceptable', STANZAS));
    assert.ok(error.getChild('blocked', 'urn:xmpp:blocking:errors'));
    const reply = desk.received.find((el) => el.attrs.id === 'o1')!;
    assert.equal(reply.attrs.from, `${bob}@localhost`);

    await assert.rejects(desk.iq(xml('iq', { type: 'get', to: `${bob}@localhost/home` }, xml('query', { xmlns: 'jabber:iq:version' }))),
      /not-acceptable/);
    await desk.send(xml('presence', { to: `${bob}@localhost/home` }));
    await sync(desk);
    await sync(contact);
    assert.equal(contact.received.filter((el) => el.attrs.from?.startsWith(`${alice}@`)).length, 0, 'nothing reaches the contact');
  });

  it('matches full JIDs, bare JIDs and domains (XEP-0191 §3.4)', async () => {
    const [alice, bob, carol] = await users('alice', 'bob', 'carol');
    const desk = await login(alice, 'desk');
    const phone = await login(bob, 'phone');
    const laptop = await login(bob, 'laptop');
    const home = await login(carol, 'home');

    await block(desk, `${bob}@localhost/phone`);
    await phone.send(chat(`${alice}@localhost/desk`, 'f1'));
    await laptop.send(chat(`${alice}@localhost/desk`, 'f2'));
    await errorOf(phone, 'f1');
    await desk.waitFor((el) => el.attrs.id === 'f2');

    await block(desk, 'localhost');
    await home.send(chat(`${alice}@localhost/desk`, 'd1'));
    await errorOf(home, 'd1');
    assert.deepEqual(await blocklist(desk), [`${bob}@localhost/phone`, 'localhost'], 'the own domain can be listed…');
    await sync(desk);
    assert.equal(desk.received.filter((el) => el.attrs.id === 'd1').length, 0);

    const other = await login(alice, 'other');
    await other.send(chat(`${alice}@localhost/desk`, 's1'));
    await desk.waitFor((el) => el.attrs.id === 's1');

    const query = (user: string, contact: string) =>
      suite.hub.hub.xmpp.hooks.fire('privacy/blocked', { user: Jid.parse(user), contact: Jid.parse(contact) });
    assert.equal(await query(`${alice}@localhost`, `${carol}@localhost/home`), true, 'a user of a blocked domain');
    assert.equal(await query(`${alice}@localhost`, 'muc.localhost'), true, 'a subdomain of a blocked domain');
    assert.equal(await query(`${alice}@localhost`, `${alice}@localhost/other`), false, '…but never the own account');
    assert.equal(await query(`${alice}@localhost`, 'localhost'), false, '…nor the own server');
    assert.equal(await query(`${bob}@localhost`, `${alice}@localhost`), false);
  });

  it('sends unavailable presence to a subscribed contact when blocking it, current presence when unblocking', async () => {
    const [alice, bob] = await users('alice', 'bob');
    await suite.hub.hub.store.rosters.put('localhost', alice, { jid: `${bob}@localhost`, subscription: 'both', groups: [] });
    await suite.hub.hub.store.rosters.put('localhost', bob, { jid: `${alice}@localhost`, subscription: 'both', groups: [] });
    const contact = await login(bob, 'home');
    const desk = await suite.login(alice, { resource: 'desk', presence: false });
    await desk.send(xml('presence', {}, xml('status', {}, 'at my desk')));
    await contact.waitFor((el) => el.is('presence') && el.attrs.from === `${alice}@localhost/desk` && !el.attrs.type);

    await block(desk, `${bob}@localhost`);
    await contact.waitFor((el) => el.is('presence') && el.attrs.from === `${alice}@localhost/desk` && el.attrs.type === 'unavailable');

    const seen = contact.received.length;
    await unblock(desk, `${bob}@localhost`);
    const back = await contact.waitFor((el) => contact.received.indexOf(el) >= seen && el.is('presence')
      && el.attrs.from === `${alice}@localhost/desk` && !el.attrs.type);
    assert.equal(back.getChildText('status'), 'at my desk');
  });
});
