// Presence subscriptions (RFC 6121 §3): the state table of Appendix A on its own, then the
// handshakes between real clients: request and approval, cancelling, unsubscribing,
// denial, pre-approval and requests kept for an offline contact.
import assert from 'node:assert/strict';
import {
  inbound, outbound, type SubscriptionStanza, type SubscriptionState,
} from '../src/xmpp/roster/subscription.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { PLAIN_ALLOWED } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { bare, flush, setRosterItem } from './support/stanzas.js';

const STATES: Record<string, SubscriptionState> = {
  'None': { subscription: 'none', ask: false, pendingIn: false, approved: false },
  'None + Pending Out': { subscription: 'none', ask: true, pendingIn: false, approved: false },
  'None + Pending In': { subscription: 'none', ask: false, pendingIn: true, approved: false },
  'None + Pending Out/In': { subscription: 'none', ask: true, pendingIn: true, approved: false },
  'To': { subscription: 'to', ask: false, pendingIn: false, approved: false },
  'To + Pending In': { subscription: 'to', ask: false, pendingIn: true, approved: false },
  'From': { subscription: 'from', ask: false, pendingIn: false, approved: false },
  'From + Pending Out': { subscription: 'from', ask: true, pendingIn: false, approved: false },
  'Both': { subscription: 'both', ask: false, pendingIn: false, approved: false },
};
type StateName = keyof typeof STATES;
/** [existing state, routed or delivered?, new state ('' = no change)] per row of Appendix A. */
type Row = [StateName, boolean, StateName | ''];

const same = '';
// RFC 6121 A.2: outbound stanzas ("route?"). Requests and cancellations are always routed.
const OUTBOUND: Record<SubscriptionStanza, Row[]> = {
  subscribe: [
    ['None', true, 'None + Pending Out'], ['None + Pending Out', true, same], ['None + Pending In', true, 'None + Pending Out/In'],
    ['None + Pending Out/In', true, same], ['To', true, same], ['To + Pending In', true, same],
    ['From', true, 'From + Pending Out'], ['From + Pending Out', true, same], ['Both', true, same],
  ],
  unsubscribe: [
    ['None', true, same], ['None + Pending Out', true, 'None'], ['None + Pending In', true, same],
    ['None + Pending Out/In', true, 'None + Pending In'], ['To', true, 'None'], ['To + Pending In', true, 'None + Pending In'],
    ['From', true, same], ['From + Pending Out', true, 'From'], ['Both', true, 'From'],
  ],
  // Rows without a pending request become pre-approvals; checked separately below.
  subscribed: [
    ['None + Pending In', true, 'From'], ['None + Pending Out/In', true, 'From + Pending Out'], ['To + Pending In', true, 'Both'],
    ['From', false, same], ['From + Pending Out', false, same], ['Both', false, same],
  ],
  unsubscribed: [
    ['None', false, same], ['None + Pending Out', false, same], ['None + Pending In', true, 'None'],
    ['None + Pending Out/In', true, 'None + Pending Out'], ['To', false, same], ['To + Pending In', true, 'To'],
    ['From', true, 'None'], ['From + Pending Out', true, 'None + Pending Out'], ['Both', true, 'To'],
  ],
};
// RFC 6121 A.3: inbound stanzas ("deliver?").
const INBOUND: Record<SubscriptionStanza, Row[]> = {
  subscribe: [
    ['None', true, 'None + Pending In'], ['None + Pending Out', true, 'None + Pending Out/In'], ['None + Pending In', false, same],
    ['None + Pending Out/In', false, same], ['To', true, 'To + Pending In'], ['To + Pending In', false, same],
    ['From', false, same], ['From + Pending Out', false, same], ['Both', false, same],
  ],
  unsubscribe: [
    ['None', false, same], ['None + Pending Out', false, same], ['None + Pending In', true, 'None'],
    ['None + Pending Out/In', true, 'None + Pending Out'], ['To', false, same], ['To + Pending In', true, 'To'],
    ['From', true, 'None'], ['From + Pending Out', true, 'None + Pending Out'], ['Both', true, 'To'],
  ],
  subscribed: [
    ['None', false, same], ['None + Pending Out', true, 'To'], ['None + Pending In', false, same],
    ['None + Pending Out/In', true, 'To + Pending In'], ['To', false, same], ['To + Pending In', false, same],
    ['From', false, same], ['From + Pending Out', true, 'Both'], ['Both', false, same],
  ],
  unsubscribed: [
    ['None', false, same], ['None + Pending Out', true, 'None'], ['None + Pending In', false, same],
    ['None + Pending Out/In', true, 'None + Pending In'], ['To', true, 'None'], ['To + Pending In', true, 'None + Pending In'],
    ['From', false, same], ['From + Pending Out', true, 'From'], ['Both', true, 'From'],
  ],
};

describe('subscription state table (RFC 6121 Appendix A)', () => {
  for (const [direction, table, apply] of [['outbound', OUTBOUND, outbound], ['inbound', INBOUND, inbound]] as const) {
    for (const [type, rows] of Object.entries(table) as Array<[SubscriptionStanza, Row[]]>) {
      it(`${direction} "${type}"`, () => {
        for (const [existing, forward, next] of rows) {
          const t = apply(STATES[existing]!, type);
          assert.deepEqual(t.state, STATES[next || existing], `${direction} ${type} from "${existing}"`);
          assert.equal(t.forward, forward, `${direction} ${type} from "${existing}": forward`);
        }
      });
    }
  }

  it('auto-replies "subscribed" to a request from a contact who is already subscribed', () => {
    for (const name of ['From', 'From + Pending Out', 'Both'] as const) assert.equal(inbound(STATES[name]!, 'subscribe').autoReply, true, name);
    for (const name of ['None', 'To', 'None + Pending In'] as const) assert.equal(inbound(STATES[name]!, 'subscribe').autoReply, false, name);
  });

  it('records a pre-approval instead of routing "subscribed" without a pending request (§3.4)', () => {
    for (const name of ['None', 'None + Pending Out', 'To'] as const) {
      const t = outbound(STATES[name]!, 'subscribed');
      assert.deepEqual(t.state, { ...STATES[name]!, approved: true }, name);
      assert.equal(t.forward, false, name);
    }
  });

  it('grants a pre-approved request at once, without delivering it (§3.4.2)', () => {
    const cases = [['None', 'From'], ['None + Pending Out', 'From + Pending Out'], ['To', 'Both']] as const;
    for (const [name, next] of cases) {
      const t = inbound({ ...STATES[name]!, approved: true }, 'subscribe');
      assert.deepEqual(t.state, STATES[next], name);
      assert.equal(t.forward, false, name);
      assert.equal(t.autoReply, true, name);
    }
  });

  it('cancels a pre-approval with "unsubscribed", routing nothing', () => {
    const t = outbound({ ...STATES['None']!, approved: true }, 'unsubscribed');
    assert.deepEqual(t.state, STATES['None']);
    assert.equal(t.forward, false);
  });
});

const ROSTER = 'jabber:iq:roster';

describe('presence subscriptions between clients', () => {
  // A new account per test, so that no test sees another's roster.
  const suite = useHub({ yaml: PLAIN_ALLOWED });
  const { account } = suite;

  /** Logs in, sends initial presence (with `status` if given) and requests the roster. */
  async function online(username: string, status?: string): Promise<TestClient> {
    const client = await suite.login(username, { resource: 'r', presence: false });
    await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    await client.send(status === undefined ? xml('presence') : xml('presence', {}, xml('status', {}, status)));
    return client;
  }

  function pushed(client: TestClient, contact: string, attrs: Record<string, string | undefined>): Promise<Element> {
    return client.waitFor((el) => {
      const item = el.is('iq') && el.attrs.type === 'set' ? el.getChild('query', ROSTER)?.getChild('item') : undefined;
      return item?.attrs.jid === contact && Object.entries(attrs).every(([k, v]) => item.attrs[k] === v);
    });
  }

  const presenceOf = (type: string | undefined, from: string) => (el: Element) =>
    el.is('presence') && el.attrs.type === type && el.attrs.from === from;

  async function subscribeBothWays(a: { name: string; client: TestClient }, b: { name: string; client: TestClient }): Promise<void> {
    for (const [from, to] of [[a, b], [b, a]] as const) {
      await from.client.send(xml('presence', { to: bare(to.name), type: 'subscribe' }));
      await to.client.waitFor(presenceOf('subscribe', bare(from.name)));
      await to.client.send(xml('presence', { to: bare(from.name), type: 'subscribed' }));
      await pushed(from.client, bare(to.name), { subscription: from === a ? 'to' : 'both' });
    }
    await pushed(a.client, bare(b.name), { subscription: 'both' });
  }

  it('completes the handshake both ways, with roster pushes, and presence flows afterwards', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice, 'reading');
    const b = await online(bob, 'building');

    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }, xml('status', {}, 'I am Alice')));
    await pushed(a, bare(bob), { subscription: 'none', ask: 'subscribe' });
    const request = await b.waitFor(presenceOf('subscribe', bare(alice)));
    assert.equal(request.attrs.from, bare(alice), 'stamped with the bare JID (§3.1.2)');
    assert.equal(request.getChildText('status'), 'I am Alice');

    await b.send(xml('presence', { to: bare(alice), type: 'subscribed' }));
    await pushed(b, bare(alice), { subscription: 'from', ask: undefined });
    await pushed(a, bare(bob), { subscription: 'to', ask: undefined });
    await a.waitFor(presenceOf('subscribed', bare(bob)));
    const current = await a.waitFor(presenceOf(undefined, `${bare(bob)}/r`));
    assert.equal(current.getChildText('status'), 'building', 'the new subscriber gets the current presence');

    await b.send(xml('presence', { to: bare(alice), type: 'subscribe' }));
    await a.waitFor(presenceOf('subscribe', bare(bob)));
    await a.send(xml('presence', { to: bare(bob), type: 'subscribed' }));
    await pushed(a, bare(bob), { subscription: 'both' });
    await pushed(b, bare(alice), { subscription: 'both' });
    assert.equal((await b.waitFor(presenceOf(undefined, `${bare(alice)}/r`))).getChildText('status'), 'reading');

    await a.send(xml('presence', {}, xml('status', {}, 'lunch')));
    await b.waitFor((el) => presenceOf(undefined, `${bare(alice)}/r`)(el) && el.getChildText('status') === 'lunch');
    await b.send(xml('presence', {}, xml('show', {}, 'dnd')));
    await a.waitFor((el) => presenceOf(undefined, `${bare(bob)}/r`)(el) && el.getChildText('show') === 'dnd');

    const roster = await a.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    const item = roster.getChild('query')!.getChild('item')!;
    assert.deepEqual([item.attrs.jid, item.attrs.subscription, item.attrs.ask], [bare(bob), 'both', undefined]);
  });

  it('answers a request from an already subscribed contact on the user\'s behalf, resyncing the contact', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    const b = await online(bob);
    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }));
    await b.waitFor(presenceOf('subscribe', bare(alice)));
    await b.send(xml('presence', { to: bare(alice), type: 'subscribed' }));
    await pushed(a, bare(bob), { subscription: 'to' });
    // Alice's side loses the subscription (as after a restore from an old backup).
    await setRosterItem(suite.hub, alice, bob, 'none');
    await pushed(a, bare(bob), { subscription: 'none', ask: undefined });

    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }));
    await a.waitFor(presenceOf('subscribed', bare(bob)));
    await pushed(a, bare(bob), { subscription: 'to' });
    await flush(a, b);
    assert.equal(b.received.filter(presenceOf('subscribe', bare(alice))).length, 1, 'bob is not asked again');
  });

  it('unsubscribing stops the contact\'s presence and shows the contact unavailable (§3.3)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    const b = await online(bob);
    await subscribeBothWays({ name: alice, client: a }, { name: bob, client: b });

    await a.send(xml('presence', { to: bare(bob), type: 'unsubscribe' }));
    await pushed(a, bare(bob), { subscription: 'from' });
    await pushed(b, bare(alice), { subscription: 'to' });
    await b.waitFor(presenceOf('unsubscribe', bare(alice)));
    await a.waitFor(presenceOf('unavailable', `${bare(bob)}/r`));

    await b.send(xml('presence', {}, xml('status', {}, 'after unsubscribe')));
    await flush(b, a);
    assert.ok(!a.received.some((el) => el.getChildText('status') === 'after unsubscribe'), 'alice no longer gets bob\'s presence');
    await a.send(xml('presence', {}, xml('status', {}, 'still shared')));
    await b.waitFor((el) => el.getChildText('status') === 'still shared');
  });

  it('cancelling a subscription stops the user\'s presence to the contact (§3.2)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    const b = await online(bob);
    await subscribeBothWays({ name: alice, client: a }, { name: bob, client: b });

    await b.send(xml('presence', { to: bare(alice), type: 'unsubscribed' }));
    await pushed(b, bare(alice), { subscription: 'to' });
    await pushed(a, bare(bob), { subscription: 'from' });
    await a.waitFor(presenceOf('unsubscribed', bare(bob)));
    await a.waitFor(presenceOf('unavailable', `${bare(bob)}/r`));

    await b.send(xml('presence', {}, xml('status', {}, 'private now')));
    await flush(b, a);
    assert.ok(!a.received.some((el) => el.getChildText('status') === 'private now'));
  });

  it('denying a request clears the requester\'s pending state', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    const b = await online(bob);
    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }));
    await b.waitFor(presenceOf('subscribe', bare(alice)));
    await b.send(xml('presence', { to: bare(alice), type: 'unsubscribed' }));
    await a.waitFor(presenceOf('unsubscribed', bare(bob)));
    await pushed(a, bare(bob), { subscription: 'none', ask: undefined });
    await flush(b, b);
    assert.ok(!b.received.some((el) => el.is('iq') && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === bare(alice)),
      'bob\'s roster is untouched: a request alone adds no item (§3.1.3)');
  });

  it('pre-approves a contact, whose later request is granted without asking the user (§3.4)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    const b = await online(bob, 'welcoming');
    await b.send(xml('presence', { to: bare(alice), type: 'subscribed' }));
    await pushed(b, bare(alice), { subscription: 'none', approved: 'true' });
    await flush(b, a);
    assert.ok(!a.received.some(presenceOf('subscribed', bare(bob))), 'a pre-approval is not routed');

    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }));
    await pushed(a, bare(bob), { subscription: 'to' });
    await a.waitFor(presenceOf('subscribed', bare(bob)));
    assert.equal((await a.waitFor(presenceOf(undefined, `${bare(bob)}/r`))).getChildText('status'), 'welcoming');
    await pushed(b, bare(alice), { subscription: 'from', approved: undefined });
    await flush(a, b);
    assert.ok(!b.received.some(presenceOf('subscribe', bare(alice))), 'bob is not asked');
  });

  it('advertises pre-approval support as a stream feature', async () => {
    const user = await account('raw');
    const raw = await RawClient.login(suite.hub.port, user, PASSWORD);
    try {
      assert.match(raw.text, /<sub xmlns=["']urn:xmpp:features:pre-approval["']/);
    } finally {
      raw.destroy();
    }
  });

  it('keeps a request for an offline contact and delivers it at every login until answered (§3.1.3)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await online(alice);
    await a.send(xml('presence', { to: bare(bob), type: 'subscribe' }, xml('status', {}, 'remember me')));
    await pushed(a, bare(bob), { ask: 'subscribe' });

    for (let login = 0; login < 2; login++) {
      const b = await online(bob);
      const request = await b.waitFor(presenceOf('subscribe', bare(alice)));
      assert.equal(request.getChildText('status'), 'remember me');
      assert.ok(request.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, 'marked as delayed');
      await b.stop();
    }

    const b = await online(bob);
    await b.waitFor(presenceOf('subscribe', bare(alice)));
    await b.send(xml('presence', { to: bare(alice), type: 'subscribed' }));
    await pushed(a, bare(bob), { subscription: 'to' });
    await b.stop();

    const again = await online(bob);
    await flush(again, again);
    assert.ok(!again.received.some(presenceOf('subscribe', bare(alice))), 'an answered request is not delivered again');
  });

  it('answers a request to an account that does not exist with "unsubscribed"', async () => {
    const a = await online(await account('alice'));
    await a.send(xml('presence', { to: 'nobody@localhost', type: 'subscribe' }));
    await a.waitFor(presenceOf('unsubscribed', 'nobody@localhost'));
    await pushed(a, 'nobody@localhost', { subscription: 'none', ask: undefined });
  });
});
