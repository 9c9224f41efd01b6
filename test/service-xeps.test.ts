// Small service XEPs, as clients see them: software version (XEP-0092), ping in both
// directions (XEP-0199), private XML storage (XEP-0049), last activity (XEP-0012) and
// entity time (XEP-0202).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { PASSWORD, useHub } from './support/fixture.js';
import { RawClient } from './support/raw.js';

const PING = 'urn:xmpp:ping';
const PRIVATE = 'jabber:iq:private';
const LAST = 'jabber:iq:last';

describe('service XEPs', () => {
  const suite = useHub({ users: ['alice', 'bob', 'carol', 'eve'] });
  const login = (username: string, presence = true) => suite.login(username, { presence });

  describe('software version (XEP-0092)', () => {
    it('names the server, its release and its platform', async () => {
      const alice = await login('alice');
      const result = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
      const query = result.getChild('query', 'jabber:iq:version')!;
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      assert.equal(query.getChildText('name'), 'Switchboard');
      assert.equal(query.getChildText('version'), pkg.version);
      assert.equal(query.getChildText('os'), process.platform);
    });
  });

  describe('entity time (XEP-0202)', () => {
    it('gives the UTC time and the offset of the server', async () => {
      const alice = await login('alice');
      const result = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('time', { xmlns: 'urn:xmpp:time' })));
      const time = result.getChild('time', 'urn:xmpp:time')!;
      assert.match(time.getChildText('tzo') ?? '', /^[+-]\d{2}:\d{2}$/);
      const utc = time.getChildText('utc') ?? '';
      assert.match(utc, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.ok(Math.abs(Date.parse(utc) - Date.now()) < 5000, `${utc} is now`);
    });
  });

  describe('ping (XEP-0199)', () => {
    it('answers a client ping with an empty result', async () => {
      const alice = await login('alice');
      const result = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: PING })));
      assert.equal(result.attrs.type, 'result');
      assert.equal(result.getChildElements().length, 0);
    });

    describe('server to client', () => {
      const pinging = useHub({
        yaml: `
c2s:
  interfaces: ["127.0.0.1"]
  port: 0
  direct_tls_port: 0
  ping_interval: 1
  ping_timeout: 1
auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
`,
        users: ['alice', 'bob'],
      });

      it('keeps pinging an idle client that answers', async () => {
        const alice = await pinging.login('alice');
        const isPing = (el: Element) => el.is('iq') && el.attrs.type === 'get' && el.getChild('ping', PING) !== undefined;
        const first = await alice.waitFor(isPing);
        assert.equal(first.attrs.from, 'localhost');
        // A second ping comes only to a session that survived the first one's timeout.
        await alice.waitFor((el) => isPing(el) && el !== first);
        await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: PING })));
      });

      it('drops an idle client that does not answer, with <connection-timeout/>', async () => {
        const raw = await RawClient.login(pinging.hub.port, 'bob', PASSWORD, 'silent');
        try {
          await raw.waitFor(/<iq [^>]*to="bob@localhost\/silent"[^>]*><ping xmlns="urn:xmpp:ping"\/><\/iq>/);
          await raw.waitFor(/<connection-timeout xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
          await raw.waitClosed();
        } finally {
          raw.destroy();
        }
      });
    });
  });

  describe('private XML storage (XEP-0049)', () => {
    const privateIq = (client: TestClient, type: 'get' | 'set', children: Element[], to?: string) =>
      client.iq(xml('iq', { type, to }, xml('query', { xmlns: PRIVATE }, ...children)));

    it('stores fragments by element and namespace and returns the one asked for', async () => {
      const alice = await login('alice');
      await privateIq(alice, 'set', [xml('exodus', { xmlns: 'exodus:prefs' }, xml('defaultnick', {}, 'Hamlet'))]);
      await privateIq(alice, 'set', [xml('storage', { xmlns: 'storage:bookmarks' }, xml('url', { name: 'XSF', url: 'https://xmpp.org' }))]);
      const result = await privateIq(alice, 'get', [xml('exodus', { xmlns: 'exodus:prefs' })]);
      const query = result.getChild('query', PRIVATE)!;
      assert.equal(query.getChildElements().length, 1);
      assert.equal(query.getChild('exodus', 'exodus:prefs')?.getChildText('defaultnick'), 'Hamlet');

      const bookmarks = await privateIq(alice, 'get', [xml('storage', { xmlns: 'storage:bookmarks' })]);
      assert.equal(bookmarks.getChild('query', PRIVATE)?.getChild('storage', 'storage:bookmarks')?.getChild('url')?.attrs.name, 'XSF');
    });

    it('returns the requested element empty when nothing is stored under it', async () => {
      const alice = await login('alice');
      const result = await privateIq(alice, 'get', [xml('nothing', { xmlns: 'urn:example:nothing' })]);
      const stored = result.getChild('query', PRIVATE)?.getChild('nothing', 'urn:example:nothing');
      assert.ok(stored);
      assert.equal(stored.getChildElements().length, 0);
    });

    it("forbids reading or writing another user's storage", async () => {
      const bob = await login('bob');
      await assert.rejects(privateIq(bob, 'get', [xml('exodus', { xmlns: 'exodus:prefs' })], 'alice@localhost'),
        { condition: 'forbidden' });
      await assert.rejects(privateIq(bob, 'set', [xml('exodus', { xmlns: 'exodus:prefs' })], 'alice@localhost'),
        { condition: 'forbidden' });
    });

    it('rejects queries without a fragment in a namespace of its own', async () => {
      const alice = await login('alice');
      await assert.rejects(privateIq(alice, 'get', []), { condition: 'bad-request' });
      await assert.rejects(privateIq(alice, 'set', []), { condition: 'not-acceptable' });
      await assert.rejects(privateIq(alice, 'set', [xml('prefs', {}, 'no namespace')]), { condition: 'not-acceptable' });
      await assert.rejects(privateIq(alice, 'get', [xml('query', { xmlns: PRIVATE })]), { condition: 'not-acceptable' });
    });
  });

  describe('last activity (XEP-0012)', () => {
    const last = async (client: TestClient, to: string): Promise<Element> => {
      const result = await client.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: LAST })));
      return result.getChild('query', LAST)!;
    };

    before(async () => {
      // bob and eve's contact carol may see their presence; alice has no subscription.
      const { rosters } = suite.hub.hub.store;
      await rosters.put('localhost', 'bob', { jid: 'carol@localhost', subscription: 'from', groups: [] });
      await rosters.put('localhost', 'eve', { jid: 'carol@localhost', subscription: 'both', groups: [] });
      await rosters.put('localhost', 'bob', { jid: 'alice@localhost', subscription: 'to', groups: [] });
    });

    it('gives the uptime of the server', async () => {
      const alice = await login('alice');
      const query = await last(alice, 'localhost');
      assert.match(query.attrs.seconds ?? '', /^\d+$/);
      assert.equal(query.getText(), '');
    });

    it('gives 0 seconds for a contact who is online', async () => {
      await login('bob');
      const carol = await login('carol');
      assert.equal((await last(carol, 'bob@localhost')).attrs.seconds, '0');
    });

    it('gives the time since logout and the last unavailable status of a contact who is offline', async () => {
      const bob = await login('bob');
      await bob.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'Heading Home')));
      await bob.stop();
      const carol = await login('carol');
      const query = await last(carol, 'bob@localhost');
      assert.ok(Number(query.attrs.seconds) <= 2, `seconds=${query.attrs.seconds}`);
      assert.equal(query.getText(), 'Heading Home');

      // The account itself may ask too, from a resource that is not available.
      const own = await login('bob', false);
      assert.equal((await last(own, 'bob@localhost')).getText(), 'Heading Home');
    });

    it('refuses requesters not subscribed to the presence of the account', async () => {
      const alice = await login('alice');
      await assert.rejects(last(alice, 'bob@localhost'), { condition: 'forbidden' });
    });

    it('answers item-not-found for a user never logged out, service-unavailable for no such user', async () => {
      const carol = await login('carol');
      await assert.rejects(last(carol, 'eve@localhost'), { condition: 'item-not-found' });
      await assert.rejects(last(carol, 'nobody@localhost'), { condition: 'service-unavailable' });
    });
  });
});
