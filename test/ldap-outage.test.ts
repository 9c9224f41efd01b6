// The LDAP directory going away and coming back while the hub runs: slapd stopped (down) and
// frozen (slow). Logins fail with temporary-auth-failure, open sessions go on chatting, known
// users still get their messages, nobody is disconnected by the refresh, and logins work again
// once slapd is back, without restarting the hub.
import assert from 'node:assert/strict';
import { connect, xml, type TestClient } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';
import { ldapSectionYaml, PEOPLE_DN, Slapd } from './support/slapd.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';
import { stanzaErrorCondition, sync } from './support/stanzas.js';

const REFRESH_SECONDS = 0.3;
const API_KEY = 'an-api-key-of-at-least-32-characters';
const CACHE_SECONDS = 0.5;

describe('LDAP outage', function () {
  this.timeout(30_000);
  let slapd: Slapd;
  let hub: TestHub;
  const clients: TestClient[] = [];

  before(async () => {
    slapd = await Slapd.create();
    hub = await startHub({
      yaml: `auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
  throttle: { max_failures: 1000 }
${ldapSectionYaml(slapd, `cache_ttl: ${CACHE_SECONDS}`, `refresh_interval: ${REFRESH_SECONDS}`, 'timeout: 0.5')}hosts:
  - domain: localhost
    require_encryption: optional
    directory: ldap
    sso_api_key: ${API_KEY}
    ldap:
      base: "${PEOPLE_DN}"
`,
    });
  });
  afterEach(async () => {
    slapd.resume();
    await slapd.start();
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await hub?.stop();
    await slapd?.destroy();
  });

  async function login(username: string, resource?: string): Promise<TestClient> {
    const client = await connect(hub, { username, password: `${username}-pw`, mechanism: 'PLAIN', resource });
    clients.push(client);
    return client;
  }

  /** Logs in once the directory answers again, trying for at most `ms`. */
  async function loginWhenBack(username: string, ms = 10_000): Promise<TestClient> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await login(username);
      } catch (err) {
        if (Date.now() > deadline || !/temporary-auth-failure/.test(String(err))) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function offlineCount(username: string): Promise<number> {
    return hub.hub.store.offline.count('localhost', username);
  }

  it('keeps open sessions chatting while slapd is stopped, refuses logins for the time being, and recovers', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await alice.send(xml('message', { to: 'carol@localhost', id: 'c1', type: 'chat' }, xml('body', {}, 'before')));
    for (let i = 0; i < 100 && await offlineCount('carol') < 1; i++) await pause(20);

    await slapd.stop();
    await assert.rejects(login('carol'), /temporary-auth-failure/);
    assert.ok(hub.logs.some((l) => l.msg === 'authentication impossible: directory unavailable'));

    await alice.send(xml('message', { to: bob.jid, id: 'm1', type: 'chat' }, xml('body', {}, 'still here?')));
    assert.equal((await bob.waitFor((el) => el.attrs.id === 'm1')).getChildText('body'), 'still here?');

    await pause(CACHE_SECONDS * 1000 + 100);
    await alice.send(xml('message', { to: 'carol@localhost', id: 'c2', type: 'chat' }, xml('body', {}, 'during')));
    for (let i = 0; i < 100 && await offlineCount('carol') < 2; i++) await pause(20);
    assert.equal(await offlineCount('carol'), 2, 'a user seen before still gets messages (stale cache entry)');

    await alice.send(xml('message', { to: 'dave@localhost', id: 'd1', type: 'chat' }, xml('body', {}, 'unknown yet')));
    const bounced = await alice.waitFor((el) => el.attrs.id === 'd1' && el.attrs.type === 'error');
    assert.equal(stanzaErrorCondition(bounced), 'internal-server-error');
    assert.equal(bounced.getChild('error')!.attrs.type, 'wait', 'try again later');

    await pause(REFRESH_SECONDS * 3000);
    await sync(alice);
    await sync(bob);

    await slapd.start();
    const carol = await loginWhenBack('carol');
    assert.equal((await carol.waitFor((el) => el.attrs.id === 'c2')).getChildText('body'), 'during');
    assert.ok(hub.logs.some((l) => l.msg === 'LDAP directory unreachable'));
    assert.ok(hub.logs.some((l) => l.msg === 'LDAP directory reachable again'));
  });

  it('answers token requests with 503 while the directory is down; LDAP users log in with tokens once it is back', async () => {
    const requestToken = () => fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ jid: 'sam@localhost' }),
    });
    await slapd.stop();
    const refused = await requestToken();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '10');

    await slapd.start();
    let issued = await requestToken();
    for (let i = 0; i < 50 && issued.status === 503; i++) {
      await pause(100);
      issued = await requestToken();
    }
    assert.equal(issued.status, 200);
    const { token } = (await issued.json()) as { token: string };
    const raw = await RawClient.connect(hub.port);
    try {
      raw.send(STREAM_HEADER());
      await raw.waitFor(/<\/stream:features>/);
      const response = Buffer.from(`n,a=sam@localhost,\x01auth=Bearer ${token}\x01\x01`).toString('base64');
      raw.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>${response}</auth>`);
      await raw.waitFor(/<success/);
    } finally {
      raw.destroy();
    }
  });

  it('treats a directory that does not answer in time like one that is down', async () => {
    const alice = await login('alice');
    slapd.pause();
    const started = Date.now();
    await assert.rejects(login('bob'), /temporary-auth-failure/);
    assert.ok(Date.now() - started < 5000, 'the operation timeout (0.5 s) bounds the wait');
    const vcard = alice.iq(xml('iq', { type: 'get', to: 'dave@localhost' }, xml('vCard', { xmlns: 'vcard-temp' })));
    await assert.rejects(vcard, (err: { condition?: string }) => err.condition === 'internal-server-error');
    await sync(alice);

    slapd.resume();
    await loginWhenBack('bob');
  });
});
