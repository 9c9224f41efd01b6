// Non-SASL authentication (XEP-0078) on a raw stream: off by default, plain text only,
// throttled like SASL, and a working session once it succeeds.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { connect, xml } from './support/client.js';
import { useHub, useRawClients, withHub } from './support/fixture.js';
import { PLAIN_ALLOWED, localhostYaml } from './support/hub.js';
import { RawClient } from './support/raw.js';
import { stanzaErrorCondition as condition } from './support/stanzas.js';

const NS = 'jabber:iq:auth';

function login(raw: RawClient, id: string, fields: Record<string, string>): Promise<Element> {
  const children = Object.entries(fields).map(([name, value]) => `<${name}>${value}</${name}>`).join('');
  return raw.iq(id, 'set', `<query xmlns='${NS}'>${children}</query>`);
}

describe('legacy authentication (XEP-0078)', () => {
  const track = useRawClients();

  describe('where enabled', () => {
    const suite = useHub({ yaml: PLAIN_ALLOWED + localhostYaml('legacy_auth: true'), users: { alice: 'wonderland', bob: 'builder' } });

    it('announces itself, asks for plain-text fields only and logs in to a working session', async () => {
      const raw = track(await RawClient.open(suite.hub.port));
      assert.match(raw.text, /<auth xmlns="http:\/\/jabber.org\/features\/iq-auth"\/>/);
      const form = (await raw.iq('a1', 'get', `<query xmlns='${NS}'/>`)).getChild('query', NS)!;
      assert.deepEqual(form.getChildElements().map((c) => c.name), ['username', 'password', 'resource']);

      const done = await login(raw, 'a2', { username: 'Alice', password: 'wonderland', resource: 'old-client' });
      assert.equal(done.attrs.type, 'result');
      const bob = await suite.login('bob', { resource: 'home' });
      raw.send(`<message to='bob@localhost/home' type='chat' id='m1'><body>from an old client</body></message>`);
      const message = await bob.waitFor((el) => el.attrs.id === 'm1');
      assert.equal(message.attrs.from, 'alice@localhost/old-client');
      await bob.send(xml('message', { to: 'alice@localhost/old-client', type: 'chat', id: 'm2' }, xml('body', {}, 'hello there')));
      await raw.waitFor(/<message [^>]*id="m2"[\s\S]*hello there/);
    });

    it('refuses wrong passwords, digests and missing fields, without echoing the password', async () => {
      const raw = track(await RawClient.open(suite.hub.port));
      const wrong = await login(raw, 'w1', { username: 'alice', password: 'looking-glass', resource: 'r' });
      assert.equal(condition(wrong), 'not-authorized');
      assert.doesNotMatch(wrong.toString(), /looking-glass/);
      const digest = await login(raw, 'w2', { username: 'alice', digest: '48fc78be9ec8f86d8ce1c39c320c97c21d62334d', resource: 'r' });
      assert.equal(condition(digest), 'not-acceptable');
      assert.equal(condition(await login(raw, 'w3', { username: 'alice', password: 'wonderland' })), 'not-acceptable');
      assert.equal(condition(await login(raw, 'w4', { username: 'nobody', password: 'wonderland', resource: 'r' })), 'not-authorized');
      assert.equal(condition(await login(raw, 'w5', { username: 'alice', password: 'wonderland', resource: 'r' })), undefined,
        'the stream can still log in');
    });
  });

  it('is throttled together with SASL logins', async () => {
    const yaml = 'auth:\n  scram_iterations: 4096\n  allow_plain_without_tls: true\n  throttle: { max_failures: 2, window_seconds: 60, lock_seconds: 60 }\n'
      + localhostYaml('legacy_auth: true');
    await withHub({ yaml }, async (hub) => {
      await hub.addUser('alice', 'wonderland');
      await assert.rejects(connect(hub, { username: 'alice', password: 'guess one', mechanism: 'PLAIN' }), /not-authorized/);
      const raw = track(await RawClient.open(hub.port));
      assert.equal(condition(await login(raw, 't1', { username: 'alice', password: 'guess two', resource: 'r' })), 'not-authorized');
      const locked = await login(raw, 't2', { username: 'alice', password: 'wonderland', resource: 'r' });
      assert.equal(condition(locked), 'policy-violation');
      assert.equal(locked.getChild('error')?.attrs.type, 'wait');
      await assert.rejects(connect(hub, { username: 'alice', password: 'wonderland', mechanism: 'PLAIN' }), /temporary-auth-failure/);
    });
  });

  it('needs TLS unless plain-text passwords are allowed', async () => {
    await withHub({ yaml: localhostYaml('legacy_auth: true') }, async (hub) => {
      await hub.addUser('alice', 'wonderland');
      const raw = track(await RawClient.open(hub.port));
      assert.doesNotMatch(raw.text, /iq-auth/);
      assert.equal(condition(await login(raw, 'e1', { username: 'alice', password: 'wonderland', resource: 'r' })), 'policy-violation');
    });
  });

  it('is off by default', async () => {
    await withHub({ yaml: PLAIN_ALLOWED + localhostYaml() }, async (hub) => {
      await hub.addUser('alice', 'wonderland');
      const raw = track(await RawClient.open(hub.port));
      assert.doesNotMatch(raw.text, /iq-auth/);
      assert.equal(condition(await raw.iq('o1', 'get', `<query xmlns='${NS}'/>`)), 'service-unavailable');
      assert.equal(condition(await login(raw, 'o2', { username: 'alice', password: 'wonderland', resource: 'r' })), 'service-unavailable');
    });
  });
});
