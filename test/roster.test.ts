// Rosters (RFC 6121 §2) through real clients: get, set, pushes to interested resources,
// names and groups, removal with its subscription side effects, the error cases, roster
// versioning (XEP-0237) and the admin hook.
import assert from 'node:assert/strict';
import { Jid } from '../src/core/jid.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { PLAIN_ALLOWED } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { bare, flush, subscribeMutually } from './support/stanzas.js';

const ROSTER = 'jabber:iq:roster';

describe('rosters', () => {
  // A new account per test, so that no test sees another's roster.
  const suite = useHub({ yaml: PLAIN_ALLOWED });
  const { account } = suite;
  const login = (username: string, resource = 'r') => suite.login(username, { resource });

  function get(client: TestClient, attrs: Record<string, string> = {}): Promise<Element> {
    return client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ...attrs })));
  }

  function set(client: TestClient, item: Element, to?: string): Promise<Element> {
    return client.iq(xml('iq', { type: 'set', to }, xml('query', { xmlns: ROSTER }, item)));
  }

  const items = (result: Element) => result.getChild('query', ROSTER)?.getChildren('item') ?? [];
  const groups = (item: Element) => item.getChildren('group').map((g) => g.getText());

  const isPush = (contact: string, subscription?: string) => (el: Element) => {
    const item = el.is('iq') && el.attrs.type === 'set' ? el.getChild('query', ROSTER)?.getChild('item') : undefined;
    return item?.attrs.jid === contact && (subscription === undefined || item.attrs.subscription === subscription);
  };

  it('adds an item with a name and groups, pushing it to every resource that requested the roster', async () => {
    const alice = await account('alice');
    const first = await login(alice, 'first');
    const second = await login(alice, 'second');
    const uninterested = await login(alice, 'third');
    assert.deepEqual(items(await get(first)), []);
    await get(second);

    await set(first, xml('item', { jid: 'Carol@Example.org', name: 'Carol' }, xml('group', {}, 'Friends'), xml('group', {}, 'Work')));
    for (const client of [first, second]) {
      const push = await client.waitFor(isPush('carol@example.org', 'none'));
      const item = push.getChild('query')!.getChild('item')!;
      assert.equal(item.attrs.name, 'Carol');
      assert.deepEqual(groups(item), ['Friends', 'Work']);
      assert.ok(push.getChild('query')!.attrs.ver, 'pushes carry the roster version');
    }
    await flush(first, uninterested);
    assert.ok(!uninterested.received.some(isPush('carol@example.org')), 'a resource that never asked for the roster gets no push');

    const [item] = items(await get(uninterested));
    assert.deepEqual([item!.attrs.jid, item!.attrs.name, item!.attrs.subscription, groups(item!)],
      ['carol@example.org', 'Carol', 'none', ['Friends', 'Work']]);
  });

  it('updates the name and groups and ignores a subscription the client tries to set (§2.1.5)', async () => {
    const alice = await account('alice');
    const client = await login(alice);
    await get(client);
    await set(client, xml('item', { jid: 'dave@example.org', name: 'Dave', subscription: 'both' }, xml('group', {}, 'Old')));
    await client.waitFor(isPush('dave@example.org'));
    await set(client, xml('item', { jid: 'dave@example.org', name: 'David' }, xml('group', {}, 'New'), xml('group', {}, 'Other')));
    const push = await client.waitFor((el) => isPush('dave@example.org')(el) && el.getChild('query')!.getChild('item')!.attrs.name === 'David');
    assert.deepEqual(groups(push.getChild('query')!.getChild('item')!), ['New', 'Other']);

    await set(client, xml('item', { jid: 'dave@example.org' }));
    const [item] = items(await get(client));
    assert.equal(item!.attrs.subscription, 'none');
    assert.equal(item!.attrs.name, undefined, 'a set without a name clears it');
    assert.deepEqual(groups(item!), []);
  });

  it('removes an item with a "remove" push; removing an absent item is item-not-found (§2.5)', async () => {
    const client = await login(await account('alice'));
    await get(client);
    await set(client, xml('item', { jid: 'erin@example.org' }));
    await set(client, xml('item', { jid: 'erin@example.org', subscription: 'remove' }));
    await client.waitFor(isPush('erin@example.org', 'remove'));
    assert.deepEqual(items(await get(client)), []);
    await assert.rejects(set(client, xml('item', { jid: 'erin@example.org', subscription: 'remove' })), /item-not-found/);
  });

  it('removing a contact cancels the subscriptions both ways and shows the user unavailable (§2.5.2)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    await subscribeMutually(suite.hub, alice, bob);
    const a = await login(alice);
    const b = await login(bob);
    await get(a);
    await get(b);
    await b.waitFor((el) => el.is('presence') && el.attrs.from === `${bare(alice)}/r` && el.attrs.type === undefined);

    await set(a, xml('item', { jid: bare(bob), subscription: 'remove' }));
    await b.waitFor((el) => el.is('presence') && el.attrs.type === 'unsubscribe' && el.attrs.from === bare(alice));
    await b.waitFor((el) => el.is('presence') && el.attrs.type === 'unsubscribed' && el.attrs.from === bare(alice));
    await b.waitFor((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${bare(alice)}/r`);
    await b.waitFor(isPush(bare(alice), 'none'));
  });

  it('rejects invalid roster sets with the RFC 6121 §2.3.3 errors', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const client = await login(alice);
    const two = xml('query', { xmlns: ROSTER }, xml('item', { jid: 'a@example.org' }), xml('item', { jid: 'b@example.org' }));
    await assert.rejects(client.iq(xml('iq', { type: 'set' }, two)), /bad-request/);
    await assert.rejects(client.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }))), /bad-request/);
    await assert.rejects(set(client, xml('item', { name: 'no jid' })), /bad-request/);
    await assert.rejects(set(client, xml('item', { jid: 'bad@@example.org' })), /jid-malformed/);
    await assert.rejects(set(client, xml('item', { jid: 'full@example.org/resource' })), /jid-malformed/);
    await assert.rejects(set(client, xml('item', { jid: 'g@example.org' }, xml('group', {}, 'X'), xml('group', {}, 'X'))), /bad-request/);
    await assert.rejects(set(client, xml('item', { jid: 'g@example.org' }, xml('group'))), /not-acceptable/);
    await assert.rejects(set(client, xml('item', { jid: 'g@example.org', name: 'n'.repeat(2000) })), /not-acceptable/);
    await assert.rejects(set(client, xml('item', { jid: 'g@example.org' }), bare(bob)), /forbidden/);
    await assert.rejects(client.iq(xml('iq', { type: 'get', to: bare(bob) }, xml('query', { xmlns: ROSTER }))), /forbidden/);
    assert.deepEqual(items(await get(client)), [], 'nothing was stored');
  });

  it('offers roster versioning and answers a current version with an empty result (XEP-0237)', async () => {
    const alice = await account('alice');
    const raw = await RawClient.login(suite.hub.port, alice, PASSWORD);
    raw.destroy();
    assert.match(raw.text, /<ver xmlns=["']urn:xmpp:features:rosterver["']/);

    const client = await login(alice);
    const initial = await get(client, { ver: '' });
    const version = initial.getChild('query', ROSTER)!.attrs.ver!;
    assert.ok(version !== undefined);
    const unchanged = await get(client, { ver: version });
    assert.equal(unchanged.getChild('query'), undefined, 'nothing changed: an empty result');

    await set(client, xml('item', { jid: 'frank@example.org' }));
    const push = await client.waitFor(isPush('frank@example.org'));
    const newer = push.getChild('query')!.attrs.ver!;
    assert.notEqual(newer, version);
    const behind = await get(client, { ver: version });
    assert.equal(behind.getChild('query', ROSTER)!.attrs.ver, newer);
    assert.deepEqual(items(behind).map((i) => i.attrs.jid), ['frank@example.org']);
    assert.equal((await get(client, { ver: newer })).getChild('query'), undefined);
  });

  it('stores an item set through the admin hook and pushes it to online resources', async () => {
    const alice = await account('alice');
    const client = await login(alice);
    await get(client);
    const item = { jid: 'grace@example.org', name: 'Grace', subscription: 'both' as const, groups: ['Admins'] };
    const handled = await suite.hub.hub.xmpp.hooks.fire('roster/admin-set', { user: Jid.parse(bare(alice)), item });
    assert.equal(handled, true);
    await client.waitFor(isPush('grace@example.org', 'both'));
    const [stored] = items(await get(client));
    assert.deepEqual([stored!.attrs.name, stored!.attrs.subscription, groups(stored!)], ['Grace', 'both', ['Admins']]);
  });
});
