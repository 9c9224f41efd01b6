// In-band registration (XEP-0077): account creation on a raw stream before authentication,
// password changes and account removal afterwards, and the policies around them.
import assert from 'node:assert/strict';
import { parse } from 'ltx';
import type { Element } from '../src/xmpp/xml.js';
import { connect, xml } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

const NS = 'jabber:iq:register';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const PLAIN_ALLOWED = 'auth:\n  scram_iterations: 4096\n  allow_plain_without_tls: true\n';
const host = (extra: string) => `hosts:\n  - domain: localhost\n    require_encryption: optional\n${extra}`;

/** A raw stream, unauthenticated, with its features read. */
async function stream(hub: TestHub): Promise<RawClient> {
  const raw = await RawClient.connect(hub.port);
  raw.send(STREAM_HEADER());
  await raw.waitFor(/<\/stream:features>/);
  return raw;
}

/** Sends an iq on a raw stream and returns the answer. */
async function rawIq(raw: RawClient, id: string, type: 'get' | 'set', payload: string): Promise<Element> {
  raw.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
  const [answer] = await raw.waitFor(new RegExp(`<iq [^>]*id="${id}"[^>]*?(?:/>|>[\\s\\S]*?</iq>)`));
  return parse(answer) as Element;
}

function register(raw: RawClient, id: string, username: string, password: string): Promise<Element> {
  return rawIq(raw, id, 'set', `<query xmlns='${NS}'><username>${username}</username><password>${password}</password></query>`);
}

function condition(iq: Element): string | undefined {
  return iq.getChild('error')?.getChildElements().find((c) => c.attrs.xmlns === STANZAS && c.name !== 'text')?.name;
}

describe('in-band registration (XEP-0077)', () => {
  const raws: RawClient[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.destroy();
  });
  const track = (raw: RawClient): RawClient => {
    raws.push(raw);
    return raw;
  };

  describe('on a host that allows it', () => {
    let hub: TestHub;
    before(async () => {
      hub = await startHub({ yaml: PLAIN_ALLOWED + host('    registration: true\n') });
      await hub.addUser('alice', 'wonderland');
    });
    after(() => hub.stop());

    it('announces registration, gives the fields and creates an account that can log in', async () => {
      const raw = track(await stream(hub));
      assert.match(raw.text, /<register xmlns="http:\/\/jabber.org\/features\/iq-register"\/>/);
      const form = await rawIq(raw, 'r1', 'get', `<query xmlns='${NS}'/>`);
      assert.equal(form.attrs.type, 'result');
      const query = form.getChild('query', NS)!;
      assert.ok(query.getChild('username') && query.getChild('password'));

      const created = await register(raw, 'r2', 'Newbie', 'first password');
      assert.equal(created.attrs.type, 'result');
      const client = await connect(hub, { username: 'newbie', password: 'first password', resource: 'r' });
      assert.equal(client.jid, 'newbie@localhost/r');
      await client.stop();
    });

    it('refuses taken and invalid usernames and empty passwords, without echoing the password', async () => {
      const raw = track(await stream(hub));
      const taken = await register(raw, 'c1', 'alice', 'not-her-password');
      assert.equal(condition(taken), 'conflict');
      assert.doesNotMatch(taken.toString(), /not-her-password/);
      assert.equal(condition(await register(raw, 'c2', 'a/b', 'pw')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c3', 'a b', 'pw')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c4', 'someone', '')), 'not-acceptable');
      assert.equal(condition(await register(raw, 'c5', 'someone', 'private\uE000use')), 'not-acceptable', 'SASLprep refuses it');
      assert.equal(condition(await rawIq(raw, 'c6', 'set', `<query xmlns='${NS}'><remove/></query>`)), 'unexpected-request');
      assert.equal(await hub.hub.directory.userExists('localhost', 'someone'), false);
    });

    it('changes the password of the user, only for that user', async () => {
      await hub.addUser('carol', 'old password');
      const carol = await connect(hub, { username: 'carol', password: 'old password', resource: 'r' });
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

      await assert.rejects(connect(hub, { username: 'carol', password: 'old password' }), /not-authorized/);
      await (await connect(hub, { username: 'carol', password: 'new password' })).stop();
      await assert.rejects(connect(hub, { username: 'alice', password: 'hijacked' }), /not-authorized/);
    });

    it('removes the account of the user: the result, then every stream closes with not-authorized', async () => {
      await hub.addUser('leaving', 'goodbye');
      const first = track(await RawClient.login(hub.port, 'leaving', 'goodbye', 'one'));
      const second = track(await RawClient.login(hub.port, 'leaving', 'goodbye', 'two'));
      first.send(`<iq type='set' id='bye'><query xmlns='${NS}'><remove/></query></iq>`);
      const [result] = await first.waitFor(/<iq type="result" id="bye"[^>]*\/>/);
      for (const raw of [first, second]) {
        await raw.waitFor(/<stream:error><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
        await raw.waitClosed();
      }
      assert.ok(first.text.indexOf(result) < first.text.indexOf('<stream:error>'), 'the result comes first');
      assert.equal(await hub.hub.directory.userExists('localhost', 'leaving'), false);
      await assert.rejects(connect(hub, { username: 'leaving', password: 'goodbye' }), /not-authorized/);
    });
  });

  it('limits the accounts created from one address', async () => {
    const hub = await startHub({ yaml: PLAIN_ALLOWED + host('    registration: true\n') });
    try {
      const raw = track(await stream(hub));
      for (let i = 1; i <= 5; i++) assert.equal((await register(raw, `t${i}`, `user${i}`, 'pw')).attrs.type, 'result');
      const refused = await register(raw, 't6', 'user6', 'pw');
      assert.equal(condition(refused), 'policy-violation');
      assert.equal(refused.getChild('error')?.attrs.type, 'wait');
      assert.equal(await hub.hub.directory.userExists('localhost', 'user6'), false);
    } finally {
      await hub.stop();
    }
  });

  it('is not offered on an unencrypted stream unless plain-text passwords are allowed', async () => {
    const hub = await startHub({ yaml: host('    registration: true\n') });
    try {
      const raw = track(await stream(hub));
      assert.doesNotMatch(raw.text, /iq-register/);
      assert.equal(condition(await register(raw, 'e1', 'eve', 'pw')), 'policy-violation');
      assert.equal(await hub.hub.directory.userExists('localhost', 'eve'), false);
    } finally {
      await hub.stop();
    }
  });

  describe('by default', () => {
    let hub: TestHub;
    before(async () => {
      hub = await startHub({ yaml: host('    password_change: false\n') });
      await hub.addUser('alice', 'wonderland');
    });
    after(() => hub.stop());

    it('offers no registration and answers service-unavailable', async () => {
      const raw = track(await stream(hub));
      assert.doesNotMatch(raw.text, /iq-register/);
      assert.equal(condition(await rawIq(raw, 'd1', 'get', `<query xmlns='${NS}'/>`)), 'service-unavailable');
      assert.equal(condition(await register(raw, 'd2', 'mallory', 'pw')), 'service-unavailable');
      assert.equal(await hub.hub.directory.userExists('localhost', 'mallory'), false);
    });

    it('leaves accounts to the operator: no removal, and no password change when password_change is off', async () => {
      const alice = await connect(hub, { username: 'alice', password: 'wonderland' });
      try {
        await assert.rejects(alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS }, xml('remove')))), /not-allowed/);
        await assert.rejects(alice.iq(xml('iq', { type: 'set', to: 'localhost' },
          xml('query', { xmlns: NS }, xml('username', {}, 'alice'), xml('password', {}, 'other')))), /not-allowed/);
        assert.equal(await hub.hub.directory.userExists('localhost', 'alice'), true);
      } finally {
        await alice.stop();
      }
    });
  });
});
