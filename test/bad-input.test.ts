// Hostile and broken input: each case gets its RFC 6120 stream error and a closed stream,
// with a log line, while another user's session carries on and stored data survives.
import assert from 'node:assert/strict';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

describe('bad input', () => {
  const suite = useHub({
    yaml: `
c2s:
  interfaces: ["127.0.0.1"]
  port: 0
  direct_tls_port: 0
  max_stanza_size: 8192
  max_depth: 16
  rate: { stanzas_per_second: 20, burst: 40 }
auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
`,
    users: { alice: 'a-secret', bob: 'b-secret', mallory: 'm-secret', carol: 'c-secret' },
  });
  let alice: TestClient;
  let bob: TestClient;

  before(async () => {
    alice = await suite.login('alice', { resource: 'desk' });
    bob = await suite.login('bob', { resource: 'desk' });
    // A message waiting in carol's offline store must survive everything below.
    await alice.send(xml('message', { to: 'carol@localhost', type: 'chat', id: 'kept' }, xml('body', {}, 'still here')));
  });

  /** Everyone else still chats: alice → bob round trip. */
  async function othersUnaffected(tag: string): Promise<void> {
    await alice.send(xml('message', { to: 'bob@localhost/desk', type: 'chat', id: tag }, xml('body', {}, tag)));
    const got = await bob.waitFor((el) => el.attrs.id === tag);
    assert.equal(got.getChildText('body'), tag);
  }

  async function expectStreamError(client: RawClient, condition: string): Promise<void> {
    await client.waitFor(new RegExp(`<stream:error><${condition} xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']`));
    await client.waitFor(/<\/stream:stream>/);
    await client.waitClosed();
    assert.ok(suite.hub.logs.some((l) => l.condition === condition), `a log line names ${condition}`);
  }

  const preAuthCases: Array<[string, string, string]> = [
    ['a DTD with an entity (billion laughs)', `<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol "lol">]>` + STREAM_HEADER().slice(21), 'restricted-xml'],
    ['a wrong stream namespace', `<stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='urn:example:evil' version='1.0'>`, 'invalid-namespace'],
    ['a server-to-server namespace on the client port', `<stream:stream to='localhost' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`, 'invalid-namespace'],
    ['an unknown host', STREAM_HEADER('nowhere.example'), 'host-unknown'],
    ['a pre-1.0 stream', `<stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`, 'unsupported-version'],
    ['a stanza before authentication', STREAM_HEADER() + `<message to='bob@localhost'><body>spam</body></message>`, 'not-authorized'],
  ];
  for (const [what, data, condition] of preAuthCases) {
    it(`closes a stream that sends ${what} with <${condition}/>`, async () => {
      const raw = await RawClient.connect(suite.hub.port);
      raw.send(data);
      await expectStreamError(raw, condition);
      await othersUnaffected(`after-${condition}-${what.length}`);
    });
  }

  const boundCases: Array<[string, (raw: RawClient) => void, string]> = [
    ['malformed XML', (raw) => raw.send(`<message to='bob@localhost'><body>x</message>`), 'not-well-formed'],
    ['a processing instruction', (raw) => raw.send(`<?evil stuff?>`), 'restricted-xml'],
    ['a comment', (raw) => raw.send(`<!-- hello -->`), 'restricted-xml'],
    ['an undefined entity reference', (raw) => raw.send(`<message to='bob@localhost'><body>&evil;</body></message>`), 'restricted-xml'],
    ['a stanza over the size limit', (raw) => raw.send(`<message to='bob@localhost'><body>${'A'.repeat(10_000)}</body></message>`), 'policy-violation'],
    ['elements nested too deep', (raw) => raw.send(`<message to='bob@localhost'>${'<a>'.repeat(40)}`), 'policy-violation'],
    ['an unknown top-level element', (raw) => raw.send(`<evil xmlns='urn:example:evil'/>`), 'unsupported-stanza-type'],
    ['a forged "from"', (raw) => raw.send(`<message from='alice@localhost/desk' to='bob@localhost'><body>x</body></message>`), 'invalid-from'],
    ['a flood of stanzas', (raw) => raw.send(`<presence to='alice@localhost/none' type='probe'/>`.repeat(200)), 'policy-violation'],
  ];
  for (const [what, attack, condition] of boundCases) {
    it(`closes an authenticated stream that sends ${what} with <${condition}/>`, async () => {
      const raw = await RawClient.login(suite.hub.port, 'mallory', 'm-secret');
      attack(raw);
      await expectStreamError(raw, condition);
      await othersUnaffected(`bound-${condition}-${what.length}`);
    });
  }

  it('keeps serving a user whose connection vanished mid-stanza', async () => {
    const raw = await RawClient.login(suite.hub.port, 'mallory', 'm-secret', 'vanishing');
    raw.send(`<message to='bob@localhost'><body>half a sta`);
    raw.destroy();
    await othersUnaffected('after-vanish');
    const again = await RawClient.login(suite.hub.port, 'mallory', 'm-secret', 'vanishing');
    again.destroy();
  });

  it('loses no stored message: the offline message is delivered after all of the above', async () => {
    const carol = await suite.login('carol');
    const kept = await carol.waitFor((el) => el.attrs.id === 'kept');
    assert.equal(kept.getChildText('body'), 'still here');
  });
});
