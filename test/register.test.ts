// In-band registration (XEP-0077): account creation on a raw stream before authentication,
// password changes and account removal afterwards, and the policies around them.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { xml } from './support/client.js';
import { useHub, useRawClients, withHub } from './support/fixture.js';
import { PLAIN_ALLOWED, localhostYaml } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { stanzaErrorCondition as condition } from './support/stanzas.js';

const NS = 'jabber:iq:register';

function register(raw: RawClient, id: string, username: string, password: string): Promise<Element> {
  return raw.iq(id, 'set', `<query xmlns='${NS}'><username>${username}</username><password>${password}</password></query>`);
}

describe('in-band registration (XEP-0077)', () => {
  const track = useRawClients();

  describe('on a host that allows it', () => {
    const suite = useHub({ yaml: PLAIN_ALLOWED + localhostYaml('registration: true'), users: { alice: 'wonderland' } });

    it('announces registration, gives the fields and creates an account that can log in', async () => {
      const raw = track(await RawClient.open(suite.hub.port));
      assert.match(raw.text, /<register xmlns="http:\/\/jabber.org\/features\/iq-register"\/>/);
      const form = await raw.iq('r1', 'get', `<query xmlns='${NS}'/>`);
      assert.equal(form.attrs.type, 'result');
      const query = form.getChild('query', NS)!;
      assert.ok(query.getChild('username') && query.getChild('password'));

      const created = await register(raw, 'r2', 'Newbie', 'first password');
      assert.equal(created.attrs.type, 'result');
      const client = await suite.login('newbie', { password: 'first password', resource: 'r' });
      assert.equal(client.jid, 'newbie@localhost/r');
    });

    it('refuses taken and invalid usernames and empty passwords, without echoing the password', async () => {
      const raw = track(await RawClient.open(suite.hub.port));
      const taken = await register(raw, 'c1', 'alice', 'not-her-password');
      assert.equal(condition(taken), 'conflict');
      assert.doesNotMatch(taken.toString(), /not-her-password/);
      assert.equal(condition(await register(raw, 'c2', 'a/b', 'pw')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c3', 'a b', 'pw')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c4', 'someone', '')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c5', 'someone', 'private\uE000use')), 'not-acceptable', 'SASLprep refuses it');
      assert.equal(condition(await raw.iq('c6', 'set', `<query xmlns='${NS}'><remove/></query>`)), 'unexpected-request');
      assert.equal(await suite.hub.hub.directory.userExists('localhost', 'someone'), false);
    });

    it('changes the password of the user, only for that user', async () => {
      await suite.hub.addUser('carol', 'old password');
      const carol = await suite.login('carol', { password: 'old password', resource: 'r' });
      const change = (id: string, username: string, password: string) => carol.iq(xml('iq', { type: 'set', to: 'localhost', id },
        xml('query', { xmlns: NS }, xml('username', {}, username), xml('password', {}, password))));

      await assert.rejects(change('p1', 'alice', 'hijacked'), /forbidden/);
      await assert.rejects(change('p2', 'carol', ''), /not-acceptable/);
      for (const id of ['p1', 'p2']) assert.doesNotMatch(carol.received.find((el) => el.attrs.id === id)!.toString(), /hijacked|<password/);
      const changed = await change('p3', 'carol', 'new password');
      assert.equal(changed.attrs.type, 'result');
      const registered = await carol.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS })));
      assert.ok(registered.getChild('query', NS)?.getChild('registered'));
      assert.equal(registered.getChild('query', NS)?.getChildText('username'), 'carol');
      await carol.stop();

      await assert.rejects(suite.login('carol', { password: 'old password' }), /not-authorized/);
      await suite.login('carol', { password: 'new password' });
      await assert.rejects(suite.login('alice', { password: 'hijacked' }), /not-authorized/);
    });

    it('removes the account of the user: the result, then every stream closes with not-authorized', async () => {
      await suite.hub.addUser('leaving', 'goodbye');
      const first = track(await RawClient.login(suite.hub.port, 'leaving', 'goodbye', 'one'));
      const second = track(await RawClient.login(suite.hub.port, 'leaving', 'goodbye', 'two'));
      first.send(`<iq type='set' id='bye'><query xmlns='${NS}'><remove/></query></iq>`);
      const [result] = await first.waitFor(/<iq type="result" id="bye"[^>]*\/>/);
      for (const raw of [first, second]) {
        await raw.waitFor(/<stream:error><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
        await raw.waitClosed();
      }
      assert.ok(first.text.indexOf(result) < first.text.indexOf('<stream:error>'), 'the result comes first');
      assert.equal(await suite.hub.hub.directory.userExists('localhost', 'leaving'), false);
      await assert.rejects(suite.login('leaving', { password: 'goodbye' }), /not-authorized/);
    });
  });

  it('limits the accounts created from one address', async () => {
    await withHub({ yaml: PLAIN_ALLOWED + localhostYaml('registration: true') }, async (hub) => {
      const raw = track(await RawClient.open(hub.port));
      for (let i = 1; i <= 5; i++) assert.equal((await register(raw, `t${i}`, `user${i}`, 'pw')).attrs.type, 'result');
      const refused = await register(raw, 't6', 'user6', 'pw');
      assert.equal(condition(refused), 'policy-violation');
      assert.equal(refused.getChild('error')?.attrs.type, 'wait');
      assert.equal(await hub.hub.directory.userExists('localhost', 'user6'), false);
    });
  });

  it('is not offered on an unencrypted stream unless plain-text passwords are allowed', async () => {
    await withHub({ yaml: localhostYaml('registration: true') }, async (hub) => {
      const raw = track(await RawClient.open(hub.port));
      assert.doesNotMatch(raw.text, /iq-register/);
      assert.equal(condition(await register(raw, 'e1', 'eve', 'pw')), 'policy-violation');
      assert.equal(await hub.hub.directory.userExists('localhost', 'eve'), false);
    });
  });

  describe('by default', () => {
    const suite = useHub({ yaml: localhostYaml('password_change: false'), users: { alice: 'wonderland' } });

    it('offers no registration and answers service-unavailable', async () => {
      const raw = track(await RawClient.open(suite.hub.port));
      assert.doesNotMatch(raw.text, /iq-register/);
      assert.equal(condition(await raw.iq('d1', 'get', `<query xmlns='${NS}'/>`)), 'service-unavailable');
      assert.equal(condition(await register(raw, 'd2', 'mallory', 'pw')), 'service-unavailable');
      assert.equal(await suite.hub.hub.directory.userExists('localhost', 'mallory'), false);
    });

    it('leaves accounts to the operator: no removal, and no password change when password_change is off', async () => {
      const alice = await suite.login('alice');
      await assert.rejects(alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS }, xml('remove')))), /not-allowed/);
      await assert.rejects(alice.iq(xml('iq', { type: 'set', to: 'localhost' },
        xml('query', { xmlns: NS }, xml('username', {}, 'alice'), xml('password', {}, 'other')))), /not-allowed/);
      assert.equal(await suite.hub.hub.directory.userExists('localhost', 'alice'), true);
    });
  });
});
