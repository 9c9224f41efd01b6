// Presence (RFC 6121 §4) through real clients: broadcast to subscribers only, probes at
// login, the last unavailable presence of an offline contact, directed presence, lost
// connections, the user's own resources, priorities and the blocking hook.
import assert from 'node:assert/strict';
import { Jid } from '../src/core/jid.js';
import type { StanzaEvent } from '../src/xmpp/module.js';
import { priorityOf } from '../src/xmpp/modules/presence.js';
import { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { PLAIN_ALLOWED } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { bare, flush, setRosterItem, subscribeMutually } from './support/stanzas.js';

describe('presence priority', () => {
  const priority = (text?: string) => priorityOf(text === undefined ? new Element('presence') : xml('presence', {}, xml('priority', {}, text)));

  it('reads <priority/>, clamped to -128..127, and 0 when absent or not an integer', () => {
    assert.equal(priority(), 0);
    assert.equal(priority('5'), 5);
    assert.equal(priority(' -3 '), -3);
    assert.equal(priority('200'), 127);
    assert.equal(priority('-300'), -128);
    assert.equal(priority('1.5'), 0);
    assert.equal(priority('high'), 0);
  });
});

describe('presence between clients', () => {
  const suite = useHub({ yaml: PLAIN_ALLOWED });
  const { account } = suite;
  /** Pairs (user, contact) the blocking hook reports as blocked. */
  const blocked = new Set<string>();
  const initial: StanzaEvent[] = [];

  before(() => {
    const { hooks } = suite.hub.hub.xmpp;
    hooks.on('privacy/blocked', (e) => {
      const { user, contact } = e as { user: Jid; contact: Jid };
      return blocked.has(`${user.bareString} ${contact.bareString}`);
    });
    hooks.on('presence/initial', (e) => void initial.push(e as StanzaEvent));
  });
  afterEach(() => {
    blocked.clear();
  });

  const mutual = (a: string, b: string) => subscribeMutually(suite.hub, a, b);

  /** Logs in and sends initial presence, with `status` if given. */
  async function online(username: string, resource = 'r', status?: string): Promise<TestClient> {
    const client = await suite.login(username, { resource, presence: false });
    await client.send(status === undefined ? xml('presence') : xml('presence', {}, xml('status', {}, status)));
    return client;
  }

  const presenceFrom = (from: string, type?: string) => (el: Element) =>
    el.is('presence') && el.attrs.from === from && el.attrs.type === type;

  it('broadcasts presence to subscribed contacts and not to others', async () => {
    const [alice, bob, carol, dave] = [await account('alice'), await account('bob'), await account('carol'), await account('dave')];
    await mutual(alice, bob);
    // Alice follows Dave, but Dave does not follow Alice.
    await setRosterItem(suite.hub, alice, dave, 'to');
    await setRosterItem(suite.hub, dave, alice, 'from');
    const b = await online(bob);
    const c = await online(carol);
    const d = await online(dave);
    const a = await online(alice);
    await b.waitFor(presenceFrom(`${bare(alice)}/r`));
    await a.waitFor(presenceFrom(`${bare(dave)}/r`));
    await a.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'out')));
    const update = await b.waitFor((el) => presenceFrom(`${bare(alice)}/r`)(el) && el.getChildText('status') === 'out');
    assert.equal(update.getChildText('show'), 'away');
    for (const other of [c, d]) {
      await flush(a, other);
      assert.ok(!other.received.some((el) => el.is('presence') && el.attrs.from?.startsWith(bare(alice))), `${other.jid} is not subscribed`);
    }
  });

  it('reveals nothing to a probe from someone not subscribed', async () => {
    const [bob, carol] = [await account('bob'), await account('carol')];
    await online(bob, 'r', 'private');
    const c = await online(carol);
    await c.send(xml('presence', { to: bare(bob), type: 'probe' }));
    await flush(c, c);
    assert.ok(!c.received.some((el) => el.is('presence') && el.attrs.from?.startsWith(bare(bob))));
  });

  it('probes at login: the contacts already online are seen at once', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    await mutual(alice, bob);
    await online(bob, 'desk', 'at my desk');
    const a = await online(alice);
    const seen = await a.waitFor(presenceFrom(`${bare(bob)}/desk`));
    assert.equal(seen.getChildText('status'), 'at my desk');
  });

  it('answers a probe for an offline contact with its last unavailable presence', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    await mutual(alice, bob);
    const b = await online(bob, 'phone');
    await b.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'gone fishing')));
    await flush(b, b);
    await b.stop();

    const a = await online(alice);
    const last = await a.waitFor(presenceFrom(`${bare(bob)}/phone`, 'unavailable'));
    assert.equal(last.getChildText('status'), 'gone fishing');
    assert.ok(last.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, 'stamped with the time it was sent');
  });

  it('sends unavailable to contacts and directed-presence recipients when a connection drops without </stream>', async () => {
    const [alice, bob, dave] = [await account('alice'), await account('bob'), await account('dave')];
    await mutual(alice, bob);
    const b = await online(bob);
    const d = await online(dave);
    const raw = await RawClient.login(suite.hub.port, alice, PASSWORD, 'flaky');
    raw.send('<presence/>');
    raw.send(`<presence to='${bare(dave)}/r'><status>psst</status></presence>`);
    await b.waitFor(presenceFrom(`${bare(alice)}/flaky`));
    await d.waitFor((el) => presenceFrom(`${bare(alice)}/flaky`)(el) && el.getChildText('status') === 'psst');

    raw.destroy();
    await b.waitFor(presenceFrom(`${bare(alice)}/flaky`, 'unavailable'));
    await d.waitFor(presenceFrom(`${bare(alice)}/flaky`, 'unavailable'));
  });

  it('sends directed presence only where it is addressed, then unavailable when the sender goes unavailable', async () => {
    const [alice, dave] = [await account('alice'), await account('dave')];
    const d = await online(dave);
    const a = await online(alice);
    await a.send(xml('presence', { to: bare(dave) }, xml('status', {}, 'hello dave')));
    await d.waitFor((el) => presenceFrom(`${bare(alice)}/r`)(el) && el.getChildText('status') === 'hello dave');
    await a.send(xml('presence', {}, xml('status', {}, 'broadcast only')));
    await flush(a, d);
    assert.ok(!d.received.some((el) => el.getChildText('status') === 'broadcast only'), 'dave is not a subscriber');
    await a.send(xml('presence', { type: 'unavailable' }));
    await d.waitFor(presenceFrom(`${bare(alice)}/r`, 'unavailable'));
  });

  it('shows a user\'s resources each other\'s presence', async () => {
    const alice = await account('alice');
    const first = await online(alice, 'first', 'one');
    const second = await online(alice, 'second', 'two');
    assert.equal((await second.waitFor(presenceFrom(`${bare(alice)}/first`))).getChildText('status'), 'one');
    assert.equal((await first.waitFor(presenceFrom(`${bare(alice)}/second`))).getChildText('status'), 'two');
    await second.send(xml('presence', { type: 'unavailable' }));
    await first.waitFor(presenceFrom(`${bare(alice)}/second`, 'unavailable'));
  });

  it('delivers presence for a bare JID to every available resource and for a full JID to that one only', async () => {
    const [alice, carol] = [await account('alice'), await account('carol')];
    const one = await online(alice, 'one');
    const two = await online(alice, 'two');
    const silent = await suite.login(alice, { resource: 'silent', presence: false });
    const c = await online(carol);
    await c.send(xml('presence', { to: bare(alice) }, xml('status', {}, 'to bare')));
    await c.send(xml('presence', { to: `${bare(alice)}/two` }, xml('status', {}, 'to two')));
    await one.waitFor((el) => el.getChildText('status') === 'to bare');
    await two.waitFor((el) => el.getChildText('status') === 'to bare');
    await two.waitFor((el) => el.getChildText('status') === 'to two');
    await flush(c, one);
    await flush(c, silent);
    assert.ok(!one.received.some((el) => el.getChildText('status') === 'to two'));
    assert.ok(!silent.received.some((el) => el.getChildText('status') === 'to bare'), 'a resource without presence is not available');
  });

  it('counts a negative-priority resource as available for presence but not for bare-JID chats', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    await mutual(alice, bob);
    const hidden = await suite.login(bob, { resource: 'hidden', presence: false });
    await hidden.send(xml('presence', {}, xml('priority', {}, '-5')));
    const visible = await online(bob, 'visible');
    const a = await online(alice);
    await hidden.waitFor(presenceFrom(`${bare(alice)}/r`));
    await a.send(xml('message', { to: bare(bob), type: 'chat', id: 'to-bare' }, xml('body', {}, 'hi')));
    await visible.waitFor((el) => el.attrs.id === 'to-bare');
    await flush(a, hidden);
    assert.ok(!hidden.received.some((el) => el.attrs.id === 'to-bare'));
    const seen = await a.waitFor((el) => presenceFrom(`${bare(bob)}/hidden`)(el));
    assert.equal(seen.getChildText('priority'), '-5');
  });

  it('fires presence/initial once per session, after its initial presence', async () => {
    const alice = await account('alice');
    const a = await online(alice);
    await a.send(xml('presence', {}, xml('status', {}, 'second')));
    await flush(a, a);
    const fired = initial.filter((e) => e.from.toString() === a.jid);
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.session?.jid?.toString(), a.jid);
    assert.equal(fired[0]!.to.toString(), bare(alice));
  });

  it('asks the blocking hook before sending and before delivering presence', async () => {
    const [alice, bob, carol] = [await account('alice'), await account('bob'), await account('carol')];
    await mutual(alice, bob);
    await mutual(alice, carol);
    blocked.add(`${bare(alice)} ${bare(bob)}`);
    const b = await online(bob, 'r', 'bob here');
    const c = await online(carol);
    const a = await online(alice, 'r', 'alice here');
    await c.waitFor(presenceFrom(`${bare(alice)}/r`));
    await a.waitFor(presenceFrom(`${bare(carol)}/r`));
    await flush(a, b);
    await flush(b, a);
    assert.ok(!b.received.some(presenceFrom(`${bare(alice)}/r`)), 'alice blocks bob: no presence to bob');
    assert.ok(!a.received.some(presenceFrom(`${bare(bob)}/r`)), 'alice blocks bob: no presence from bob');
  });
});
