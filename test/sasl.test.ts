import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { DEFAULT_SCRAM_ITERATIONS, deriveScram, verifyPasswordAgainst } from '../src/directory/scram.js';
import type { ChannelBindingType, HashName, SaslContext, SaslMechanism, SaslStep, ScramCredential } from '../src/xmpp/sasl/mechanism.js';
import { createPlain } from '../src/xmpp/sasl/plain.js';
import { defaultMechanisms, offered } from '../src/xmpp/sasl/registry.js';
import { createScram } from '../src/xmpp/sasl/scram.js';
import { LoginThrottle } from '../src/xmpp/sasl/throttle.js';

const HOST = 'example.com';
const ITERATIONS = 4096;
const BINDING = Buffer.from('0123456789abcdef0123456789abcdef'); // stands in for tls-exporter output

interface CtxOptions { secure?: boolean; bindings?: ChannelBindingType[] }

/** Accounts by username; each holds credentials for both hashes. */
type Accounts = Map<string, Record<HashName, ScramCredential>>;

async function accounts(users: Record<string, string>): Promise<Accounts> {
  const map: Accounts = new Map();
  for (const [name, password] of Object.entries(users)) {
    map.set(name, {
      sha1: await deriveScram(password, 'sha1', ITERATIONS),
      sha256: await deriveScram(password, 'sha256', ITERATIONS),
    });
  }
  return map;
}

function context(users: Accounts, opts: CtxOptions = {}): SaslContext & { lookups: string[] } {
  const bindings = opts.bindings ?? [];
  const lookups: string[] = [];
  return {
    host: HOST,
    secure: opts.secure ?? bindings.length > 0,
    channelBindings: bindings,
    channelBinding: (type) => (bindings.includes(type) ? BINDING : null),
    lookups,
    async getScram(username, hash) {
      lookups.push(username);
      return users.get(username)?.[hash] ?? null;
    },
    async verifyPassword(username, password) {
      const cred = users.get(username)?.sha256;
      return cred !== undefined && verifyPasswordAgainst(cred, 'sha256', password);
    },
  };
}

const text = (step: SaslStep): string => {
  assert.equal(step.kind, 'challenge');
  return step.kind === 'challenge' ? step.data.toString() : '';
};

const failure = (step: SaslStep, condition: string, reason?: string) => {
  assert.equal(step.kind, 'failure', JSON.stringify(step));
  if (step.kind !== 'failure') return;
  assert.equal(step.condition, condition);
  if (reason !== undefined) assert.equal(step.text, reason);
};

/** A minimal SCRAM client, to drive full exchanges. */
class ScramClient {
  readonly nonce = randomBytes(18).toString('base64');
  private bare = '';
  serverSignature = '';

  constructor(
    private readonly hash: HashName,
    private readonly username: string,
    private readonly password: string,
    private readonly gs2 = 'n,,',
    private readonly binding = Buffer.alloc(0),
  ) {}

  first(): Buffer {
    this.bare = `n=${this.username},r=${this.nonce}`;
    return Buffer.from(this.gs2 + this.bare);
  }

  final(serverFirst: string, mutate: (withoutProof: string) => string = (m) => m): Buffer {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    const len = this.hash === 'sha1' ? 20 : 32;
    const salted = pbkdf2Sync(this.password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), len, this.hash);
    const clientKey = createHmac(this.hash, salted).update('Client Key').digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const c = Buffer.concat([Buffer.from(this.gs2), this.binding]).toString('base64');
    const withoutProof = mutate(`c=${c},r=${attrs.r}`);
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, storedKey).update(authMessage).digest();
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    const serverKey = createHmac(this.hash, salted).update('Server Key').digest();
    this.serverSignature = createHmac(this.hash, serverKey).update(authMessage).digest('base64');
    return Buffer.from(`${withoutProof},p=${Buffer.from(proof).toString('base64')}`);
  }
}

async function scramLogin(mech: SaslMechanism, ctx: SaslContext, client: ScramClient): Promise<SaslStep> {
  const ex = mech.start(ctx);
  const serverFirst = text(await ex.step(client.first()));
  return ex.step(client.final(serverFirst));
}

describe('SCRAM', () => {
  let users: Accounts;
  before(async () => {
    users = await accounts({ user: 'pencil', 'u,s=er': 'secret' });
  });

  it('RFC 5802 §5 SCRAM-SHA-1 test vector', async () => {
    const cred = await deriveScram('pencil', 'sha1', 4096, Buffer.from('QSXCR+Q6sek8bf92', 'base64'));
    const ctx = context(new Map([['user', { sha1: cred, sha256: cred }]]));
    const ex = createScram('sha1', false, { serverNonce: () => '3rfcNHYJY1ZVvWVs7j' }).start(ctx);
    assert.equal(text(await ex.step(Buffer.from('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'))),
      'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    const final = await ex.step(Buffer.from('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='));
    assert.deepEqual(final, { kind: 'success', username: 'user', data: Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=') });
  });

  it('RFC 7677 §3 SCRAM-SHA-256 test vector', async () => {
    const cred = await deriveScram('pencil', 'sha256', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    const ctx = context(new Map([['user', { sha1: cred, sha256: cred }]]));
    const ex = createScram('sha256', false, { serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' }).start(ctx);
    assert.equal(text(await ex.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'))),
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = await ex.step(Buffer.from(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    assert.deepEqual(final, { kind: 'success', username: 'user', data: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=') });
  });

  for (const hash of ['sha1', 'sha256'] as const) {
    it(`full ${hash} exchange without initial response, with a random server nonce`, async () => {
      const client = new ScramClient(hash, 'user', 'pencil');
      const ex = createScram(hash, false).start(context(users));
      assert.equal(text(await ex.step(null)), '');
      const serverFirst = text(await ex.step(client.first()));
      const nonce = serverFirst.split(',')[0].slice(2);
      assert.ok(nonce.startsWith(client.nonce));
      assert.equal(Buffer.from(nonce.slice(client.nonce.length), 'base64').length, 24);
      const result = await ex.step(client.final(serverFirst));
      assert.deepEqual(result, { kind: 'success', username: 'user', data: Buffer.from(`v=${client.serverSignature}`) });
      failure(await ex.step(Buffer.from('again')), 'malformed-request');
    });
  }

  it('unescapes =2C and =3D in the username', async () => {
    const ctx = context(users);
    const result = await scramLogin(createScram('sha256', false), ctx, new ScramClient('sha256', 'u=2Cs=3Der', 'secret'));
    assert.equal(result.kind, 'success');
    assert.deepEqual(ctx.lookups, ['u,s=er']);
  });

  it('SASLpreps the username', async () => {
    const ctx = context(users);
    const result = await scramLogin(createScram('sha256', false), ctx, new ScramClient('sha256', 'us\u00ader', 'pencil'));
    assert.equal(result.kind, 'success');
    assert.deepEqual(ctx.lookups, ['user']);
  });

  it('refuses a wrong password with not-authorized and names the account', async () => {
    const result = await scramLogin(createScram('sha256', false), context(users), new ScramClient('sha256', 'user', 'pen'));
    assert.deepEqual(result, { kind: 'failure', condition: 'not-authorized', text: 'invalid-proof', username: 'user' });
  });

  it('runs the whole exchange for an unknown user and fails like a wrong password', async () => {
    const mech = createScram('sha256', false);
    const ctx = context(users);
    const probe = async (username: string) => {
      const client = new ScramClient('sha256', username, 'pencil');
      const ex = mech.start(ctx);
      const serverFirst = text(await ex.step(client.first()));
      return { serverFirst, result: await ex.step(client.final(serverFirst)) };
    };
    const salt = (serverFirst: string) => serverFirst.split(',')[1];
    const a = await probe('nobody');
    const b = await probe('nobody');
    const c = await probe('somebody');
    assert.match(a.serverFirst, /^r=[^,]+,s=[A-Za-z0-9+/]{22}==,i=\d+$/);
    assert.ok(a.serverFirst.endsWith(`,i=${DEFAULT_SCRAM_ITERATIONS}`));
    assert.equal(salt(a.serverFirst), salt(b.serverFirst), 'fake salt is stable per username');
    assert.notEqual(salt(a.serverFirst), salt(c.serverFirst));
    assert.deepEqual(a.result, { kind: 'failure', condition: 'not-authorized', text: 'invalid-proof', username: 'nobody' });

    const fake = createScram('sha256', false, { fakeIterations: 4096 });
    const ex = fake.start(ctx);
    assert.ok(text(await ex.step(new ScramClient('sha256', 'nobody', 'x').first())).endsWith(',i=4096'));
  });

  describe('channel binding', () => {
    const plusCtx = () => context(users, { bindings: ['tls-exporter'] });

    it('-PLUS is available only with channel bindings', () => {
      const mech = createScram('sha256', true);
      assert.equal(mech.name, 'SCRAM-SHA-256-PLUS');
      assert.equal(mech.available(plusCtx()), true);
      assert.equal(mech.available(context(users, { secure: true })), false);
      assert.equal(createScram('sha1', false).available(context(users)), true);
    });

    it('succeeds when the client binds to the same channel', async () => {
      for (const hash of ['sha1', 'sha256'] as const) {
        const client = new ScramClient(hash, 'user', 'pencil', 'p=tls-exporter,,', BINDING);
        const result = await scramLogin(createScram(hash, true), plusCtx(), client);
        assert.equal(result.kind, 'success', JSON.stringify(result));
      }
    });

    it('fails when the binding data differs (man in the middle)', async () => {
      const client = new ScramClient('sha256', 'user', 'pencil', 'p=tls-exporter,,', Buffer.from('other channel'));
      failure(await scramLogin(createScram('sha256', true), plusCtx(), client), 'not-authorized', 'channel-bindings-dont-match');
    });

    it('fails when the client changes the GS2 header between messages', async () => {
      const client = new ScramClient('sha256', 'user', 'pencil', 'y,,');
      const ex = createScram('sha256', false).start(context(users));
      const serverFirst = text(await ex.step(client.first()));
      const final = client.final(serverFirst, (m) => m.replace(/^c=[^,]+/, 'c=biws'));
      failure(await ex.step(final), 'not-authorized', 'channel-bindings-dont-match');
    });

    it('refuses a channel binding type the connection does not provide', async () => {
      const ex = createScram('sha256', true).start(plusCtx());
      const client = new ScramClient('sha256', 'user', 'pencil', 'p=tls-unique,,', BINDING);
      failure(await ex.step(client.first()), 'malformed-request', 'unsupported-channel-binding-type');
    });

    it('-PLUS requires the p flag; plain SCRAM refuses it', async () => {
      for (const gs2 of ['n,,', 'y,,']) {
        const ex = createScram('sha256', true).start(plusCtx());
        failure(await ex.step(new ScramClient('sha256', 'user', 'pencil', gs2).first()), 'malformed-request');
      }
      const ex = createScram('sha256', false).start(plusCtx());
      failure(await ex.step(new ScramClient('sha256', 'user', 'pencil', 'p=tls-exporter,,').first()), 'malformed-request');
    });

    it('detects a downgrade: y flag while -PLUS is offered', async () => {
      const client = () => new ScramClient('sha256', 'user', 'pencil', 'y,,');
      const ex = createScram('sha256', false).start(plusCtx());
      failure(await ex.step(client().first()), 'not-authorized', 'server-does-support-channel-binding');
      // Without TLS bindings, or when the server does not offer -PLUS, y is fine.
      assert.equal((await scramLogin(createScram('sha256', false), context(users), client())).kind, 'success');
      const noPlus = createScram('sha256', false, { plusOffered: false });
      assert.equal((await scramLogin(noPlus, plusCtx(), client())).kind, 'success');
    });
  });

  describe('authzid', () => {
    it('accepts the own bare JID and reports it', async () => {
      const client = new ScramClient('sha256', 'user', 'pencil', 'n,a=user@example.com,');
      const result = await scramLogin(createScram('sha256', false), context(users), client);
      assert.deepEqual(result, { kind: 'success', username: 'user', authzid: 'user@example.com', data: Buffer.from(`v=${client.serverSignature}`) });
    });

    it('refuses any other', async () => {
      const ex = createScram('sha256', false).start(context(users));
      failure(await ex.step(new ScramClient('sha256', 'user', 'pencil', 'n,a=admin@example.com,').first()), 'invalid-authzid');
    });
  });

  describe('malformed messages', () => {
    const firstFails = async (message: Buffer | string, reason?: string) => {
      const ctx = context(users);
      const ex = createScram('sha256', false).start(ctx);
      failure(await ex.step(Buffer.from(message)), 'malformed-request', reason);
      assert.deepEqual(ctx.lookups, [], 'no account lookup for a malformed message');
      failure(await ex.step(Buffer.from('n,,n=user,r=abc')), 'malformed-request', 'unexpected message');
    };

    it('client-first-message', async () => {
      await firstFails('');
      await firstFails('n,,');
      await firstFails('n,n=user,r=abc');
      await firstFails('x,,n=user,r=abc', 'invalid GS2 header');
      await firstFails('p=,,n=user,r=abc', 'invalid GS2 header');
      await firstFails('n,b=x,n=user,r=abc');
      await firstFails('n,,r=abc,n=user');
      await firstFails('n,,n=,r=abc');
      await firstFails('n,,n=user,r=');
      await firstFails('n,,n=user,r=a\u00e9b', 'invalid nonce');
      await firstFails('n,,n=user,r=abc,1=x', 'invalid attribute');
      await firstFails('n,,n=user,r=abc,', 'invalid attribute');
      await firstFails('n,,m=ext,n=user,r=abc', 'extensions-not-supported');
      await firstFails('n,,n=u=2cser,r=abc', 'invalid-username-encoding');
      await firstFails('n,,n=u=ser,r=abc', 'invalid-username-encoding');
      await firstFails('n,,n=\u0007,r=abc', 'invalid-username-encoding'); // prohibited by SASLprep
      await firstFails(`n,,n=${'a'.repeat(1024)},r=abc`, 'invalid-username-encoding');
      await firstFails(Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61]), 'invalid-encoding');
      await firstFails('n,,n=us\0er,r=abc', 'invalid-encoding');
    });

    it('accepts optional extensions', async () => {
      const ex = createScram('sha256', false).start(context(users));
      assert.equal((await ex.step(Buffer.from('n,,n=user,r=abc,x=ext'))).kind, 'challenge');
    });

    it('client-final-message', async () => {
      const finalFails = async (mutate: (message: string) => string, condition: string, reason?: string) => {
        const client = new ScramClient('sha256', 'user', 'pencil');
        const ex = createScram('sha256', false).start(context(users));
        const serverFirst = text(await ex.step(client.first()));
        failure(await ex.step(Buffer.from(mutate(client.final(serverFirst).toString()))), condition, reason);
      };
      await finalFails((m) => m.replace(/,r=[^,]+/, ',r=other'), 'malformed-request', 'nonce mismatch');
      await finalFails((m) => m.replace(/,r=[^,]+/, ''), 'malformed-request');
      await finalFails((m) => m.replace(/,p=/, ',x=1,p=').replace(/,x=1,p=(.*)$/, ',p=$1,x=1'), 'malformed-request');
      await finalFails((m) => m.replace(/p=.*$/, 'p=AAAA'), 'malformed-request', 'invalid-proof');
      await finalFails((m) => m.replace(/p=(.)/, 'p=$1 '), 'malformed-request', 'invalid-encoding');
      await finalFails((m) => m.replace(/^c=biws/, 'c=biw'), 'malformed-request', 'invalid-encoding');
      await finalFails(() => '', 'malformed-request');
    });

    it('accepts extensions before the proof', async () => {
      const client = new ScramClient('sha256', 'user', 'pencil');
      const ex = createScram('sha256', false).start(context(users));
      const serverFirst = text(await ex.step(client.first()));
      assert.equal((await ex.step(client.final(serverFirst, (m) => `${m},x=1`))).kind, 'success');
    });
  });
});

describe('PLAIN', () => {
  let users: Accounts;
  before(async () => {
    users = await accounts({ user: 'pencil' });
  });

  const plain = createPlain({ allowInsecure: false });
  const login = (message: string | Buffer, ctx = context(users, { secure: true })) =>
    plain.start(ctx).step(Buffer.from(message));

  it('is available only over TLS unless allowed', () => {
    assert.equal(plain.available(context(users, { secure: true })), true);
    assert.equal(plain.available(context(users)), false);
    assert.equal(createPlain({ allowInsecure: true }).available(context(users)), true);
  });

  it('authenticates', async () => {
    assert.deepEqual(await login('\0user\0pencil'), { kind: 'success', username: 'user' });
  });

  it('waits for the response when there is no initial response', async () => {
    const ex = plain.start(context(users, { secure: true }));
    assert.equal(text(await ex.step(null)), '');
    assert.deepEqual(await ex.step(Buffer.from('\0user\0pencil')), { kind: 'success', username: 'user' });
    failure(await ex.step(Buffer.from('\0user\0pencil')), 'malformed-request');
  });

  it('refuses a wrong password or an unknown user with not-authorized, naming the account', async () => {
    assert.deepEqual(await login('\0user\0pen'), { kind: 'failure', condition: 'not-authorized', username: 'user' });
    assert.deepEqual(await login('\0nobody\0pencil'), { kind: 'failure', condition: 'not-authorized', username: 'nobody' });
  });

  it('accepts an empty authzid or the own bare JID only', async () => {
    assert.deepEqual(await login('user@example.com\0user\0pencil'), { kind: 'success', username: 'user', authzid: 'user@example.com' });
    failure(await login('admin@example.com\0user\0pencil'), 'invalid-authzid');
    failure(await login('user@example.org\0user\0pencil'), 'invalid-authzid');
  });

  it('SASLpreps username and password', async () => {
    assert.deepEqual(await login('\0us\u00ader\0pen\u00adcil'), { kind: 'success', username: 'user' });
    assert.deepEqual(await login('\0user\0\u00adpencil\u00ad'), { kind: 'success', username: 'user' });
  });

  it('rejects malformed messages', async () => {
    for (const message of ['', 'user\0pencil', '\0user\0pencil\0', '\0\0pencil', '\0user\0', '\0user\0\u00ad',
      '\0\u0007\0pencil', `\0${'a'.repeat(1024)}\0pencil`, `\0user\0${'p'.repeat(1024)}`, `${'a'.repeat(1024)}\0user\0pencil`]) {
      failure(await login(message), 'malformed-request');
    }
    failure(await login(Buffer.from([0, 0x75, 0, 0xc3])), 'malformed-request', 'invalid UTF-8');
  });
});

describe('SCRAM credentials', () => {
  it('derives fresh 16-byte salts and verifies passwords', async () => {
    const a = await deriveScram('pencil', 'sha256', ITERATIONS);
    const b = await deriveScram('pencil', 'sha256', ITERATIONS);
    assert.equal(a.salt.length, 16);
    assert.notDeepEqual(a.salt, b.salt);
    assert.equal(a.storedKey.length, 32);
    assert.equal(a.serverKey.length, 32);
    assert.equal(await verifyPasswordAgainst(a, 'sha256', 'pencil'), true);
    assert.equal(await verifyPasswordAgainst(a, 'sha256', 'pencil2'), false);
    assert.equal(await verifyPasswordAgainst(a, 'sha1', 'pencil'), false);
  });

  it('applies SASLprep (RFC 4013 §3 examples)', async () => {
    const cred = await deriveScram('I\u00adX', 'sha1', ITERATIONS);
    assert.equal(await verifyPasswordAgainst(cred, 'sha1', 'IX'), true);
    assert.equal(await verifyPasswordAgainst(cred, 'sha1', '\u2168'), true);
    assert.equal(await verifyPasswordAgainst(cred, 'sha1', 'ix'), false);
    assert.equal(await verifyPasswordAgainst(cred, 'sha1', '\u0007'), false);
  });

  it('refuses passwords SASLprep forbids, empty passwords and bad iteration counts', async () => {
    for (const password of ['a\u0007b', '\u00ad', '', '\u0221']) { // control, maps to nothing, empty, unassigned in Unicode 3.2
      await assert.rejects(deriveScram(password, 'sha256', ITERATIONS), RangeError, JSON.stringify(password));
    }
    await assert.rejects(deriveScram('pencil', 'sha256', 0), RangeError);
    await assert.rejects(deriveScram('pencil', 'sha256', 1.5), RangeError);
  });
});

describe('SASL registry', () => {
  it('lists mechanisms strongest first and offers what the connection allows', async () => {
    const users = await accounts({});
    const names = (mechs: SaslMechanism[]) => mechs.map((m) => m.name);
    const all = defaultMechanisms({ allowPlainInsecure: false, plus: true });
    assert.deepEqual(names(all), ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    assert.deepEqual(names(offered(all, context(users, { bindings: ['tls-exporter'] }))), names(all));
    assert.deepEqual(names(offered(all, context(users, { secure: true }))), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    assert.deepEqual(names(offered(all, context(users))), ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
    const noPlus = defaultMechanisms({ allowPlainInsecure: true, plus: false });
    assert.deepEqual(names(offered(noPlus, context(users))), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  });

  it('does not treat y as a downgrade when -PLUS is not offered', async () => {
    const users = await accounts({ user: 'pencil' });
    const [sha256] = defaultMechanisms({ allowPlainInsecure: false, plus: false });
    const client = new ScramClient('sha256', 'user', 'pencil', 'y,,');
    const result = await scramLogin(sha256, context(users, { bindings: ['tls-exporter'] }), client);
    assert.equal(result.kind, 'success');
  });
});

describe('LoginThrottle', () => {
  const setup = (maxKeys?: number) => {
    const clock = { t: 1_000_000 };
    const throttle = new LoginThrottle({ maxFailures: 3, windowSeconds: 60, lockSeconds: 300, maxKeys }, () => clock.t);
    return { clock, throttle };
  };

  it('locks an address after maxFailures within the window and unlocks after lockSeconds', () => {
    const { clock, throttle } = setup();
    throttle.failure('10.0.0.1');
    throttle.failure('10.0.0.1');
    assert.deepEqual(throttle.check('10.0.0.1'), { allowed: true });
    throttle.failure('10.0.0.1');
    assert.deepEqual(throttle.check('10.0.0.1'), { allowed: false, retryAfterSeconds: 300 });
    assert.deepEqual(throttle.check('10.0.0.2'), { allowed: true });
    clock.t += 299_500;
    assert.deepEqual(throttle.check('10.0.0.1'), { allowed: false, retryAfterSeconds: 1 });
    clock.t += 500;
    assert.deepEqual(throttle.check('10.0.0.1'), { allowed: true });
  });

  it('starts a new window once the old one has passed', () => {
    const { clock, throttle } = setup();
    throttle.failure('a');
    throttle.failure('a');
    clock.t += 60_000;
    throttle.failure('a');
    throttle.failure('a');
    assert.deepEqual(throttle.check('a'), { allowed: true });
    throttle.failure('a');
    assert.equal(throttle.check('a').allowed, false);
  });

  it('locks an account attacked from many addresses', () => {
    const { throttle } = setup();
    for (const address of ['a', 'b', 'c']) throttle.failure(address, 'user');
    assert.deepEqual(throttle.check('d'), { allowed: true });
    assert.deepEqual(throttle.check('d', 'user'), { allowed: false, retryAfterSeconds: 300 });
    assert.deepEqual(throttle.check('d', 'other'), { allowed: true });
  });

  it('success clears the account count but not the address count', () => {
    const { throttle } = setup();
    throttle.failure('a', 'user');
    throttle.failure('a', 'user');
    throttle.success('a', 'user');
    throttle.failure('b', 'user');
    throttle.failure('b', 'user');
    assert.deepEqual(throttle.check('b', 'user'), { allowed: true });
    throttle.failure('a', 'other');
    assert.equal(throttle.check('a').allowed, false);
  });

  it('keeps at most maxKeys keys, evicting the least recently failed', () => {
    const { throttle } = setup(2);
    for (let i = 0; i < 3; i++) throttle.failure('a');
    throttle.failure('b');
    assert.equal(throttle.check('a').allowed, false);
    throttle.failure('c');
    assert.deepEqual(throttle.check('a'), { allowed: true });
  });
});
