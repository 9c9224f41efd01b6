// The switchboard command, run as operators run it: the built CLI in a child process, against a
// temporary configuration and data directory.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TestClient } from './support/client.js';
import { testConfigYaml } from './support/hub.js';
import { killHub, runCli as run, startProcessHub as startHub, type RunningHub } from './support/process-hub.js';
import type { Element } from '../src/xmpp/xml.js';

const CONFIG = testConfigYaml('info');

function isStreamError(el: Element, condition: string): boolean {
  return el.is('error', 'http://etherx.jabber.org/streams') && el.getChild(condition) !== undefined;
}

/** Resolves with the stream error the server sends the client. */
function streamError(client: TestClient, condition: string): Promise<Element> {
  return new Promise((resolve) => {
    client.xmpp.on('nonza', (el: never) => {
      if (isStreamError(el as Element, condition)) resolve(el);
    });
  });
}

describe('switchboard CLI', function () {
  this.timeout(30_000);
  let dir: string;
  let config: string;
  let hub: RunningHub | undefined;
  const clients: TestClient[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    config = join(dir, 'switchboard.yaml');
    writeFileSync(config, `${CONFIG}data_dir: ${JSON.stringify(join(dir, 'data'))}\n`);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    if (hub) await killHub(hub);
    hub = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => run([...args, '--config', config]);

  describe('command line', () => {
    it('prints the usage and exits 2 on an unknown command', async () => {
      const { code, stderr } = await run(['frobnicate']);
      assert.equal(code, 2);
      assert.match(stderr, /^switchboard: unknown command "frobnicate"/);
      assert.match(stderr, /Usage: switchboard <command>/);
      assert.match(stderr, /user add <jid>/);
    });

    it('shows help for everything and for one command', async () => {
      const all = await run(['--help']);
      assert.equal(all.code, 0);
      for (const command of ['start', 'check', 'user add', 'user delete', 'user passwd', 'user list', 'roster list', 'roster add', 'status']) {
        assert.ok(all.stdout.includes(`  ${command}`), command);
      }
      const one = await run(['roster', 'add', '--help']);
      assert.equal(one.code, 0);
      assert.match(one.stdout, /^Usage: switchboard roster add <jid> <contact-jid> \[--name N\] \[--group G\]\.\.\./);
      assert.deepEqual(await run(['help', 'roster', 'add']), one);
    });

    it('refuses unknown options and missing arguments with exit 2', async () => {
      const option = await cli('user', 'list', '--frob');
      assert.equal(option.code, 2);
      assert.match(option.stderr, /^switchboard: unknown option --frob\n/);
      const missing = await cli('user', 'add');
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^switchboard: missing argument <jid>\n/);
    });
  });

  describe('with the hub stopped', () => {
    it('adds, lists, changes and deletes users in the database', async () => {
      assert.deepEqual(await cli('user', 'add', 'alice@localhost', '--password', 'wonderland'),
        { code: 0, stdout: 'created alice@localhost\n', stderr: '' });
      const fromStdin = await run(['user', 'add', 'Bob@LocalHost', '--config', config], 'builder\nignored\n');
      assert.equal(fromStdin.stdout, 'created bob@localhost\n');
      assert.equal((await cli('user', 'list')).stdout, 'alice@localhost\nbob@localhost\n');
      assert.equal((await cli('user', 'list', 'localhost')).stdout, 'alice@localhost\nbob@localhost\n');

      const again = await cli('user', 'add', 'alice@localhost', '--password', 'x');
      assert.deepEqual([again.code, again.stderr], [1, 'switchboard: alice@localhost already exists\n']);
      const badJid = await cli('user', 'add', 'alice@@localhost', '--password', 'x');
      assert.equal(badJid.code, 1);
      assert.match(badJid.stderr, /^switchboard: invalid JID "alice@@localhost": [^\n]+\n$/);
      const otherHost = await cli('user', 'add', 'alice@example.org', '--password', 'x');
      assert.equal(otherHost.stderr, 'switchboard: example.org is not a host of this server (hosts: localhost)\n');

      assert.equal((await cli('user', 'passwd', 'alice@localhost', '--password', 'looking-glass')).code, 0);
      assert.equal((await cli('user', 'delete', 'bob@localhost')).stdout, 'deleted bob@localhost\n');
      assert.equal((await cli('user', 'list')).stdout, 'alice@localhost\n');
      const gone = await cli('user', 'delete', 'bob@localhost');
      assert.deepEqual([gone.code, gone.stderr], [1, 'switchboard: no such user bob@localhost\n']);
    });

    it('adds and lists roster items', async () => {
      await cli('user', 'add', 'alice@localhost', '--password', 'wonderland');
      const added = await cli('roster', 'add', 'alice@localhost', 'bob@example.org', '--name', 'Bob',
        '--group', 'Friends', '--group', 'Work', '--subscription', 'both');
      assert.equal(added.stdout, 'added bob@example.org to the roster of alice@localhost (subscription: both)\n');
      const { stdout } = await cli('roster', 'list', 'alice@localhost');
      assert.match(stdout, /^CONTACT\s+SUBSCRIPTION\s+NAME\s+GROUPS\nbob@example\.org\s+both\s+Bob\s+Friends, Work\n$/);
      const bad = await cli('roster', 'add', 'alice@localhost', 'carol@localhost', '--subscription', 'maybe');
      assert.equal(bad.code, 2);
      const noUser = await cli('roster', 'list', 'nobody@localhost');
      assert.deepEqual([noUser.code, noUser.stderr], [1, 'switchboard: no such user nobody@localhost\n']);
    });

    it('status says the hub is not running and exits 1', async () => {
      const { code, stdout } = await cli('status');
      assert.equal(code, 1);
      assert.match(stdout, /^Switchboard is not running/);
    });
  });

  describe('check', () => {
    it('passes a good configuration (warnings allowed)', async () => {
      const { code, stdout } = await cli('check');
      assert.equal(code, 0, stdout);
      assert.match(stdout, /ok {5}.*switchboard\.yaml is valid/);
      assert.match(stdout, /WARN {3}localhost: no certificate configured; a self-signed one will be generated/);
      assert.match(stdout, /ok {5}127\.0\.0\.1:any \(STARTTLS\) can be bound/);
      assert.match(stdout, /\n0 errors, \d+ warnings?\n$/);
    });

    it('fails on an unknown key, naming it and its line', async () => {
      writeFileSync(config, `${CONFIG}data_dir: ${JSON.stringify(join(dir, 'data'))}\nc2s_port: 5222\n`);
      const { code, stdout } = await cli('check');
      assert.equal(code, 1);
      assert.match(stdout, /ERROR {2}\S+switchboard\.yaml:16:1: c2s_port: unknown key "c2s_port"/);
      assert.match(stdout, /\n1 error, 0 warnings\n$/);
    });

    it('reports missing SRV records as warnings, quickly, without DNS', async () => {
      writeFileSync(config, CONFIG.replace('domain: localhost', 'domain: example.org') + `data_dir: ${JSON.stringify(join(dir, 'data'))}\n`);
      const started = Date.now();
      const { code, stdout } = await cli('check');
      assert.equal(code, 0, stdout);
      assert.ok(Date.now() - started < 10_000);
      assert.match(stdout, /WARN {3}_xmpp-client\._tcp\.example\.org: (no SRV record|DNS lookup failed)/);
      assert.match(stdout, /WARN {3}_xmpps-client\._tcp\.example\.org: (no SRV record|DNS lookup failed)/);
    });
  });

  describe('start', () => {
    it('exits 1 with the message of a configuration error, without a stack trace', async () => {
      writeFileSync(config, `${CONFIG}c2s_port: 5222\n`);
      const { code, stdout, stderr } = await cli('start');
      assert.equal(code, 1);
      assert.equal(stdout, '');
      assert.match(stderr, /^\S+switchboard\.yaml:15:1: c2s_port: unknown key "c2s_port"\n$/);
    });

    it('serves clients, answers admin commands, shuts down cleanly and keeps its data', async () => {
      hub = await startHub(config);
      const socket = join(dir, 'data', 'switchboard.sock');
      assert.equal(statSync(socket).mode & 0o777, 0o600);
      assert.equal((await cli('start')).code, 1, 'a second hub refuses to start');

      // Through the admin socket: the hub logs the command.
      assert.equal((await cli('user', 'add', 'alice@localhost', '--password', 'wonderland')).stdout, 'created alice@localhost\n');
      assert.ok(hub.logs.some((l) => l.msg === 'admin command' && l.cmd === 'user.add'));

      const alice = await connect(hub.target, { username: 'alice', password: 'wonderland', resource: 'laptop' });
      clients.push(alice);
      const status = await cli('status');
      assert.equal(status.code, 0);
      assert.match(status.stdout, /^Switchboard is running: 1 session online\n {2}localhost: 1\n/);
      assert.match(status.stdout, /\nalice@localhost\/laptop\s+127\.0\.0\.1\s+tcp\s+yes\s+\d{4}-\d\d-\d\dT[\d:]+Z\n/);
      assert.match(status.stdout, new RegExp(`127\\.0\\.0\\.1:${hub.target.port} \\(STARTTLS\\)`));
      assert.match(status.stdout, /127\.0\.0\.1:\d+ \(HTTP\), 127\.0\.0\.1:\d+ \(HTTPS\)/);

      const roster = await cli('roster', 'add', 'alice@localhost', 'bob@localhost', '--name', 'Bob', '--group', 'Team');
      assert.equal(roster.code, 0, roster.stderr);
      assert.match((await cli('roster', 'list', 'alice@localhost')).stdout, /\nbob@localhost\s+none\s+Bob\s+Team\n/);

      const shutdown = streamError(alice, 'system-shutdown');
      hub.child.kill('SIGTERM');
      await shutdown;
      assert.equal(await hub.exited, 0);
      assert.ok(hub.logs.some((l) => l.msg === 'Switchboard stopped'));
      assert.equal(existsSync(socket), false, 'the socket file is removed');

      // Restart: the account and its roster survived.
      hub = await startHub(config);
      const again = await connect(hub.target, { username: 'alice', password: 'wonderland' });
      clients.push(again);
      assert.match((await cli('roster', 'list', 'alice@localhost')).stdout, /\nbob@localhost\s+none\s+Bob\s+Team\n/);
      hub.child.kill('SIGINT');
      assert.equal(await hub.exited, 0);
    });

    it('closes the sessions of a user deleted while the hub runs', async () => {
      hub = await startHub(config);
      await cli('user', 'add', 'alice@localhost', '--password', 'wonderland');
      const alice = await connect(hub.target, { username: 'alice', password: 'wonderland' });
      clients.push(alice);
      const closed = streamError(alice, 'not-authorized');
      assert.equal((await cli('user', 'delete', 'alice@localhost')).stdout, 'deleted alice@localhost (closed 1 session)\n');
      await closed;
      assert.equal((await cli('user', 'list')).stdout, '');
    });

    it('works without the hub after it was killed, removing the stale socket', async () => {
      hub = await startHub(config);
      await killHub(hub);
      const socket = join(dir, 'data', 'switchboard.sock');
      assert.ok(existsSync(socket));
      assert.equal((await cli('user', 'add', 'alice@localhost', '--password', 'wonderland')).code, 0);
      assert.equal(existsSync(socket), false);
      hub = await startHub(config);
      assert.equal((await cli('user', 'list')).stdout, 'alice@localhost\n');
    });
  });
});

describe('switchboard CLI: notification settings and the delivery queue', function () {
  this.timeout(30_000);
  let dir: string;
  let config: string;
  let hub: RunningHub | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    config = join(dir, 'switchboard.yaml');
    writeFileSync(config, `${CONFIG}data_dir: ${JSON.stringify(join(dir, 'data'))}\n`);
  });

  afterEach(async () => {
    if (hub) await killHub(hub);
    hub = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => run([...args, '--config', config]);

  /** Dead letters `ids` for the destination "smtp", made with the embedded queue the stopped hub's CLI opens. */
  async function seedDeadLetters(...ids: string[]): Promise<void> {
    const { EmbeddedQueue } = await import('../src/queue/embedded.js');
    const { PermanentFailure } = await import('../src/queue/port.js');
    const { createLogger } = await import('../src/core/log.js');
    const queue = new EmbeddedQueue({ path: join(dir, 'data', 'queue.sqlite'), log: createLogger({ level: 'error', format: 'json' }, { write: () => {} }) });
    try {
      for (const id of ids) await queue.add('smtp', id, { to: `${id}@example.org` });
      queue.process('smtp', async () => {
        throw new PermanentFailure('550 5.1.1 no such\nmailbox');
      }, { concurrency: 1, ratePerSecond: 0, attempts: 1, backoff: { initialMs: 10, maxMs: 10 } });
      while ((await queue.deadLetters('smtp')).length < ids.length) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      await queue.close();
    }
  }

  it('shows and changes notification settings with the hub stopped', async () => {
    await cli('user', 'add', 'alice@localhost', '--password', 'wonderland');
    assert.deepEqual(await cli('notify', 'show', 'alice@localhost'), {
      code: 0,
      stdout: 'notification settings of alice@localhost\n' +
        '  offline:       email (host default)\n' +
        "  email:         none (the directory's address only)\n" +
        "  mobile:        none (the directory's number only)\n" +
        '  mail arrival:  all (host default)\n' +
        '  mail senders:  none\n',
      stderr: '',
    });

    const set = await cli('notify', 'set', 'alice@localhost', '--offline', 'sms', '--email', 'alice@example.org', '--mobile', '+40 723 555 666',
      '--mail-arrival', 'listed', '--mail-sender', 'boss@example.org', '--mail-sender', '@example.com');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'notification settings of alice@localhost\n' +
      '  offline:       sms\n' +
      '  email:         alice@example.org\n' +
      '  mobile:        +40 723 555 666\n' +
      '  mail arrival:  listed\n' +
      '  mail senders:  boss@example.org, @example.com\n');
    assert.equal((await cli('notify', 'show', 'alice@localhost')).stdout, set.stdout);

    const onlyEmail = await cli('notify', 'set', 'alice@localhost', '--email', '');
    assert.match(onlyEmail.stdout, /offline: {7}sms\n {2}email: {9}none/);

    const badEmail = await cli('notify', 'set', 'alice@localhost', '--email', 'alice');
    assert.deepEqual([badEmail.code, badEmail.stderr], [1, 'switchboard: "alice" is not a mail address\n']);
    const badMobile = await cli('notify', 'set', 'alice@localhost', '--mobile', 'call me');
    assert.deepEqual([badMobile.code, badMobile.stderr], [1, 'switchboard: "call me" is not a phone number\n']);
    const badSender = await cli('notify', 'set', 'alice@localhost', '--mail-sender', '@');
    assert.deepEqual([badSender.code, badSender.stderr], [1, 'switchboard: "@" is not a mail address or @domain\n']);
    const badChannel = await cli('notify', 'set', 'alice@localhost', '--offline', 'pigeon');
    assert.equal(badChannel.code, 2);
    assert.match(badChannel.stderr, /^switchboard: --offline must be one of none, email, sms, both, not "pigeon"\n/);
    assert.equal((await cli('notify', 'set', 'alice@localhost')).code, 2, 'nothing to set');
    const nobody = await cli('notify', 'show', 'nobody@localhost');
    assert.deepEqual([nobody.code, nobody.stderr], [1, 'switchboard: no such user nobody@localhost\n']);

    const reset = await cli('notify', 'reset', 'alice@localhost');
    assert.match(reset.stdout, /offline: {7}email \(host default\)\n/);
    assert.match(reset.stdout, /mail senders: {2}none\n$/);
  });

  it('changes notification settings through the running hub', async () => {
    hub = await startHub(config);
    await cli('user', 'add', 'alice@localhost', '--password', 'wonderland');
    const set = await cli('notify', 'set', 'alice@localhost', '--mail-arrival', 'contacts');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /mail arrival: {2}contacts\n/);
    assert.ok(hub.logs.some((l) => l.msg === 'admin command' && l.cmd === 'notify.set'));
    assert.match((await cli('notify', 'show', 'alice@localhost')).stdout, /mail arrival: {2}contacts\n/);
    const status = await cli('queue');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^delivery queue: embedded\n/);
  });

  it('shows the queue and retries and discards its dead letters with the hub stopped', async () => {
    assert.deepEqual(await cli('queue'), { code: 0, stdout: 'delivery queue: embedded\nno destinations\n', stderr: '' });
    await seedDeadLetters('job-1', 'job-2');

    const status = await cli('queue');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^delivery queue: embedded\nDESTINATION\s+WAITING\s+DELAYED\s+ACTIVE\s+DEAD\s+OLDEST\s+FAILURES\nsmtp\s+0\s+0\s+0\s+2\s+-\s+0\n$/);

    const dead = await cli('queue', 'dead');
    assert.equal(dead.code, 0, dead.stderr);
    assert.match(dead.stdout, /^DESTINATION\s+ID\s+ATTEMPTS\s+FAILED AT\s+ERROR\n/);
    assert.match(dead.stdout, /\nsmtp\s+job-1\s+1\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+550 5\.1\.1 no such mailbox\n/);
    assert.match(dead.stdout, /\nsmtp\s+job-2\s+1\s+/);
    assert.equal((await cli('queue', 'dead', 'sms')).stdout, 'no dead letters\n');

    assert.deepEqual(await cli('queue', 'retry', 'smtp', 'job-1'), { code: 0, stdout: 'job-1 of smtp is queued again\n', stderr: '' });
    assert.match((await cli('queue')).stdout, /\nsmtp\s+1\s+0\s+0\s+1\s+\d+s\s+0\n$/);
    assert.deepEqual(await cli('queue', 'discard', 'smtp', 'job-2'), { code: 0, stdout: 'discarded job-2 of smtp\n', stderr: '' });
    assert.equal((await cli('queue', 'dead')).stdout, 'no dead letters\n');
    const missing = await cli('queue', 'retry', 'smtp', 'job-2');
    assert.deepEqual([missing.code, missing.stderr], [1, 'switchboard: no dead letter "job-2" for smtp\n']);
  });
});
