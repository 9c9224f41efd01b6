// Interoperability with a second, independent client library: slixmpp (Python, Debian's
// python3-slixmpp 1.8.3), driven by test/slixmpp/driver.py in child processes. Each driver is
// one client: it prints what it sees as JSON lines and takes commands on stdin. Where it makes
// a scenario more convincing an xmpp.js client takes part too.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, xml, type TestClient } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';

/** Debian's interpreter: the one that sees python3-slixmpp (a pyenv python3 on PATH does not). */
const PYTHON = '/usr/bin/python3';
// This file runs as dist/test/slixmpp.test.js; the driver stays in the source tree.
const DRIVER = fileURLToPath(new URL('../../test/slixmpp/driver.py', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const NS = {
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  ping: 'urn:xmpp:ping',
  version: 'jabber:iq:version',
  time: 'urn:xmpp:time',
  last: 'jabber:iq:last',
  vcard: 'vcard-temp',
  carbons: 'urn:xmpp:carbons:2',
  blocking: 'urn:xmpp:blocking',
  privateXml: 'jabber:iq:private',
  offline: 'msgoffline',
};

/** One line of driver output (see the docstring of driver.py for every event). */
type SlixEvent = { event: string } & Record<string, any>;

interface SlixOptions {
  username: string;
  password: string;
  resource?: string;
  /** STARTTLS (default), direct TLS (XEP-0368) or no TLS at all. */
  tls?: 'starttls' | 'direct' | 'none';
  /** The only SASL mechanism the client may use; slixmpp's own choice otherwise. */
  mechanism?: string;
  /** false: the client offers no channel binding (SCRAM gs2 flag "n"); default: slixmpp's behaviour. */
  channelBinding?: boolean;
  tlsMax?: 'TLSv1.2';
  /** Fetch the roster before initial presence (RFC 6121 §2.2). */
  roster?: boolean;
  presence?: boolean | { show?: string; status?: string; priority?: number };
  /** Create the account in-band (XEP-0077) before logging in. */
  register?: boolean;
}

const LIFETIME_S = 60;

/** A slixmpp client in a child process. */
class SlixClient {
  readonly events: SlixEvent[] = [];
  private readonly waiters = new Set<{ predicate: (e: SlixEvent) => boolean; resolve: (e: SlixEvent) => void; reject: (err: Error) => void }>();
  private stderr = '';
  private exitStatus: string | undefined;
  private nextId = 1;
  private readonly exited: Promise<void>;
  private readonly hardKill: NodeJS.Timeout;

  constructor(readonly label: string, private readonly child: ChildProcessWithoutNullStreams) {
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) this.received(parseLine(line));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitStatus = signal ?? `exit code ${code}`;
        clearTimeout(this.hardKill);
        for (const waiter of this.waiters) waiter.reject(this.failure(`the driver ended (${this.exitStatus})`));
        this.waiters.clear();
        resolve();
      });
    });
    // The driver gives up after its lifetime; should it hang anyway, it is killed.
    this.hardKill = setTimeout(() => child.kill('SIGKILL'), (LIFETIME_S + 5) * 1000);
    this.hardKill.unref();
  }

  private received(event: SlixEvent): void {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }

  private failure(what: string): Error {
    const recent = this.events.slice(-12).map((e) => JSON.stringify(e)).join('\n  ');
    return new Error(`${this.label}: ${what}\n recent events:\n  ${recent}\n stderr: ${this.stderr.slice(-1500)}`);
  }

  /** The first event matching `predicate`, counting those already received from index `since` on. */
  waitFor(what: string, predicate: (e: SlixEvent) => boolean, timeoutMs = 8000, since = 0): Promise<SlixEvent> {
    const seen = this.events.slice(since).find(predicate);
    if (seen) return Promise.resolve(seen);
    if (this.exitStatus) return Promise.reject(this.failure(`no ${what}; the driver ended (${this.exitStatus})`));
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (e: SlixEvent) => { clearTimeout(timer); resolve(e); },
        reject: (err: Error) => { clearTimeout(timer); reject(err); },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(this.failure(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves once the session is started (and roster/presence sent as asked); rejects if the login failed. */
  async online(): Promise<SlixEvent> {
    const outcome = await this.waitFor('the end of the login',
      (e) => e.event === 'online' || e.event === 'auth_failed_all' || e.event === 'disconnected', 15000);
    if (outcome.event !== 'online') throw this.failure('login failed');
    return outcome;
  }

  /** Runs a driver command and returns its result event. */
  async call(op: string, args: Record<string, unknown> = {}, timeoutMs = 12000): Promise<SlixEvent> {
    const id = this.nextId++;
    this.child.stdin.write(JSON.stringify({ ...args, id, op }) + '\n');
    return this.waitFor(`the result of ${op}`, (e) => e.event === 'result' && e.id === id, timeoutMs);
  }

  /** Runs a command that must succeed. */
  async ok(op: string, args: Record<string, unknown> = {}): Promise<SlixEvent> {
    const result = await this.call(op, args);
    if (!result.ok) throw this.failure(`${op} failed: ${JSON.stringify(result.error)}`);
    return result;
  }

  /**
   * A round trip to the server: its answer comes after the server handled everything this
   * client sent before (streams are processed in order), whether or not it knows the query.
   */
  async sync(): Promise<void> {
    await this.call('iq', { type: 'get', to: 'localhost', xml: `<query xmlns='${NS.discoInfo}'/>` });
  }

  /** Every event matching `predicate` so far. */
  all(predicate: (e: SlixEvent) => boolean): SlixEvent[] {
    return this.events.filter(predicate);
  }

  async stop(): Promise<void> {
    if (this.exitStatus) return;
    this.child.stdin.write(JSON.stringify({ id: 0, op: 'disconnect' }) + '\n');
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 4000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Waits for the driver to end on its own (after a failed login, say). */
  async ended(timeoutMs = 15000): Promise<void> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function parseLine(line: string): SlixEvent {
  try {
    return JSON.parse(line) as SlixEvent;
  } catch {
    return { event: 'unparsable', line };
  }
}

const running: SlixClient[] = [];
const xmppJsClients: TestClient[] = [];

function slix(hub: TestHub, options: SlixOptions): SlixClient {
  const tls = options.tls ?? 'starttls';
  const settings = {
    host: '127.0.0.1',
    port: tls === 'direct' ? hub.directTlsPort : hub.port,
    jid: `${options.username}@${hub.domain}${options.resource ? `/${options.resource}` : ''}`,
    password: options.password,
    tls,
    mechanism: options.mechanism,
    channel_binding: options.channelBinding,
    tls_max: options.tlsMax,
    roster: options.roster ?? false,
    presence: options.presence ?? true,
    register: options.register ?? false,
    lifetime: LIFETIME_S,
  };
  const child = spawn(PYTHON, [DRIVER, JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const client = new SlixClient(`${settings.jid} (${tls}${options.mechanism ? `, ${options.mechanism}` : ''})`, child);
  running.push(client);
  return client;
}

/** A logged-in slixmpp client (PLAIN over STARTTLS unless told otherwise). */
async function login(hub: TestHub, username: string, resource: string, extra: Partial<SlixOptions> = {}): Promise<SlixClient> {
  const client = slix(hub, { username, password: PASSWORD, resource, mechanism: 'PLAIN', ...extra });
  await client.online();
  return client;
}

const PASSWORD = 'correct horse';

async function stopAll(): Promise<void> {
  await Promise.all([
    ...running.splice(0).map((c) => c.stop()),
    ...xmppJsClients.splice(0).map((c) => c.stop()),
  ]);
}

const isMessage = (id: string) => (e: SlixEvent) => e.event === 'message' && e.id === id;
const isPresence = (from: string, type = 'available') => (e: SlixEvent) => e.event === 'presence' && e.from === from && e.type === type;
const isPush = (jid: string, subscription: string, ask: string | null = null) => (e: SlixEvent) =>
  e.event === 'roster_push' && e.items[jid]?.subscription === subscription && e.items[jid]?.ask === ask;

describe('interoperability with slixmpp (Python)', function () {
  this.timeout(40000);

  before(function () {
    const probe = spawnSync(PYTHON, ['-c', 'import slixmpp; print(slixmpp.__version__)'], { encoding: 'utf8', timeout: 20000 });
    if (probe.status !== 0) {
      throw new Error(`slixmpp is not importable by ${PYTHON} (install the Debian package python3-slixmpp; .ci/run does): ${probe.stderr || probe.error}`);
    }
  });
  afterEach(stopAll);

  // --- logging in ---------------------------------------------------------------------------

  describe('logging in', () => {
    let hub: TestHub;

    before(async () => {
      // Every mechanism is tried in turn, with refusals among them: the failed-login throttle
      // (tested on its own below) must not mix the cases up.
      hub = await startHub({ yaml: 'auth:\n  scram_iterations: 4096\n  throttle: { max_failures: 1000, window_seconds: 300, lock_seconds: 60 }\n' });
      await hub.addUser('alice', PASSWORD);
    });
    after(() => hub.stop());

    const transports = [
      { name: 'STARTTLS', tls: 'starttls', version: 'TLSv1.3' },
      { name: 'direct TLS', tls: 'direct', version: 'TLSv1.3' },
      { name: 'STARTTLS with TLS 1.2', tls: 'starttls', version: 'TLSv1.2', tlsMax: 'TLSv1.2' },
    ] as const;
    const secureFeatures = (client: SlixClient): SlixEvent => client.all((e) => e.event === 'features' && e.mechanisms.length > 0).at(-1)!;

    for (const { name, tls, version, ...rest } of transports) {
      const tlsMax = 'tlsMax' in rest ? rest.tlsMax : undefined;

      it(`offers every mechanism and its channel bindings (XEP-0440) over ${name}`, async () => {
        const alice = slix(hub, { username: 'alice', password: PASSWORD, tls, tlsMax, mechanism: 'PLAIN' });
        assert.equal((await alice.online()).tls, version);
        const features = alice.all((e) => e.event === 'features' && e.mechanisms.length > 0);
        if (tls === 'starttls') {
          assert.equal(features.length, 2, 'mechanisms before and after STARTTLS');
          assert.equal(features[0]!.starttls, true);
          // Optional encryption for localhost in tests: SCRAM in the clear, but never PLAIN or -PLUS.
          assert.deepEqual(features[0]!.mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
        } else {
          assert.equal(features.length, 1);
        }
        const secure = features.at(-1)!;
        assert.equal(secure.starttls, false, 'no STARTTLS on a TLS stream');
        assert.deepEqual(secure.mechanisms, ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
        assert.ok(secure.channel_bindings.includes('tls-server-end-point'), 'tls-server-end-point is always there');
        if (version === 'TLSv1.3') assert.ok(secure.channel_bindings.includes('tls-exporter'), 'tls-exporter on TLS 1.3 (RFC 9266)');
      });

      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']) {
        it(`logs in with ${mechanism} over ${name}`, async () => {
          const alice = slix(hub, { username: 'alice', password: PASSWORD, resource: 'py', tls, tlsMax, mechanism, channelBinding: false });
          const online = await alice.online();
          assert.equal(online.jid, 'alice@localhost/py');
          assert.equal(online.mechanism, mechanism);
          assert.equal(online.tls, version);
        });
      }

      it(`refuses SCRAM with the "y" flag after offering -PLUS (RFC 5802 downgrade protection) over ${name}`, async () => {
        // slixmpp 1.8 sends "y" for SCRAM without -PLUS whenever its socket has a tls-unique
        // value, although the server listed SCRAM-*-PLUS: to the server, a downgrade attack.
        const alice = slix(hub, { username: 'alice', password: PASSWORD, tls, tlsMax, mechanism: 'SCRAM-SHA-256' });
        await alice.ended();
        assert.deepEqual(alice.all((e) => e.event === 'auth_failed').map((e) => e.condition), ['not-authorized']);
        assert.equal(alice.all((e) => e.event === 'online').length, 0);
      });

      for (const mechanism of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
        it(`accepts ${mechanism} with tls-unique (slixmpp's only binding) exactly when it announces tls-unique, over ${name}`, async () => {
          const alice = slix(hub, { username: 'alice', password: PASSWORD, tls, tlsMax, mechanism });
          const outcome = await alice.waitFor('the end of the login',
            (e) => e.event === 'online' || e.event === 'auth_failed_all' || e.event === 'disconnected', 15000);
          const announced = secureFeatures(alice).channel_bindings.includes('tls-unique');
          if (announced) {
            assert.equal(outcome.event, 'online', 'an announced binding works');
            assert.equal(outcome.mechanism, mechanism);
            assert.equal(outcome.tls, version);
          } else {
            await alice.ended();
            assert.equal(alice.all((e) => e.event === 'auth_failed').length, 1, 'an unannounced binding is refused');
            assert.equal(alice.all((e) => e.event === 'online').length, 0);
          }
        });
      }
    }

    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-1']) {
      it(`logs in with ${mechanism} without TLS where encryption is optional`, async () => {
        const alice = slix(hub, { username: 'alice', password: PASSWORD, resource: 'clear', tls: 'none', mechanism });
        const online = await alice.online();
        assert.equal(online.jid, 'alice@localhost/clear');
        assert.equal(online.tls, null);
        assert.equal(online.mechanism, mechanism);
      });
    }

    for (const [mechanism, tls] of [['SCRAM-SHA-256', 'none'], ['SCRAM-SHA-1', 'starttls'], ['PLAIN', 'direct']] as const) {
      it(`rejects a wrong password (${mechanism}, ${tls})`, async () => {
        const alice = slix(hub, { username: 'alice', password: 'incorrect horse', tls, mechanism, channelBinding: false });
        await alice.ended();
        assert.deepEqual(alice.all((e) => e.event === 'auth_failed').map((e) => e.condition), ['not-authorized']);
        assert.equal(alice.all((e) => e.event === 'online').length, 0);
      });
    }
  });

  describe('slixmpp as installed (its own choice of mechanism)', () => {
    let hub: TestHub;

    before(async () => {
      hub = await startHub();  // the default failed-login throttle
      await hub.addUser('alice', PASSWORD);
    });
    after(() => hub.stop());

    it('logs in over STARTTLS and direct TLS, again and again', async () => {
      // slixmpp 1.8.3 tries SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS (tls-unique), then
      // SCRAM-SHA-256 and SCRAM-SHA-1 (flag "y"), then PLAIN: a user of a slixmpp client
      // (poezio, bots) must get in without lowering anything, and without being locked out.
      for (const tls of ['starttls', 'direct', 'starttls', 'direct'] as const) {
        const alice = slix(hub, { username: 'alice', password: PASSWORD, tls });
        const online = await alice.online();
        assert.equal(online.tls, 'TLSv1.3');
        await alice.stop();
      }
    });
  });

  // --- IM and presence ------------------------------------------------------------------------

  describe('IM and presence', () => {
    let hub: TestHub;
    let users = 0;
    /** Fresh accounts for a test: no roster, block list or offline messages from another test. */
    const accounts = async (...names: string[]): Promise<string[]> => {
      users++;
      const made = names.map((n) => `${n}${users}`);
      for (const name of made) await hub.addUser(name, PASSWORD);
      return made;
    };
    const bare = (user: string) => `${user}@localhost`;

    before(async () => {
      hub = await startHub();
    });
    after(() => hub.stop());

    /** Mutual subscription between two online slixmpp clients, through the RFC 6121 handshake. */
    async function befriend(a: SlixClient, aUser: string, b: SlixClient, bUser: string): Promise<void> {
      for (const [from, fromUser, to, toUser] of [[a, aUser, b, bUser], [b, bUser, a, aUser]] as const) {
        await from.ok('presence', { to: bare(toUser), type: 'subscribe' });
        await to.waitFor('a subscription request', isPresence(bare(fromUser), 'subscribe'));
        await to.ok('presence', { to: bare(fromUser), type: 'subscribed' });
        await from.waitFor('the approval', isPresence(bare(toUser), 'subscribed'));
      }
      await a.waitFor('subscription both', isPush(bare(bUser), 'both'));
      await b.waitFor('subscription both', isPush(bare(aUser), 'both'));
    }

    it('delivers chat messages between slixmpp clients to full and bare JIDs', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a = await login(hub, alice!, 'laptop');
      const b = await login(hub, bob!, 'phone', { mechanism: 'SCRAM-SHA-256', channelBinding: false, tls: 'direct' });
      await a.ok('message', { to: `${bare(bob!)}/phone`, body: 'hello full JID', msg_id: 'full-1' });
      const full = await b.waitFor('the message to the full JID', isMessage('full-1'));
      assert.equal(full.body, 'hello full JID');
      assert.equal(full.from, `${bare(alice!)}/laptop`);
      assert.equal(full.type, 'chat');
      await a.ok('message', { to: bare(bob!), body: 'hello bare JID', msg_id: 'bare-1' });
      const bareMessage = await b.waitFor('the message to the bare JID', isMessage('bare-1'));
      assert.equal(bareMessage.body, 'hello bare JID');
      assert.equal(bareMessage.from, `${bare(alice!)}/laptop`);
      // And back, with a thread.
      await b.ok('message', { to: full.from, body: 'hi alice', msg_id: 'reply-1', thread: 't-1' });
      const reply = await a.waitFor('the reply', isMessage('reply-1'));
      assert.equal(reply.body, 'hi alice');
      assert.equal(reply.thread, 't-1');
      assert.equal(reply.delay, null, 'a live message has no delay');
    });

    it('delivers chat messages between slixmpp and xmpp.js', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a = await login(hub, alice!, 'py');
      const js = await connect(hub, { username: bob!, password: PASSWORD, resource: 'js' });
      xmppJsClients.push(js);
      await a.ok('message', { to: `${bare(bob!)}/js`, body: 'from Python', msg_id: 'py-1' });
      const got = await js.waitFor((el) => el.is('message') && el.attrs.id === 'py-1');
      assert.equal(got.getChildText('body'), 'from Python');
      assert.equal(got.attrs.from, `${bare(alice!)}/py`);
      await js.send(xml('message', { to: bare(alice!), type: 'chat', id: 'js-1' }, xml('body', {}, 'from JavaScript — ünïcödé')));
      const back = await a.waitFor('the xmpp.js message', isMessage('js-1'));
      assert.equal(back.body, 'from JavaScript — ünïcödé');
      assert.equal(back.from, `${bare(bob!)}/js`);
    });

    it('answers a message to an unknown user with an error', async () => {
      const [alice] = await accounts('alice');
      const a = await login(hub, alice!, 'py');
      await a.ok('message', { to: 'nobody-here@localhost', body: 'anyone?', msg_id: 'lost-1' });
      const error = await a.waitFor('the error', (e) => e.event === 'message_error' && e.id === 'lost-1');
      assert.equal(error.condition, 'service-unavailable');
    });

    it('adds, lists and removes roster items, pushing each change to every interested resource (RFC 6121 §2)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a1 = await login(hub, alice!, 'one', { roster: true });
      const a2 = await login(hub, alice!, 'two', { roster: true, mechanism: 'SCRAM-SHA-1', channelBinding: false });
      const empty = await a1.ok('roster_get');
      assert.deepEqual(empty.items, {});

      await a1.ok('roster_set', { jid: bare(bob!), name: 'Bob the Builder', groups: ['Friends', 'Work'] });
      const item = { name: 'Bob the Builder', subscription: 'none', ask: null, groups: ['Friends', 'Work'] };
      for (const client of [a1, a2]) {
        const push = await client.waitFor('the roster push', isPush(bare(bob!), 'none'));
        assert.deepEqual(push.items, { [bare(bob!)]: item });
      }
      assert.deepEqual((await a2.ok('roster_get')).items, { [bare(bob!)]: item });

      await a2.ok('roster_set', { jid: bare(bob!), name: 'Bob', groups: ['Friends'] });
      const renamed = await a1.waitFor('the renaming push', (e) => e.event === 'roster_push' && e.items[bare(bob!)]?.name === 'Bob');
      assert.deepEqual(renamed.items[bare(bob!)].groups, ['Friends']);

      await a1.ok('roster_remove', { jid: bare(bob!) });
      for (const client of [a1, a2]) await client.waitFor('the removal push', isPush(bare(bob!), 'remove'));
      assert.deepEqual((await a1.ok('roster_get')).items, {});
      // A new session sees the same roster.
      const a3 = await login(hub, alice!, 'three', { roster: true, tls: 'direct' });
      assert.deepEqual((await a3.ok('roster_get')).items, {});
    });

    it('runs the subscription handshake between two slixmpp clients, then shares presence (RFC 6121 §3, §4)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a = await login(hub, alice!, 'desk', { roster: true });
      const b = await login(hub, bob!, 'couch', { roster: true, presence: { status: 'around' } });

      await a.ok('presence', { to: bare(bob!), type: 'subscribe' });
      const request = await b.waitFor('the subscription request', isPresence(bare(alice!), 'subscribe'));
      assert.equal(request.from, bare(alice!), 'the request comes from the bare JID');
      await a.waitFor('the pending-out push', isPush(bare(bob!), 'none', 'subscribe'));
      assert.equal(a.all(isPresence(`${bare(bob!)}/couch`)).length, 0, 'no presence before approval');

      await b.ok('presence', { to: bare(alice!), type: 'subscribed' });
      await b.waitFor('subscription from', isPush(bare(alice!), 'from'));
      await a.waitFor('the approval', isPresence(bare(bob!), 'subscribed'));
      await a.waitFor('subscription to', isPush(bare(bob!), 'to'));
      const current = await a.waitFor("bob's current presence", isPresence(`${bare(bob!)}/couch`));
      assert.equal(current.status, 'around');

      await b.ok('presence', { to: bare(alice!), type: 'subscribe' });
      await a.waitFor('the request back', isPresence(bare(bob!), 'subscribe'));
      await a.ok('presence', { to: bare(bob!), type: 'subscribed' });
      await a.waitFor('subscription both', isPush(bare(bob!), 'both'));
      await b.waitFor('subscription both', isPush(bare(alice!), 'both'));
      await b.waitFor("alice's current presence", isPresence(`${bare(alice!)}/desk`));

      // Presence updates and going offline reach the contact.
      await b.ok('presence', { show: 'away', status: 'gone for lunch' });
      const away = await a.waitFor('the away presence', (e) => isPresence(`${bare(bob!)}/couch`)(e) && e.show === 'away');
      assert.equal(away.status, 'gone for lunch');
      await b.stop();
      await a.waitFor('the unavailable presence', isPresence(`${bare(bob!)}/couch`, 'unavailable'));
      const offlineAt = a.events.length;

      const roster = await a.ok('roster_get');
      assert.equal(roster.items[bare(bob!)].subscription, 'both');
      // Logging in again, bob gets alice's presence (probe) and alice gets bob's.
      const b2 = await login(hub, bob!, 'couch', { roster: true });
      await b2.waitFor("alice's presence on login", isPresence(`${bare(alice!)}/desk`));
      await a.waitFor('bob back online', isPresence(`${bare(bob!)}/couch`), 8000, offlineAt);
    });

    it('stores a message for an offline user and delivers it at the next login with its delay (XEP-0160, XEP-0203)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a = await login(hub, alice!, 'py');
      const sentAt = Date.now();
      await a.ok('message', { to: bare(bob!), body: 'while you were out', msg_id: 'offline-1' });
      await a.sync();
      assert.equal(a.all((e) => e.event === 'message_error').length, 0, 'the message was accepted');

      const b = await login(hub, bob!, 'back');
      const stored = await b.waitFor('the stored message', isMessage('offline-1'));
      assert.equal(stored.body, 'while you were out');
      assert.equal(stored.from, `${bare(alice!)}/py`);
      assert.ok(stored.delay, 'the message carries a delay element');
      const stamp = Date.parse(stored.delay.stamp);
      assert.ok(stamp >= sentAt - 1500 && stamp <= Date.now() + 1500, `delay stamp ${stored.delay.stamp} is when it was sent`);

      // Delivered once: the next login finds nothing.
      await b.stop();
      const again = await login(hub, bob!, 'again');
      await again.sync();
      assert.equal(again.all((e) => e.event === 'message').length, 0);
    });

    it('sends a copy of each chat to the other resources that enabled carbons (XEP-0280)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const desk = await login(hub, alice!, 'desk');
      const phone = await login(hub, alice!, 'phone', { tls: 'direct' });
      const tablet = await login(hub, alice!, 'tablet');
      const b = await login(hub, bob!, 'py');
      const info = await b.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.carbons), 'the server advertises carbons');
      await desk.ok('carbons_enable');
      await phone.ok('carbons_enable');

      await b.ok('message', { to: `${bare(alice!)}/desk`, body: 'to your desk', msg_id: 'cc-in' });
      await desk.waitFor('the message itself', isMessage('cc-in'));
      const received = await phone.waitFor('the received carbon', (e) => e.event === 'carbon' && e.message.id === 'cc-in');
      assert.equal(received.direction, 'received');
      assert.equal(received.from, bare(alice!), 'the carbon comes from the own bare JID');
      assert.equal(received.message.body, 'to your desk');
      assert.equal(received.message.from, `${bare(bob!)}/py`);

      await desk.ok('message', { to: `${bare(bob!)}/py`, body: 'from my desk', msg_id: 'cc-out' });
      await b.waitFor('the reply', isMessage('cc-out'));
      const sent = await phone.waitFor('the sent carbon', (e) => e.event === 'carbon' && e.message.id === 'cc-out');
      assert.equal(sent.direction, 'sent');
      assert.equal(sent.message.body, 'from my desk');
      assert.equal(sent.message.to, `${bare(bob!)}/py`);

      await tablet.sync();
      assert.equal(tablet.all((e) => e.event === 'carbon' || e.event === 'message').length, 0, 'no carbons without enabling them');
      assert.equal(desk.all((e) => e.event === 'carbon').length, 0, 'no carbon of its own messages');
    });

    it('refuses messages from a blocked contact and keeps the block list in sync (XEP-0191)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a1 = await login(hub, alice!, 'one');
      const a2 = await login(hub, alice!, 'two');
      const b = await login(hub, bob!, 'py');
      const info = await a1.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.blocking), 'the server advertises the blocking command');
      assert.deepEqual((await a2.ok('blocklist')).items, []);

      await a1.ok('block', { jids: [bare(bob!)] });
      const push = await a2.waitFor('the block push', (e) => e.event === 'blocklist_push');
      assert.deepEqual(push, { event: 'blocklist_push', action: 'block', items: [bare(bob!)] });
      assert.deepEqual((await a1.ok('blocklist')).items, [bare(bob!)]);

      await b.ok('message', { to: `${bare(alice!)}/one`, body: 'let me in', msg_id: 'blocked-1' });
      const refused = await b.waitFor('the error', (e) => e.event === 'message_error' && e.id === 'blocked-1');
      assert.equal(refused.condition, 'service-unavailable');
      await a1.ok('message', { to: `${bare(bob!)}/py`, body: 'going out', msg_id: 'blocked-2' });
      const outbound = await a1.waitFor('the outbound error', (e) => e.event === 'message_error' && e.id === 'blocked-2');
      assert.equal(outbound.condition, 'not-acceptable');
      await b.sync();
      assert.equal(b.all(isMessage('blocked-2')).length, 0);

      await a2.ok('unblock', { jids: [bare(bob!)] });
      await a1.waitFor('the unblock push', (e) => e.event === 'blocklist_push' && e.action === 'unblock');
      await b.ok('message', { to: `${bare(alice!)}/one`, body: 'hello again', msg_id: 'unblocked-1' });
      await a1.waitFor('the message after unblocking', isMessage('unblocked-1'));
      assert.equal(a1.all(isMessage('blocked-1')).length, 0, 'the blocked message never arrived');
    });

    it('tells a contact how long ago a user logged out, with the last status (XEP-0012)', async () => {
      const [alice, bob] = await accounts('alice', 'bob');
      const a = await login(hub, alice!, 'py', { roster: true });
      const b = await login(hub, bob!, 'py', { roster: true });
      await befriend(a, alice!, b, bob!);
      await b.ok('presence', { type: 'unavailable', status: 'gone fishing' });
      await a.waitFor('the unavailable presence', isPresence(`${bare(bob!)}/py`, 'unavailable'));
      await b.stop();
      const last = await a.ok('last', { jid: bare(bob!) });
      assert.ok(last.seconds >= 0 && last.seconds <= 5, `${last.seconds} s ago`);
      assert.equal(last.status, 'gone fishing');
    });
  });

  // --- service XEPs -----------------------------------------------------------------------------

  describe('service discovery and server queries', () => {
    let hub: TestHub;
    let startedAt: number;

    before(async () => {
      startedAt = Date.now();
      hub = await startHub();
      await hub.addUser('alice', PASSWORD);
      await hub.addUser('bob', PASSWORD);
    });
    after(() => hub.stop());

    it('describes the server in disco#info (XEP-0030)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.identities.some(([category, type]: string[]) => category === 'server' && type === 'im'),
        `a server/im identity in ${JSON.stringify(info.identities)}`);
      for (const feature of [NS.discoInfo, NS.discoItems]) assert.ok(info.features.includes(feature), feature);
      const items = await alice.ok('disco_items', { jid: 'localhost' });
      assert.ok(Array.isArray(items.items));
    });

    it('answers pings from the server and routes pings to other clients (XEP-0199)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const bob = await login(hub, 'bob', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.ping));
      await alice.ok('ping', { jid: 'localhost' });
      await alice.ok('ping', { jid: 'bob@localhost/py' });
      await bob.ok('ping', { jid: 'alice@localhost/py' });
    });

    it('tells its software version, and routes version queries to clients (XEP-0092)', async () => {
      const alice = await login(hub, 'alice', 'py');
      await login(hub, 'bob', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.version));
      const server = await alice.ok('version', { jid: 'localhost' });
      assert.equal(server.name, 'Switchboard');
      assert.equal(server.version, PACKAGE.version);
      const client = await alice.ok('version', { jid: 'bob@localhost/py' });
      assert.equal(client.name, 'Slixmpp');
    });

    it('tells its time (XEP-0202)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.time));
      const time = await alice.ok('time', { jid: 'localhost' });
      assert.match(time.utc, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/, 'a XEP-0082 DateTime in UTC');
      assert.ok(Math.abs(Date.parse(time.utc) - Date.now()) < 5000, `${time.utc} is now`);
      assert.match(time.tzo, /^(?:[+-]\d{2}:\d{2}|Z)$/);
    });

    it('tells its uptime as last activity (XEP-0012)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.last));
      const last = await alice.ok('last', { jid: 'localhost' });
      assert.ok(last.seconds >= 0 && last.seconds <= (Date.now() - startedAt) / 1000 + 1, `uptime ${last.seconds} s`);
    });

    it('stores and returns vCards, readable by other users (XEP-0054)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const bob = await login(hub, 'bob', 'py');
      const info = await alice.ok('disco_info', { jid: 'localhost' });
      assert.ok(info.features.includes(NS.vcard));
      await alice.ok('vcard_set', { fields: { FN: 'Alice Liddell', NICKNAME: 'alice', DESC: 'Curiouser & curiouser' } });
      const own = await alice.ok('vcard_get', { jid: 'alice@localhost' });
      assert.deepEqual(own.fields, { FN: 'Alice Liddell', NICKNAME: 'alice', DESC: 'Curiouser & curiouser' });
      const seen = await bob.ok('vcard_get', { jid: 'alice@localhost' });
      assert.equal(seen.fields.FN, 'Alice Liddell');
      // A new vCard replaces the old one entirely; xmpp.js sees the same.
      await alice.ok('vcard_set', { fields: { FN: 'Alice' } });
      assert.deepEqual((await bob.ok('vcard_get', { jid: 'alice@localhost' })).fields, { FN: 'Alice' });
      const js = await connect(hub, { username: 'bob', password: PASSWORD, resource: 'js' });
      xmppJsClients.push(js);
      const result = await js.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('vCard', { xmlns: NS.vcard })));
      assert.equal(result.getChild('vCard', NS.vcard)?.getChildText('FN'), 'Alice');
    });

    it('keeps private XML for its owner across sessions (XEP-0049)', async () => {
      const alice = await login(hub, 'alice', 'py');
      const prefs = "<prefs xmlns='urn:example:switchboard:prefs'><colour>teal</colour></prefs>";
      await alice.ok('private_set', { xml: prefs });
      await alice.stop();
      const again = await login(hub, 'alice', 'py2', { tls: 'direct' });
      const got = await again.ok('private_get', { xml: "<prefs xmlns='urn:example:switchboard:prefs'/>" });
      assert.match(got.xml, /<colour>teal<\/colour>/);
      const bob = await login(hub, 'bob', 'py');
      const bobs = await bob.ok('private_get', { xml: "<prefs xmlns='urn:example:switchboard:prefs'/>" });
      assert.doesNotMatch(bobs.xml ?? '', /teal/, "bob does not see alice's data");
    });
  });

  describe('in-band registration (XEP-0077)', () => {
    let hub: TestHub;

    before(async () => {
      hub = await startHub({ yaml: 'hosts:\n  - domain: localhost\n    require_encryption: optional\n    registration: true\n' });
    });
    after(() => hub.stop());

    it('creates an account from slixmpp, which can then change its password', async () => {
      const newbie = slix(hub, { username: 'newbie', password: 'first password', resource: 'py', register: true, mechanism: 'PLAIN' });
      await newbie.waitFor('the registration', (e) => e.event === 'registered' || e.event === 'register_failed');
      assert.equal(newbie.all((e) => e.event === 'register_failed').length, 0, 'registration succeeded');
      assert.equal((await newbie.online()).jid, 'newbie@localhost/py');
      await newbie.ok('change_password', { password: 'second password' });
      await newbie.stop();

      const again = slix(hub, { username: 'newbie', password: 'second password', mechanism: 'SCRAM-SHA-256', channelBinding: false });
      await again.online();
      const old = slix(hub, { username: 'newbie', password: 'first password', mechanism: 'PLAIN' });
      await old.ended();
      assert.deepEqual(old.all((e) => e.event === 'auth_failed').map((e) => e.condition), ['not-authorized']);
    });

    it('refuses to register a name that is taken', async () => {
      await hub.addUser('taken', PASSWORD);
      const squatter = slix(hub, { username: 'taken', password: 'mine now', register: true, mechanism: 'PLAIN' });
      const outcome = await squatter.waitFor('the registration', (e) => e.event === 'registered' || e.event === 'register_failed');
      assert.equal(outcome.event, 'register_failed');
      assert.equal(outcome.condition, 'conflict');
      await squatter.ended();
      assert.equal(squatter.all((e) => e.event === 'online').length, 0);
    });
  });
});
