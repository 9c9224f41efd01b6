// Webmail single sign-on: a webmail backend asks POST /api/v1/token for a login token with the
// host's API key, and the web client logs in with it (SASL OAUTHBEARER, RFC 7628): Strophe.js
// over BOSH as a browser would, and raw streams for the protocol details.
import assert from 'node:assert/strict';
import { Strophe } from 'strophe.js';
import { LoginTokens } from '../src/directory/login-tokens.js';
import type { SaslContext } from '../src/xmpp/sasl/mechanism.js';
import { createOAuthBearer } from '../src/xmpp/sasl/oauthbearer.js';
import { PASSWORD, useHub, useRawClients, withHub } from './support/fixture.js';
import { PLAIN_ALLOWED, type TestHub } from './support/hub.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

const API_KEY = 'webmail-sso-test-key-0123456789abcdef';
const SSO_HOSTS = `
hosts:
  - domain: localhost
    require_encryption: optional
    sso_api_key: ${API_KEY}
  - domain: nosso.localhost
    require_encryption: optional
`;

interface TokenRequest {
  key?: string | null;
  body?: string;
  contentType?: string;
  method?: string;
}

function requestToken(hub: TestHub, jid: string, { key = API_KEY, body, contentType = 'application/json', method = 'POST' }: TokenRequest = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/token`, {
    method,
    headers: { 'Content-Type': contentType, ...(key === null ? {} : { Authorization: `Bearer ${key}` }) },
    ...(method === 'POST' ? { body: body ?? JSON.stringify({ jid }) } : {}),
  });
}

async function issueToken(hub: TestHub, jid: string): Promise<string> {
  const res = await requestToken(hub, jid);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

/** The OAUTHBEARER client response (RFC 7628 §3.1), base64. */
function bearer(authzid: string, token: string): string {
  return Buffer.from(`n,a=${authzid},\x01host=localhost\x01port=5222\x01auth=Bearer ${token}\x01\x01`).toString('base64');
}

const MECHANISMS = /<mechanisms[^>]*>([\s\S]*?)<\/mechanisms>/;

interface Attempt {
  outcome: string;
  /** The RFC 7628 error challenge, decoded, when the token was refused. */
  challenge?: unknown;
}

/** One OAUTHBEARER attempt on a fresh raw stream; answers an error challenge with ^A as RFC 7628 §3.2.3 says. */
async function tryToken(hub: TestHub, authzid: string, token: string, localAddress?: string): Promise<Attempt> {
  const client = await RawClient.connect(hub.port, localAddress);
  try {
    client.send(STREAM_HEADER());
    await client.waitFor(/<\/stream:features>/);
    client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>${bearer(authzid, token)}</auth>`);
    const [, condition, challenge] = await client.waitFor(/<success|<failure[^>]*><([a-z-]+)|<challenge[^>]*>([^<]*)</);
    if (challenge === undefined) return { outcome: condition ?? 'success' };
    client.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from('\x01').toString('base64')}</response>`);
    const [, final] = await client.waitFor(/<success|<failure[^>]*><([a-z-]+)/);
    return { outcome: final ?? 'success', challenge: JSON.parse(Buffer.from(challenge, 'base64').toString()) };
  } finally {
    client.destroy();
  }
}

type StropheOutcome = { status: 'connected'; jid: string } | { status: 'authfail' };

// Strophe logs every BOSH request to the console by default.
Strophe.setLogLevel(Strophe.LogLevel.FATAL);

/** Logs in with Strophe.js over BOSH, OAUTHBEARER only, the token as the password; disconnects again. */
function stropheLogin(url: string, jid: string, token: string): Promise<StropheOutcome> {
  const conn = new Strophe.Connection(url, { mechanisms: [Strophe.SASLOAuthBearer] });
  return new Promise<StropheOutcome>((resolve, reject) => {
    let outcome: StropheOutcome | undefined;
    const timer = setTimeout(() => reject(new Error(`Strophe did not finish: ${JSON.stringify(outcome)}`)), 10_000);
    conn.connect(jid, token, (status: number, condition: string | null) => {
      if (status === Strophe.Status.CONNECTED || status === Strophe.Status.AUTHFAIL) {
        outcome = status === Strophe.Status.CONNECTED ? { status: 'connected', jid: conn.jid } : { status: 'authfail' };
        conn.disconnect();
      } else if (status === Strophe.Status.DISCONNECTED && outcome) {
        clearTimeout(timer);
        resolve(outcome);
      } else if (status === Strophe.Status.CONNFAIL || status === Strophe.Status.ERROR) {
        clearTimeout(timer);
        reject(new Error(`Strophe connection failed: ${condition}`));
      }
    });
  });
}

describe('webmail single sign-on', () => {
  // Many refusals come from 127.0.0.1 here; throttling has its own block below.
  const suite = useHub({ yaml: `${SSO_HOSTS}${PLAIN_ALLOWED}  throttle: { max_failures: 1000 }\n`, users: ['alice', 'bob'] });
  const raw = useRawClients();
  const boshUrl = (): string => `https://127.0.0.1:${suite.hub.httpsPort}/http-bind/`;

  describe('the token API', () => {
    it('issues a single-use token for an existing user, not cacheable', async () => {
      const res = await requestToken(suite.hub, 'Alice@LocalHost');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      const body = (await res.json()) as { jid: string; token: string; expires_in: number };
      assert.equal(body.jid, 'alice@localhost');
      assert.equal(body.expires_in, 120);
      assert.match(body.token, /^[A-Za-z0-9_-]{43}$/);
      const issued = suite.hub.logs.find((l) => l.msg === 'login token issued' && l.jid === 'alice@localhost');
      assert.ok(issued, 'the issue is logged with the JID');
    });

    it('refuses requests without the key or with a wrong one (401, WWW-Authenticate: Bearer)', async () => {
      for (const key of [null, 'not-the-key', `${API_KEY}x`]) {
        const res = await requestToken(suite.hub, 'alice@localhost', { key });
        assert.equal(res.status, 401, `key ${key}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
        assert.equal(typeof ((await res.json()) as { error: unknown }).error, 'string');
      }
    });

    it('refuses a host that has no sso_api_key (403), an unknown host or user (404)', async () => {
      assert.equal((await requestToken(suite.hub, 'alice@nosso.localhost')).status, 403);
      assert.equal((await requestToken(suite.hub, 'alice@elsewhere.example')).status, 404);
      assert.equal((await requestToken(suite.hub, 'nobody@localhost')).status, 404);
    });

    it('refuses malformed requests (400, 405, 413, 415)', async () => {
      const jid = 'alice@localhost';
      assert.equal((await requestToken(suite.hub, jid, { body: '{"jid": "alice@local' })).status, 400);
      assert.equal((await requestToken(suite.hub, jid, { body: '["alice@localhost"]' })).status, 400);
      assert.equal((await requestToken(suite.hub, jid, { body: '{"jid": 42}' })).status, 400);
      assert.equal((await requestToken(suite.hub, 'alice@localhost/webmail')).status, 400);
      assert.equal((await requestToken(suite.hub, 'localhost')).status, 400);
      assert.equal((await requestToken(suite.hub, jid, { body: JSON.stringify({ jid, pad: 'x'.repeat(10_000) }) })).status, 413);
      assert.equal((await requestToken(suite.hub, jid, { contentType: 'text/plain' })).status, 415);
      const get = await requestToken(suite.hub, jid, { method: 'GET' });
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
    });
  });

  describe('OAUTHBEARER', () => {
    it('logs Strophe.js in over BOSH with a token, once', async () => {
      const token = await issueToken(suite.hub, 'alice@localhost');
      const first = await stropheLogin(boshUrl(), 'alice@localhost', token);
      assert.equal(first.status, 'connected');
      assert.match(first.status === 'connected' ? first.jid : '', /^alice@localhost\/./);
      assert.deepEqual(await stropheLogin(boshUrl(), 'alice@localhost', token), { status: 'authfail' });
    });

    it('logs a raw stream in and binds; a second use gets the invalid_token error, then not-authorized', async () => {
      const token = await issueToken(suite.hub, 'alice@localhost');
      const client = raw(await RawClient.open(suite.hub.port));
      assert.match(client.text.match(MECHANISMS)?.[1] ?? '', /<mechanism>OAUTHBEARER<\/mechanism>/);
      client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>${bearer('alice@localhost', token)}</auth>`);
      await client.waitFor(/<success/);
      client.send(STREAM_HEADER());
      await client.waitFor(/<bind/);
      const bound = await client.iq('b1', 'set', `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>mail</resource></bind>`);
      assert.equal(bound.getChild('bind')?.getChildText('jid'), 'alice@localhost/mail');

      assert.deepEqual(await tryToken(suite.hub, 'alice@localhost', token), { outcome: 'not-authorized', challenge: { status: 'invalid_token' } });
    });

    it('accepts a plain username as the authzid', async () => {
      const token = await issueToken(suite.hub, 'bob@localhost');
      assert.deepEqual(await tryToken(suite.hub, 'bob', token), { outcome: 'success' });
    });

    it('does not let a token for alice log in as bob, and that attempt uses the token up', async () => {
      const token = await issueToken(suite.hub, 'alice@localhost');
      assert.deepEqual(await tryToken(suite.hub, 'bob@localhost', token), { outcome: 'not-authorized', challenge: { status: 'invalid_token' } });
      assert.equal((await tryToken(suite.hub, 'alice@localhost', token)).outcome, 'not-authorized');
    });

    it('refuses tokens nobody issued, other hosts in the authzid, and responses without an authzid', async () => {
      assert.equal((await tryToken(suite.hub, 'alice@localhost', 'made-up-token')).outcome, 'not-authorized');
      const token = await issueToken(suite.hub, 'alice@localhost');
      assert.equal((await tryToken(suite.hub, 'alice@nosso.localhost', token)).outcome, 'invalid-authzid');
      const client = raw(await RawClient.open(suite.hub.port));
      const noAuthzid = Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`).toString('base64');
      client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>${noAuthzid}</auth>`);
      await client.waitFor(/<failure[^>]*><malformed-request/);
    });

    it('is not offered, nor accepted, on a host without sso_api_key', async () => {
      await suite.hub.addUser('carol', PASSWORD, 'nosso.localhost');
      const client = raw(await RawClient.connect(suite.hub.port));
      client.send(STREAM_HEADER('nosso.localhost'));
      const [, mechanisms] = await client.waitFor(MECHANISMS);
      assert.match(mechanisms!, /PLAIN/);
      assert.doesNotMatch(mechanisms!, /OAUTHBEARER/);
      client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>${bearer('carol@nosso.localhost', 'x')}</auth>`);
      await client.waitFor(/<failure[^>]*><invalid-mechanism/);
    });

    it('never writes tokens to the logs', async () => {
      const token = await issueToken(suite.hub, 'bob@localhost');
      await tryToken(suite.hub, 'bob@localhost', token);
      await tryToken(suite.hub, 'bob@localhost', token);
      assert.ok(!JSON.stringify(suite.hub.logs).includes(token));
    });
  });
});

describe('webmail single sign-on: expiry and encryption', () => {
  const yaml = SSO_HOSTS + 'http:\n  interfaces: ["127.0.0.1"]\n  port: 0\n  tls_port: 0\n  sso: { token_ttl: 5 }\n';

  it('offers OAUTHBEARER only where PLAIN is: not on an unencrypted stream', () =>
    withHub({ yaml }, async (hub) => {
      const client = await RawClient.open(hub.port);
      try {
        const mechanisms = client.text.match(MECHANISMS)?.[1] ?? '';
        assert.match(mechanisms, /SCRAM-SHA-256/);
        assert.doesNotMatch(mechanisms, /PLAIN|OAUTHBEARER/);
      } finally {
        client.destroy();
      }
    }));

  it('refuses a token after its TTL', () =>
    withHub({ yaml }, async (hub) => {
      await hub.addUser('alice', PASSWORD);
      const token = await issueToken(hub, 'alice@localhost');
      await new Promise((resolve) => setTimeout(resolve, 5200));
      const url = `https://127.0.0.1:${hub.httpsPort}/http-bind/`;
      assert.deepEqual(await stropheLogin(url, 'alice@localhost', token), { status: 'authfail' });
      // A fresh token works on the same (encrypted) endpoint: it was the age that counted.
      const fresh = await issueToken(hub, 'alice@localhost');
      assert.equal((await stropheLogin(url, 'alice@localhost', fresh)).status, 'connected');
    })).timeout(20_000);
});

describe('webmail single sign-on: throttling', () => {
  const suite = useHub({
    yaml: `${SSO_HOSTS}auth:
  scram_iterations: 4096
  allow_plain_without_tls: true
  throttle: { max_failures: 2, window_seconds: 60, lock_seconds: 60 }
`,
    users: { victim: 'correct horse' },
  });

  it('counts refused tokens as failed logins of the account', async () => {
    for (const address of ['127.0.0.2', '127.0.0.3']) {
      assert.equal((await tryToken(suite.hub, 'victim@localhost', 'guessed-token', address)).outcome, 'not-authorized');
    }
    assert.equal(await RawClient.tryPlain(suite.hub.port, 'victim', 'correct horse', '127.0.0.4'), 'temporary-auth-failure');
  });

  it('locks an address that tries wrong API keys, even for the right one (429)', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await requestToken(suite.hub, 'victim@localhost', { key: `wrong-${i}` })).status, 401);
    const locked = await requestToken(suite.hub, 'victim@localhost');
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
  });
});

describe('LoginTokens', () => {
  it('keeps a bounded number of outstanding tokens, dropping the oldest', () => {
    const tokens = new LoginTokens(60, 3);
    const issued = ['a', 'b', 'c', 'd'].map((user) => ({ user, token: tokens.issue(`${user}@example.org`).token }));
    assert.equal(tokens.consume('example.org', 'a', issued[0]!.token), false);
    for (const { user, token } of issued.slice(1)) assert.equal(tokens.consume('example.org', user, token), true);
  });
});

describe('OAUTHBEARER client responses (RFC 7628 §3.1)', () => {
  const HOST = 'example.org';
  const tokens = new LoginTokens(60);
  const ctx: SaslContext = {
    host: HOST,
    secure: true,
    channelBindings: [],
    channelBinding: () => null,
    getScram: async () => null,
    verifyPassword: async () => false,
    consumeToken: async (username, token) => tokens.consume(HOST, username, token),
  };
  const attempt = async (message: string): Promise<string> => {
    const step = await createOAuthBearer({ allowInsecure: false }).start(ctx).step(Buffer.from(message));
    return step.kind === 'failure' ? step.condition : step.kind;
  };

  it('accepts the optional host and port keys, unknown keys and any case of "Bearer"', async () => {
    const { token } = tokens.issue('alice@example.org');
    assert.equal(await attempt(`y,a=alice@example.org,\x01host=example.org\x01port=443\x01x=1\x01auth=bEaReR ${token}\x01\x01`), 'success');
  });

  it('refuses malformed responses', async () => {
    const { token } = tokens.issue('alice@example.org');
    const auth = `auth=Bearer ${token}`;
    for (const message of [
      `p=tls-exporter,a=alice,\x01${auth}\x01\x01`,      // channel binding
      `n,alice,\x01${auth}\x01\x01`,                      // authzid without a=
      `n,a=al=ice,\x01${auth}\x01\x01`,                   // bad saslname escape
      `n,a=alice,${auth}\x01\x01`,                         // no separator after the header
      `n,a=alice,\x01${auth}\x01`,                         // no closing separator
      `n,a=alice,\x01${auth}\x01${auth}\x01\x01`,        // a key twice
      `n,a=alice,\x01host=example.org\x01\x01`,           // no auth
      `n,a=alice,\x01auth=Basic ${token}\x01\x01`,        // another scheme
      `n,a=alice,\x01port=https\x01${auth}\x01\x01`,     // a port that is no number
      `n,a=alice,\x01${auth}\x00\x01\x01`,               // a control character in a value
      '\x01',
    ]) assert.equal(await attempt(message), 'malformed-request', JSON.stringify(message));
    assert.equal(await attempt(`n,a=alice,\x01${auth}\x01\x01`), 'success', 'the token survived the malformed attempts');
  });
});
