// Non-SASL authentication (XEP-0078) on a raw stream: off by default, plain text only,
// throttled like SASL, and a working session once it succeeds.
import assert from 'node:assert/strict';
import { parse } from 'ltx';
import type { Element } from '../src/xmpp/xml.js';
import { connect, xml } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

const NS = 'jabber:iq:auth';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const PLAIN_ALLOWED = 'auth:\n  scram_iterations: 4096\n  allow_plain_without_tls: true\n';
const host = (extra: string) => `hosts:\n  - domain: localhost\n    require_encryption: optional\n${extra}`;

async function stream(hub: TestHub): Promise<RawClient> {
  const raw = await RawClient.connect(hub.port);
  raw.send(STREAM_HEADER());
  await raw.waitFor(/<\/stream:features>/);
  return raw;
}

async function rawIq(raw: RawClient, id: string, type: 'get' | 'set', payload: string): Promise<Element> {
  raw.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
  const [answer] = await raw.waitFor(new RegExp(`<iq [^>]*id="${id}"[^>]*?(?:/>|>[\\s\\S]*?</iq>)`));
  return parse(answer) as Element;
}

function login(raw: RawClient, id: string, fields: Record<string, string>): Promise<Element> {
  const children = Object.entries(fields).map(([name, value]) => `<${name}>${value}</${name}>`).join('');
  return rawIq(raw, id, 'set', `<query xmlns='${NS}'>${children}</query>`);
}

function condition(iq: Element): string | undefined {
  return iq.getChild('error')?.getChildElements().find((c) => c.attrs.xmlns === STANZAS && c.name !== 'text')?.name;
}

describe('legacy authentication (XEP-0078)', () => {
  const raws: RawClient[] = [];
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.destroy();
  });
  const track = (raw: RawClient): RawClient => {
    raws.push(raw);
    return raw;
  };

  describe('where enabled', () => {
    let hub: TestHub;
    before(async () => {
      hub = await startHub({ yaml: PLAIN_ALLOWED + host('    legacy_auth: true\n') });
      await hub.addUser('alice', 'wonderland');
      await hub.addUser('bob', 'builder');
    });
    after(() => hub.stop());

    it('announces itself, asks for plain-text fields only and logs in to a working session', async () => {
      const raw = track(await stream(hub));
      assert.match(raw.text, /<auth xmlns="http:\/\/jabber.org\/features\/iq-auth"\/>/);
      const form = (await rawIq(raw, 'a1', 'get', `<query xmlns='${NS}'/>`)).getChild('query', NS)!;
      assert.deepEqual(form.getChildElements().map((c) => c.name), ['username', 'password', 'resource']);

      const done = await login(raw, 'a2', { username: 'Alice', password: 'wonderland', resource: 'old-client' });
      assert.equal(done.attrs.type, 'result');
      const bob = await connect(hub, { username: 'bob', password: 'builder', resource: 'home' });
      try {
        raw.send(`<message to='bob@localhost/home' type='chat' id='m1'><body>from an old client</body></message>`);
        const message = await bob.waitFor((el) => el.attrs.id === 'm1');
        assert.equal(message.attrs.from, 'alice@localhost/old-client');
        await bob.send(xml('message', { to: 'alice@localhost/old-client', type: 'chat', id: 'm2' }, xml('body', {}, 'hello there')));
        await raw.waitFor(/<message [^>]*id="m2"[\s\S]*hello there/);
      } finally {
        await bob.stop();
      }
    });

    it('refuses wrong passwords, digests and missing fields, without echoing the password', async () => {
      const raw = track(await stream(hub));
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
    const hub = await startHub({
      yaml: 'auth:\n  scram_iterations: 4096\n  allow_plain_without_tls: true\n  throttle: { max_failures: 2, window_seconds: 60, lock_seconds: 60 }\n'
        + host('    legacy_auth: true\n'),
    });
    try {
      await hub.addUser('alice', 'wonderland');
      await assert.rejects(connect(hub, { username: 'alice', password: 'guess one', mechanism: 'PLAIN' }), /not-authorized/);
      const raw = track(await stream(hub));
      assert.equal(condition(await login(raw, 't1', { username: 'alice', password: 'guess two', resource: 'r' })), 'not-authorized');
      const locked = await login(raw, 't2', { username: 'alice', password: 'wonderland', resource: 'r' });
      assert.equal(condition(locked), 'policy-violation');
      assert.equal(locked.getChild('error')?.attrs.type, 'wait');
      await assert.rejects(connect(hub, { username: 'alice', password: 'wonderland', mechanism: 'PLAIN' }), /temporary-auth-failure/);
    } finally {
      await hub.stop();
    }
  });

  it('needs TLS unless plain-text passwords are allowed', async () => {
    const hub = await startHub({ yaml: host('    legacy_auth: true\n') });
    try {
      await hub.addUser('alice', 'wonderland');
      const raw = track(await stream(hub));
      assert.doesNotMatch(raw.text, /iq-auth/);
      assert.equal(condition(await login(raw, 'e1', { username: 'alice', password: 'wonderland', resource: 'r' })), 'policy-violation');
    } finally {
      await hub.stop();
    }
  });

  it('is off by default', async () => {
    const hub = await startHub({ yaml: PLAIN_ALLOWED + host('') });
    try {
      await hub.addUser('alice', 'wonderland');
      const raw = track(await stream(hub));
      assert.doesNotMatch(raw.text, /iq-auth/);
      assert.equal(condition(await rawIq(raw, 'o1', 'get', `<query xmlns='${NS}'/>`)), 'service-unavailable');
      assert.equal(condition(await login(raw, 'o2', { username: 'alice', password: 'wonderland', resource: 'r' })), 'service-unavailable');
    } finally {
      await hub.stop();
    }
  });
});
