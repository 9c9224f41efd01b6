// vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153), as clients see them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { localhostYaml } from './support/hub.js';

const NS = 'vcard-temp';
const UPDATE_NS = 'vcard-temp:x:update';

describe('vcard-temp (XEP-0054) and avatar hashes (XEP-0153)', () => {
  const suite = useHub({ yaml: localhostYaml('vcard_max_size: 2048'), users: ['alice', 'bob', 'carol', 'dave'] });
  const login = (username: string, presence = true) => suite.login(username, { presence });
  const getVcard = async (client: TestClient, to?: string): Promise<Element> => {
    const result = await client.iq(xml('iq', { type: 'get', to }, xml('vCard', { xmlns: NS })));
    return result.getChild('vCard', NS)!;
  };
  const setVcard = (client: TestClient, vcard: Element, to?: string) => client.iq(xml('iq', { type: 'set', to }, vcard));

  it('gives a user an empty vCard of their own before they set one', async () => {
    const carol = await login('carol');
    const vcard = await getVcard(carol);
    assert.equal(vcard.getChildElements().length, 0);
  });

  it('stores the own vCard, which the user and others then read', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await setVcard(alice, xml('vCard', { xmlns: NS }, xml('FN', {}, 'Alice Liddell'), xml('NICKNAME', {}, 'alice')));
    assert.equal((await getVcard(alice)).getChildText('FN'), 'Alice Liddell');
    const seen = await getVcard(bob, 'alice@localhost');
    assert.equal(seen.getChildText('FN'), 'Alice Liddell');
    assert.equal(seen.getChildText('NICKNAME'), 'alice');

    await setVcard(alice, xml('vCard', { xmlns: NS }, xml('FN', {}, 'Alice')));
    const replaced = await getVcard(bob, 'alice@localhost');
    assert.equal(replaced.getChildText('FN'), 'Alice');
    assert.equal(replaced.getChild('NICKNAME'), undefined, 'a set replaces the whole vCard');
  });

  it("refuses to set another user's vCard", async () => {
    const bob = await login('bob');
    await assert.rejects(setVcard(bob, xml('vCard', { xmlns: NS }, xml('FN', {}, 'Mallory')), 'dave@localhost'),
      { condition: 'forbidden' });
    await assert.rejects(getVcard(bob, 'dave@localhost'), { condition: 'item-not-found' }, 'nothing was stored for dave');
  });

  it('answers item-not-found for another user without a vCard, service-unavailable for no such user', async () => {
    const bob = await login('bob');
    await assert.rejects(getVcard(bob, 'dave@localhost'), { condition: 'item-not-found' });
    await assert.rejects(getVcard(bob, 'nobody@localhost'), { condition: 'service-unavailable' });
  });

  it('refuses a vCard over the configured size and keeps the previous one', async () => {
    const alice = await login('alice');
    await setVcard(alice, xml('vCard', { xmlns: NS }, xml('FN', {}, 'Small')));
    await assert.rejects(setVcard(alice, xml('vCard', { xmlns: NS }, xml('DESC', {}, 'x'.repeat(3000)))),
      { condition: 'not-acceptable' });
    assert.equal((await getVcard(alice)).getChildText('FN'), 'Small');
  });

  describe('avatar hash in presence (XEP-0153)', () => {
    before(async () => {
      // Mutual subscription, so each receives the other's presence broadcasts.
      const { rosters } = suite.hub.hub.store;
      await rosters.put('localhost', 'alice', { jid: 'bob@localhost', subscription: 'both', groups: [] });
      await rosters.put('localhost', 'bob', { jid: 'alice@localhost', subscription: 'both', groups: [] });
    });

    const presenceFrom = (client: TestClient, from: RegExp, status: string) => client.waitFor((el) =>
      el.is('presence') && from.test(el.attrs.from ?? '') && el.getChildText('status') === status);
    const updates = (presence: Element) => presence.getChildren('x', UPDATE_NS);

    it("replaces the client's x:update with the hash of the stored photo", async () => {
      const image = Buffer.from('not really a PNG, but bytes all the same '.repeat(8));
      // Base64 broken into lines, as clients send it: the hash is over the decoded bytes.
      const binval = image.toString('base64').replace(/.{60}/g, '$&\n');
      const bob = await login('bob');
      const alice = await login('alice', false);
      await setVcard(alice, xml('vCard', { xmlns: NS }, xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, binval))));

      await alice.send(xml('presence', {}, xml('status', {}, 'with photo'),
        xml('x', { xmlns: UPDATE_NS }, xml('photo', {}, 'ffffffffffffffffffffffffffffffffffffffff'))));
      const presence = await presenceFrom(bob, /^alice@localhost\//, 'with photo');
      assert.equal(updates(presence).length, 1);
      assert.equal(updates(presence)[0]!.getChildText('photo'), createHash('sha1').update(image).digest('hex'));
    });

    it('advertises no avatar (an empty photo) when the vCard has no photo', async () => {
      const bob = await login('bob');
      const alice = await login('alice', false);
      await setVcard(alice, xml('vCard', { xmlns: NS }, xml('FN', {}, 'Alice')));
      await alice.send(xml('presence', {}, xml('status', {}, 'no photo')));
      const presence = await presenceFrom(bob, /^alice@localhost\//, 'no photo');
      assert.equal(updates(presence).length, 1);
      const photo = updates(presence)[0]!.getChild('photo');
      assert.ok(photo, 'a <photo/> element');
      assert.equal(photo.getText(), '');
    });
  });
});
