// LDAP as the directory of two domains, against a real OpenLDAP slapd loaded from
// fixtures/ldap/example.ldif: logins by bind (PLAIN over STARTTLS, the directory reached with
// StartTLS), users added and removed while the hub runs, offline delivery to users who never
// logged in, vCards and directory search from LDAP, filter injection, and a third domain
// checking passwords against the entries' hashes (SCRAM from RFC 5803 secrets).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DirectoryReadOnly } from '../src/directory/port.js';
import type { Element } from '../src/xmpp/xml.js';
import { connect, xml, type ConnectOptions, type TestClient } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { ldapSectionYaml, NET_PEOPLE_DN, PEOPLE_DN, Slapd } from './support/slapd.js';
import { stanzaErrorCondition, sync } from './support/stanzas.js';

const VCARD = 'vcard-temp';
const SEARCH = 'jabber:iq:search';
const DATA = 'jabber:x:data';
const STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const REFRESH_SECONDS = 0.3;
const PHOTO = Buffer.from('/9j/4AAQSkZJRgABAQAAAQABAAD/2Q==', 'base64');

function hubYaml(slapd: Slapd): string {
  return `auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
  throttle: { max_failures: 1000 }
${ldapSectionYaml(slapd, 'negative_cache_ttl: 0.2', `refresh_interval: ${REFRESH_SECONDS}`)}hosts:
  - domain: localhost
    require_encryption: optional
    directory: ldap
    search: { enabled: true, limit: 3 }
    ldap:
      base: "${PEOPLE_DN}"
      enabled_filter: "(!(employeeType=disabled))"
  - domain: example.net
    require_encryption: optional
    directory: ldap
    ldap:
      base: "${NET_PEOPLE_DN}"
  - domain: hash.test
    require_encryption: optional
    directory: ldap
    ldap:
      base: "${PEOPLE_DN}"
      auth: hash
      password_attributes: [userPassword, authPassword]
      scram: true
`;
}

function person(uid: string, extra = ''): string {
  return `dn: uid=${uid},${PEOPLE_DN}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid} Newcomer
sn: Newcomer
mail: ${uid}@example.org
employeeType: staff
userPassword: ${uid}-pw
${extra}`;
}

describe('LDAP directory', function () {
  this.timeout(30_000);
  let slapd: Slapd;
  let hub: TestHub;
  const clients: TestClient[] = [];

  before(async () => {
    slapd = await Slapd.create();
    hub = await startHub({ yaml: hubYaml(slapd) });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await hub?.stop();
    await slapd?.destroy();
  });

  async function login(username: string, password: string, options: Partial<ConnectOptions> & { domain?: string } = {}): Promise<TestClient> {
    const { domain, ...rest } = options;
    const client = await connect(domain ? { ...hub, domain } : hub, { username, password, mechanism: 'PLAIN', ...rest });
    clients.push(client);
    return client;
  }

  async function vcardOf(client: TestClient, jid: string): Promise<Element> {
    const result = await client.iq(xml('iq', { type: 'get', to: jid }, xml('vCard', { xmlns: VCARD })));
    return result.getChild('vCard', VCARD)!;
  }

  async function offlineCount(domain: string, username: string, count: number): Promise<void> {
    for (let i = 0; i < 100 && await hub.hub.store.offline.count(domain, username) !== count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await hub.hub.store.offline.count(domain, username), count);
  }

  function messageError(client: TestClient, to: string, id: string): Promise<string | undefined> {
    void client.send(xml('message', { to, id, type: 'chat' }, xml('body', {}, 'hello')));
    return client.waitFor((el) => el.attrs.id === id && el.attrs.type === 'error').then(stanzaErrorCondition);
  }

  function streamErrorOf(client: TestClient): Promise<string> {
    return new Promise((resolve) => {
      client.xmpp.on('nonza', (el: Element) => {
        if (el.name === 'stream:error') resolve(el.getChildElements().find((c) => c.attrs.xmlns === STREAMS)!.name);
      });
    });
  }

  describe('logins', () => {
    it('logs an LDAP user in with PLAIN over STARTTLS, with nothing provisioned in the hub', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.match(alice.jid, /^alice@localhost\//);
      assert.deepEqual(await hub.hub.store.accounts.list('localhost'), [], 'no account stored');
    });

    it('refuses a wrong password, an empty one, a disabled user and an unknown one', async () => {
      await assert.rejects(login('alice', 'wrong'), /not-authorized/);
      await assert.rejects(login('eve', 'eve-pw'), /not-authorized/, 'eve is disabled (employeeType)');
      await assert.rejects(login('nobody', 'alice-pw'), /not-authorized/);
      assert.notEqual(await RawClient.tryPlain(hub.port, 'alice', ''), 'success', 'an empty password is no login');
      assert.equal(await hub.hub.directory.verifyPassword('localhost', 'alice', ''), false);
    });

    it('leaves accounts and passwords to LDAP: no password change, no account creation through the hub', async () => {
      const alice = await login('alice', 'alice-pw');
      const change = xml('iq', { type: 'set', to: 'localhost' },
        xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, 'alice'), xml('password', {}, 'new-pw')));
      await assert.rejects(alice.iq(change), (err: { condition?: string }) => err.condition === 'not-allowed');
      await assert.rejects(hub.hub.directory.createUser('localhost', 'newbie', 'newbie-pw'), DirectoryReadOnly);
      await assert.rejects(hub.hub.directory.deleteUser('localhost', 'alice'), DirectoryReadOnly);
      await login('alice', 'alice-pw', { resource: 'again' });
    });

    it('offers PLAIN but not SCRAM, since the directory checks passwords by bind', async () => {
      await assert.rejects(login('alice', 'alice-pw', { mechanism: 'SCRAM-SHA-1' }), /SCRAM-SHA-1 not offered: PLAIN/);
    });

    it('lets a user added to LDAP log in at once, and closes the sessions of a user deleted from it', async () => {
      await assert.rejects(login('zoe', 'zoe-pw'), /not-authorized/);
      await slapd.add(person('zoe'));
      const zoe = await login('zoe', 'zoe-pw');
      const closed = streamErrorOf(zoe);
      await slapd.delete(`uid=zoe,${PEOPLE_DN}`);
      assert.equal(await closed, 'not-authorized', 'closed at the next refresh');
      await assert.rejects(login('zoe', 'zoe-pw'), /not-authorized/);
    });

    it('closes the sessions of a user disabled in LDAP, and keeps the others', async () => {
      await slapd.add(person('yann'));
      const yann = await login('yann', 'yann-pw');
      const alice = await login('alice', 'alice-pw');
      const closed = streamErrorOf(yann);
      await slapd.modify(`dn: uid=yann,${PEOPLE_DN}\nchangetype: modify\nreplace: employeeType\nemployeeType: disabled\n`);
      assert.equal(await closed, 'not-authorized');
      await new Promise((resolve) => setTimeout(resolve, REFRESH_SECONDS * 2000));
      await sync(alice);
    });
  });

  describe('routing', () => {
    it('stores messages to an LDAP user who never logged in, and delivers them at login', async () => {
      const alice = await login('alice', 'alice-pw');
      await alice.send(xml('message', { to: 'dave@localhost', id: 'off1', type: 'chat' }, xml('body', {}, 'see you')));
      await offlineCount('localhost', 'dave', 1);
      const dave = await login('dave', 'dave-pw');
      const message = await dave.waitFor((el) => el.attrs.id === 'off1');
      assert.equal(message.getChildText('body'), 'see you');
    });

    it('answers messages to users LDAP does not know with service-unavailable', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.equal(await messageError(alice, 'nobody@localhost', 'u1'), 'service-unavailable');
      assert.equal(await messageError(alice, 'eve@localhost', 'u2'), 'service-unavailable', 'a disabled user');
      assert.equal(await messageError(alice, 'nina@localhost', 'u3'), 'service-unavailable', 'a user of the other domain\'s base');
    });

    it('finds a user added to LDAP once the negative cache entry expired', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.equal(await messageError(alice, 'xavier@localhost', 'x1'), 'service-unavailable');
      await slapd.add(person('xavier'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await alice.send(xml('message', { to: 'xavier@localhost', id: 'x2', type: 'chat' }, xml('body', {}, 'welcome')));
      await offlineCount('localhost', 'xavier', 1);
    });

    it('gives the gateways mail, mobile and name through the directory port', async () => {
      assert.deepEqual(await hub.hub.directory.userAttributes('localhost', 'bob'),
        { mail: 'bob@example.org', mobile: '+40723000002', displayName: 'Bob Builder' });
      assert.deepEqual(await hub.hub.directory.userAttributes('localhost', 'carol'), { mail: 'carol@example.org', displayName: 'Carol Coder' });
      assert.equal(await hub.hub.directory.userAttributes('localhost', 'nobody'), null);
    });
  });

  describe('filter injection (RFC 4515 escaping)', () => {
    it('logs in a user whose uid has the filter\'s special characters', async () => {
      const odd = await login('odd(one)*', 'odd-pw');
      assert.match(odd.jid, /^odd\(one\)\*@localhost\//);
    });

    it('never lets wildcards, parentheses or escapes in a username match another entry', async () => {
      for (const username of ['*', 'al*', '*e', 'alice)(uid=*', 'a)(|(uid=*', 'alic\\65', '(uid=alice)']) {
        await assert.rejects(login(username, 'alice-pw'), /not-authorized/, username);
        assert.equal(await hub.hub.directory.userExists('localhost', username), false, username);
      }
      for (const username of ['alice\0', '\0', 'alice\0)(uid=*']) {
        assert.equal(await hub.hub.directory.verifyPassword('localhost', username, 'alice-pw'), false);
        assert.equal(await hub.hub.directory.userExists('localhost', username), false);
      }
    });

    it('does not route to a pattern', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.equal(await messageError(alice, 'b*@localhost', 'i1'), 'service-unavailable');
      assert.equal(await messageError(alice, 'bo\\62@localhost', 'i2'), 'service-unavailable');
    });

    it('searches for the characters literally', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.deepEqual(await searchJids(alice, { fn: '*' }), []);
      assert.deepEqual(await searchJids(alice, { user: '(one)*' }), ['odd(one)*@localhost']);
    });
  });

  describe('vCards', () => {
    it('answers with the vCard built from the LDAP entry', async () => {
      const alice = await login('alice', 'alice-pw');
      const card = await vcardOf(alice, 'bob@localhost');
      assert.equal(card.getChildText('FN'), 'Bob Builder');
      assert.equal(card.getChild('N')!.getChildText('GIVEN'), 'Bob');
      assert.equal(card.getChild('N')!.getChildText('FAMILY'), 'Builder');
      assert.equal(card.getChildText('NICKNAME'), 'bob');
      assert.deepEqual(card.getChildren('EMAIL').map((e) => e.getChildText('USERID')), ['bob@example.org']);
      assert.deepEqual(card.getChildren('TEL').map((t) => [t.getChildText('NUMBER'), t.getChild('CELL') ? 'cell' : 'voice']),
        [['+40723000002', 'cell'], ['+40213000002', 'voice']]);
      assert.equal(card.getChild('ORG')!.getChildText('ORGNAME'), 'Example Org');
      assert.equal(card.getChild('ORG')!.getChildText('ORGUNIT'), 'Sales');
      assert.equal(card.getChildText('TITLE'), 'Account Manager');
      assert.equal(card.getChild('PHOTO'), undefined, 'bob has no jpegPhoto');
    });

    it('carries the jpegPhoto as PHOTO, and its hash on presence (XEP-0153)', async () => {
      const bob = await login('bob', 'bob-pw');
      const photo = (await vcardOf(bob, 'alice@localhost')).getChild('PHOTO')!;
      assert.equal(photo.getChildText('TYPE'), 'image/jpeg');
      assert.deepEqual(Buffer.from(photo.getChildText('BINVAL')!, 'base64'), PHOTO);

      const desk = await login('alice', 'alice-pw', { resource: 'desk' });
      const phone = await login('alice', 'alice-pw', { resource: 'phone' });
      assert.equal((await vcardOf(phone, 'alice@localhost')).getChildText('FN'), 'Alice Liddell', 'one\'s own vCard');
      await desk.send(xml('presence', {}, xml('status', {}, 'with avatar')));
      const presence = await phone.waitFor((el) => el.is('presence') && el.getChildText('status') === 'with avatar');
      assert.equal(presence.getChild('x', 'vcard-temp:x:update')?.getChildText('photo'), createHash('sha1').update(PHOTO).digest('hex'));
    });

    it('refuses vCard changes from LDAP users with not-allowed', async () => {
      const alice = await login('alice', 'alice-pw');
      const set = xml('iq', { type: 'set' }, xml('vCard', { xmlns: VCARD }, xml('FN', {}, 'Someone Else')));
      await assert.rejects(alice.iq(set), (err: { condition?: string }) => err.condition === 'not-allowed');
      assert.equal((await vcardOf(alice, 'alice@localhost')).getChildText('FN'), 'Alice Liddell');
    });

    it('answers for a user who does not exist with service-unavailable', async () => {
      const alice = await login('alice', 'alice-pw');
      await assert.rejects(vcardOf(alice, 'nobody@localhost'), (err: { condition?: string }) => err.condition === 'service-unavailable');
    });
  });

  describe('user search (XEP-0055)', () => {
    it('offers a data form with the configured fields, at the domain', async () => {
      const alice = await login('alice', 'alice-pw');
      const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
      const query = info.getChild('query')!;
      assert.ok(query.getChildren('feature').some((f) => f.attrs.var === SEARCH));
      assert.ok(query.getChildren('identity').some((i) => i.attrs.category === 'directory' && i.attrs.type === 'user'));

      const result = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: SEARCH })));
      const form = result.getChild('query', SEARCH)!.getChild('x', DATA)!;
      assert.equal(form.attrs.type, 'form');
      assert.deepEqual(form.getChildren('field').map((f) => f.attrs.var), ['FORM_TYPE', 'user', 'fn', 'first', 'last', 'email', 'orgunit']);
    });

    it('finds enabled users of the domain by any field, with the reported columns', async () => {
      const alice = await login('alice', 'alice-pw');
      const x = await search(alice, { orgunit: 'sales' });
      assert.deepEqual(x.getChild('reported')!.getChildren('field').map((f) => f.attrs.var), ['jid', 'fn', 'email', 'orgunit']);
      const rows = x.getChildren('item').map((item) => Object.fromEntries(
        item.getChildren('field').map((f) => [f.attrs.var, f.getChildText('value')])));
      assert.deepEqual(rows.sort((a, b) => String(a.jid).localeCompare(String(b.jid))), [
        { jid: 'alice@localhost', fn: 'Alice Liddell', email: 'alice@example.org', orgunit: 'Sales' },
        { jid: 'bob@localhost', fn: 'Bob Builder', email: 'bob@example.org', orgunit: 'Sales' },
      ], 'eve (Sales, disabled) is left out');
      assert.deepEqual(await searchJids(alice, { first: 'car', email: 'example.org' }), ['carol@localhost']);
    });

    it('returns at most the configured limit', async () => {
      const alice = await login('alice', 'alice-pw');
      assert.equal((await searchJids(alice, { email: '@example.org' })).length, 3);
    });

    it('understands the basic fields without data forms', async () => {
      const alice = await login('alice', 'alice-pw');
      const result = await alice.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: SEARCH }, xml('email', {}, 'dave@'))));
      const items = result.getChild('query', SEARCH)!.getChildren('item');
      assert.deepEqual(items.map((i) => [i.attrs.jid, i.getChildText('email')]), [['dave@localhost', 'dave@example.org']]);
    });

    it('is for the domain\'s own users, and only where enabled', async () => {
      const nina = await login('nina', 'nina-pw', { domain: 'example.net' });
      const query = xml('query', { xmlns: SEARCH });
      await assert.rejects(nina.iq(xml('iq', { type: 'get', to: 'localhost' }, query)), (err: { condition?: string }) => err.condition === 'forbidden');
      await assert.rejects(nina.iq(xml('iq', { type: 'get', to: 'example.net' }, query)),
        (err: { condition?: string }) => err.condition === 'service-unavailable');
    });
  });

  describe('several domains', () => {
    it('maps each domain to its own base DN', async () => {
      const netAlice = await login('alice', 'alice-net-pw', { domain: 'example.net' });
      assert.match(netAlice.jid, /^alice@example\.net\//);
      await assert.rejects(login('alice', 'alice-pw', { domain: 'example.net' }), /not-authorized/);
      await assert.rejects(login('alice', 'alice-net-pw'), /not-authorized/);
      await assert.rejects(login('bob', 'bob-pw', { domain: 'example.net' }), /not-authorized/);
      assert.equal((await vcardOf(netAlice, 'alice@example.net')).getChildText('FN'), 'Alice Netherby');
      assert.equal((await vcardOf(netAlice, 'alice@localhost')).getChildText('FN'), 'Alice Liddell');
    });
  });

  describe('auth mode "hash"', () => {
    it('checks PLAIN passwords against {SSHA} and {SSHA256} values', async () => {
      await login('alice', 'alice-pw', { domain: 'hash.test' });
      await login('sam', 'sam-pw', { domain: 'hash.test' });
      await assert.rejects(login('alice', 'bob-pw', { domain: 'hash.test' }), /not-authorized/);
    });

    it('offers SCRAM from the RFC 5803 secrets in authPassword', async () => {
      const sam = await login('sam', 'sam-pw', { domain: 'hash.test', mechanism: 'SCRAM-SHA-1' });
      assert.match(sam.jid, /^sam@hash\.test\//);
      await assert.rejects(login('sam', 'wrong', { domain: 'hash.test', mechanism: 'SCRAM-SHA-1' }), /not-authorized/);
    });
  });

  async function search(client: TestClient, fields: Record<string, string>): Promise<Element> {
    const form = xml('x', { xmlns: DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, SEARCH)),
      ...Object.entries(fields).map(([name, value]) => xml('field', { var: name }, xml('value', {}, value))));
    const result = await client.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: SEARCH }, form)));
    return result.getChild('query', SEARCH)!.getChild('x', DATA)!;
  }

  async function searchJids(client: TestClient, fields: Record<string, string>): Promise<string[]> {
    const x = await search(client, fields);
    return x.getChildren('item').map((item) => item.getChildren('field').find((f) => f.attrs.var === 'jid')!.getChildText('value')!).sort();
  }
});
