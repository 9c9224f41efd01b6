// The switchboard command, run as operators run it: the built CLI in a child process, against a
// temporary configuration and data directory.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type TestClient } from './support/client.js';
import { testConfigYaml, type TestHub } from './support/hub.js';
import type { Element } from '../src/xmpp/xml.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(root, 'dist/src/cli/main.js');

const CONFIG = testConfigYaml('info');
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without SWITCHBOARD_ variables, which would override the test configuration. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));
}

function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { cwd: root, env: cleanEnv() });
}

function run(args: string[], input?: string): Promise<Result> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

interface RunningHub {
  child: ChildProcess;
  /** Enough of a TestHub for `connect`. */
  target: TestHub;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Starts `switchboard start` and waits until its admin socket listens. */
function startHub(config: string): Promise<RunningHub> {
  const child = spawnCli(['start', '--config', config]);
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg !== 'admin socket listening') continue;
        const port = (msg: string) => logs.find((l) => l.msg === msg)!.port as number;
        const target = { domain: 'localhost', port: port('c2s listening'), directTlsPort: port('c2s direct TLS listening') };
        resolve({ child, target: target as TestHub, logs, exited });
      }
    });
    void exited.then((code) => reject(new Error(`the hub exited (${code}) before it was ready: ${stderr}`)));
  });
}

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
    if (hub && hub.child.exitCode === null) {
      hub.child.kill('SIGKILL');
      await hub.exited;
    }
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
      hub.child.kill('SIGKILL');
      await hub.exited;
      const socket = join(dir, 'data', 'switchboard.sock');
      assert.ok(existsSync(socket));
      assert.equal((await cli('user', 'add', 'alice@localhost', '--password', 'wonderland')).code, 0);
      assert.equal(existsSync(socket), false);
      hub = await startHub(config);
      assert.equal((await cli('user', 'list')).stdout, 'alice@localhost\n');
    });
  });
});
