import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ensureCertificates } from '../src/config/certs.js';
import { renderOptionsTable, spliceOptionsTable } from '../src/config/doc-table.js';
import { checkCertificateFiles, ConfigError, loadConfig } from '../src/config/load.js';
import { options, type Config, type OptionDecl } from '../src/config/schema.js';
import { createLogger } from '../src/core/log.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Loads `text` as if it were the file `<dir>/switchboard.yaml`. */
function load(text: string, env: NodeJS.ProcessEnv = {}, dir = '/srv/sb') {
  return loadConfig({ text, env, file: join(dir, 'switchboard.yaml') });
}

function loadError(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    load(text, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', format: 'json' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('config', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('loadConfig', () => {
    it('applies every default', () => {
      const expected: Config = {
        data_dir: '/srv/sb/data',
        log: { level: 'info', format: 'pretty' },
        storage: { type: 'sqlite', path: '/srv/sb/data/switchboard.sqlite' },
        c2s: {
          interfaces: ['0.0.0.0', '::'],
          port: 5222,
          direct_tls_port: 5223,
          max_stanza_size: 262144,
          max_depth: 64,
          ping_interval: 300,
          ping_timeout: 60,
          rate: { stanzas_per_second: 100, burst: 300 },
          max_sessions_per_user: 10,
        },
        http: {
          interfaces: ['0.0.0.0', '::'],
          port: 5280,
          tls_port: 5443,
          trusted_proxies: [],
          cors_origins: ['*'],
          max_sessions_per_address: 100,
          bosh: { max_wait: 60, max_hold: 1, max_inactivity: 60, max_pause: 120, polling: 2, max_body_size: 524288 },
          websocket: { see_other_uri: '' },
          web_client: { enabled: true, title: 'Switchboard chat' },
          sso: { token_ttl: 120 },
        },
        auth: {
          scram_iterations: 4096,
          allow_plain_without_tls: false,
          throttle: { max_failures: 5, window_seconds: 300, lock_seconds: 60 },
        },
        admin: { socket: '/srv/sb/data/switchboard.sock' },
        queue: 'embedded',
        hosts: [
          {
            domain: 'localhost',
            require_encryption: 'required',
            registration: false,
            password_change: true,
            legacy_auth: false,
            offline_quota: 1000,
            vcard_max_size: 262144,
            admins: [],
            shared_groups: [],
            directory: 'internal',
            search: { enabled: false, limit: 30 },
            notifications: { offline: 'email', delay: 120, digest_window: 900, mail_arrival: 'all' },
            mail: { sender_suffix: 'via IM', reply_by_email: true, archive_addresses: [], archive_interval: 900, timezone: 'UTC', snippet_length: 160 },
            sms: {
              send_allowed: 'all', user_rate: 10, user_daily_cap: 100, domain_daily_cap: 10000, notification_daily_cap: 10,
              allow_prefixes: [], deny_prefixes: [], presence_status: 'SMS', numbers: [], keywords: [], reply_window: 604800,
              help_text: 'This number forwards replies to chat users. Your message could not be delivered: nobody wrote to you from here recently.',
            },
          },
        ],
      };
      assert.deepEqual(load('').config, expected);
      assert.deepEqual(load('# only a comment\nlog:\n').config, expected, 'an empty section means defaults');
    });

    it('fills host defaults and keeps explicit values', () => {
      const { config } = load('hosts:\n  - domain: Example.ORG\n    registration: true\n  - domain: b.example\n');
      assert.deepEqual(
        config.hosts.map((h) => [h.domain, h.registration, h.offline_quota]),
        [
          ['example.org', true, 1000],
          ['b.example', false, 1000],
        ],
      );
    });

    it('reports an unknown key with file, line, column, path and a close match', () => {
      const message = loadError('c2s:\n  port: 5222\n  prot: 5333\n');
      assert.equal(message, '/srv/sb/switchboard.yaml:3:3: c2s.prot: unknown key "prot" (did you mean "port"?)');
    });

    it('suggests where a misplaced key belongs', () => {
      assert.match(loadError('domain: example.org\n'), /:1:1: domain: unknown key "domain" \(did you mean hosts\[\]\.domain\?\)$/);
      assert.match(loadError('hosts:\n  - domain: a.example\n    foo: 1\n'), /:3:5: hosts\[0\]\.foo: unknown key "foo"$/);
    });

    it('reports a wrong type', () => {
      assert.equal(
        loadError('c2s:\n  port: "5222"\n'),
        '/srv/sb/switchboard.yaml:2:9: c2s.port: expected integer, got string "5222"',
      );
      assert.match(loadError('c2s:\n  max_depth: 1.5\n'), /c2s\.max_depth: expected integer, got number 1\.5$/);
      assert.match(loadError('hosts:\n  - domain: a.example\n    registration: yes\n'), /:3:19: .*expected boolean, got string "yes"/);
    });

    it('reports a value outside the allowed ones', () => {
      assert.equal(
        loadError('hosts:\n  - domain: a.example\n    require_encryption: maybe\n'),
        '/srv/sb/switchboard.yaml:3:25: hosts[0].require_encryption: "maybe" is not one of the allowed values ' +
          '"disabled", "optional", "required"',
      );
      assert.match(loadError('c2s:\n  port: 70000\n'), /:2:9: c2s\.port: must be <= 65535, got 70000$/);
      assert.match(loadError('hosts: []\n'), /:1:8: hosts: must have at least 1 entry$/);
      assert.match(loadError('hosts:\n  - registration: true\n'), /:2:5: hosts\[0\]\.domain: missing required key "domain"$/);
      assert.match(loadError('hosts:\n  - domain: a.example\n    admins: [bob]\n'), /hosts\[0\]\.admins\[0\]: "bob" is not a bare JID/);
    });

    it('reports every problem, in file order', () => {
      const lines = loadError('log:\n  level: loud\nc2s:\n  port: x\nfoo: 1\n').split('\n');
      assert.deepEqual(
        lines.map((l) => l.split(': ')[0]),
        ['/srv/sb/switchboard.yaml:2:10', '/srv/sb/switchboard.yaml:4:9', '/srv/sb/switchboard.yaml:5:1'],
      );
    });

    it('reports YAML syntax errors and duplicate domains with their position', () => {
      assert.match(loadError('c2s:\n  port: [5222\n'), /^\/srv\/sb\/switchboard\.yaml:\d+:\d+: invalid YAML: /);
      assert.match(loadError('- a\n'), /:1:1: the configuration must be a mapping of options, got list/);
      assert.match(
        loadError('hosts:\n  - domain: a.example\n  - domain: A.example\n'),
        /:3:13: hosts\[1\]\.domain: "a\.example" is already declared as hosts\[0\]$/,
      );
    });

    it('fails on a missing config file given explicitly', () => {
      const file = join(tmp, 'nope.yaml');
      assert.throws(
        () => loadConfig({ file, env: {} }),
        (err) => err instanceof ConfigError && err.message === `${file}: cannot read configuration file: no such file`,
      );
    });

    it('resolves relative paths against the config file directory', () => {
      const file = join(tmp, 'switchboard.yaml');
      writeFileSync(file, 'data_dir: state\nhosts:\n  - domain: a.example\n    certificate: {cert: tls/a.crt, key: /abs/a.key}\n');
      const { config } = loadConfig({ file, env: {} });
      assert.equal(config.data_dir, join(tmp, 'state'));
      assert.equal(config.storage.path, join(tmp, 'state', 'switchboard.sqlite'));
      assert.equal(config.admin.socket, join(tmp, 'state', 'switchboard.sock'));
      assert.deepEqual(config.hosts[0].certificate, { cert: join(tmp, 'tls', 'a.crt'), key: '/abs/a.key' });
      assert.equal(loadConfig({ text: 'storage: {path: db.sqlite}', env: {} }).config.storage.path, resolve('db.sqlite'));
    });

    it('locates options', () => {
      const loaded = load('c2s:\n  port: 1\nhosts:\n  - domain: a.example\n', { SWITCHBOARD_LOG__LEVEL: 'debug' });
      assert.equal(loaded.locate('c2s.port'), '/srv/sb/switchboard.yaml:2:9');
      assert.equal(loaded.locate('hosts[0].domain'), '/srv/sb/switchboard.yaml:4:13');
      assert.equal(loaded.locate('log.level'), 'environment variable SWITCHBOARD_LOG__LEVEL');
    });
  });

  describe('environment overrides', () => {
    it('sets numbers, booleans, null, nested keys, lists and list entries', () => {
      const { config } = load('hosts:\n  - domain: a.example\n', {
        SWITCHBOARD_C2S__PORT: '5333',
        SWITCHBOARD_C2S__DIRECT_TLS_PORT: 'null',
        SWITCHBOARD_C2S__INTERFACES: '["127.0.0.1", "::1"]',
        SWITCHBOARD_LOG__LEVEL: 'debug',
        SWITCHBOARD_AUTH__THROTTLE__MAX_FAILURES: '3',
        SWITCHBOARD_HOSTS__0__REGISTRATION: 'true',
        SWITCHBOARD_HOSTS__1__DOMAIN: 'b.example',
        SWITCHBOARD_DATA_DIR: 'var',
        HOME: '/root',
      });
      assert.equal(config.c2s.port, 5333);
      assert.equal(config.c2s.direct_tls_port, null);
      assert.deepEqual(config.c2s.interfaces, ['127.0.0.1', '::1']);
      assert.equal(config.log.level, 'debug');
      assert.equal(config.auth.throttle.max_failures, 3);
      assert.equal(config.data_dir, '/srv/sb/var');
      assert.deepEqual(
        config.hosts.map((h) => [h.domain, h.registration]),
        [
          ['a.example', true],
          ['b.example', false],
        ],
      );
    });

    it('applies on top of defaults', () => {
      const { config } = load('', { SWITCHBOARD_HOSTS__0__DOMAIN: 'example.org' });
      assert.deepEqual(config.hosts.map((h) => h.domain), ['example.org']);
      assert.equal(load('', { SWITCHBOARD_HOSTS__0__ADMINS: '[a@localhost]' }).config.hosts[0].domain, 'localhost');
    });

    it('rejects unknown keys, bad indexes and bad values naming the variable', () => {
      assert.equal(
        loadError('', { SWITCHBOARD_C2S__PROT: '1' }),
        'environment variable SWITCHBOARD_C2S__PROT: c2s.prot: unknown key "prot" (did you mean "port"?)',
      );
      assert.match(loadError('', { SWITCHBOARD_FOO: '1' }), /^environment variable SWITCHBOARD_FOO: foo: unknown key "foo"$/);
      assert.match(loadError('', { SWITCHBOARD_C2S__PORT__X: '1' }), /SWITCHBOARD_C2S__PORT__X: c2s\.port\.x: c2s\.port has no sub-options/);
      assert.match(loadError('', { SWITCHBOARD_HOSTS__3__DOMAIN: 'x.example' }), /SWITCHBOARD_HOSTS__3__DOMAIN: hosts\[3\] is out of range/);
      assert.equal(
        loadError('c2s:\n  port: 1\n', { SWITCHBOARD_C2S__PORT: 'abc' }),
        'environment variable SWITCHBOARD_C2S__PORT: c2s.port: expected integer, got string "abc"',
      );
    });
  });

  describe('certificates', () => {
    it('checkCertificateFiles names the key, file and line of a missing file', () => {
      const file = join(tmp, 'switchboard.yaml');
      writeFileSync(file, 'hosts:\n  - domain: a.example\n    certificate:\n      cert: a.crt\n      key: a.key\n');
      writeFileSync(join(tmp, 'a.crt'), 'x');
      const loaded = loadConfig({ file, env: {} });
      assert.throws(
        () => checkCertificateFiles(loaded),
        (err) =>
          err instanceof ConfigError &&
          err.message === `${file}:5:12: hosts[0].certificate.key: cannot read ${join(tmp, 'a.key')}: no such file`,
      );
    });

    it('generates a self-signed certificate for the domain and reuses it', async () => {
      const loaded = load(`data_dir: ${tmp}\nhosts:\n  - domain: example.test\n`);
      const { log, lines } = capturingLogger();
      const first = (await ensureCertificates(loaded, log)).get('example.test');
      assert.ok(first?.selfSigned);
      const x509 = new X509Certificate(first.cert);
      assert.equal(x509.subjectAltName, 'DNS:example.test, DNS:*.example.test');
      assert.ok(Date.parse(x509.validTo) > Date.now() + 9 * 365 * 24 * 3600 * 1000);
      assert.equal(statSync(join(tmp, 'certs', 'example.test.key')).mode & 0o777, 0o600);
      assert.ok(lines.some((l) => l.level === 40 && /self-signed.*untrusted/.test(String(l.msg))));

      const second = (await ensureCertificates(loaded, capturingLogger().log)).get('example.test');
      assert.deepEqual(second, first);
    });

    it('reads configured certificates and checks that the key matches', async () => {
      const generated = load(`data_dir: ${tmp}\nhosts:\n  - domain: a.example\n  - domain: b.example\n`);
      await ensureCertificates(generated, capturingLogger().log);

      const certs = join(tmp, 'certs');
      const configured = load(`hosts:\n  - domain: a.example\n    certificate: {cert: a.example.crt, key: a.example.key}\n`, {}, certs);
      const cert = (await ensureCertificates(configured, capturingLogger().log)).get('a.example');
      assert.equal(cert?.selfSigned, false);
      assert.equal(cert.cert, readFileSync(join(certs, 'a.example.crt'), 'utf8'));

      const mismatched = load(`hosts:\n  - domain: a.example\n    certificate: {cert: a.example.crt, key: b.example.key}\n`, {}, certs);
      await assert.rejects(ensureCertificates(mismatched, capturingLogger().log), (err) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /switchboard\.yaml:3:\d+: hosts\[0\]\.certificate\.key: .*b\.example\.key does not belong to the certificate/);
        return true;
      });
    });

    it('regenerates an unusable self-signed certificate', async () => {
      mkdirSync(join(tmp, 'certs'));
      writeFileSync(join(tmp, 'certs', 'example.test.crt'), 'garbage');
      writeFileSync(join(tmp, 'certs', 'example.test.key'), 'garbage');
      chmodSync(join(tmp, 'certs', 'example.test.key'), 0o600);
      const loaded = load(`data_dir: ${tmp}\nhosts:\n  - domain: example.test\n`);
      const cert = (await ensureCertificates(loaded, capturingLogger().log)).get('example.test');
      assert.match(new X509Certificate(cert!.cert).subjectAltName ?? '', /DNS:example\.test/);
    });
  });

  describe('shipped files', () => {
    const exampleFile = join(root, 'config', 'switchboard.example.yaml');

    it('the example config loads and equals the defaults', () => {
      const file = exampleFile;
      assert.deepEqual(loadConfig({ file, env: {} }).config, loadConfig({ file, text: '', env: {} }).config);
    });

    it('the example config shows every option', () => {
      const example = readFileSync(exampleFile, 'utf8');
      const parsed: unknown = parse(example);
      const missing = leafPaths(options, []).filter((path) => {
        const value = path.reduce<unknown>((v, seg) => (v as Record<string, unknown> | undefined)?.[seg], parsed);
        return value === undefined && !new RegExp(`^\\s*#\\s*${path.at(-1)}:`, 'm').test(example);
      });
      assert.deepEqual(missing, []);
    });

    it('the default config loads', () => {
      const { config } = loadConfig({ file: join(root, 'config', 'switchboard.yaml'), env: {} });
      assert.deepEqual(config.hosts.map((h) => [h.domain, h.require_encryption]), [['localhost', 'optional']]);
    });

    it('docs/configuration.md contains the current options table', () => {
      const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
      assert.ok(doc.includes(renderOptionsTable()));
      assert.equal(spliceOptionsTable(doc), doc, 'run: node dist/src/config/doc-table.js docs/configuration.md');
    });
  });
});

describe('createLogger', () => {
  it('redacts secrets', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json' }, { write: (s: string) => lines.push(s) });
    log.info({ password: 'p', user: { credentials: 'c' }, stanza: { sasl: 's' }, jid: 'a@b' }, 'login');
    log.debug('hidden');
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]);
    assert.equal(entry.password, '[redacted]');
    assert.deepEqual(entry.user, { credentials: '[redacted]' });
    assert.deepEqual(entry.stanza, { sasl: '[redacted]' });
    assert.equal(entry.jid, 'a@b');
    assert.equal(entry.pid, undefined);
  });
});

/** Option paths to leaves, with list entries as index 0. */
function leafPaths(decl: OptionDecl, path: (string | number)[]): (string | number)[][] {
  if (decl.type === 'object') {
    return Object.entries(decl.properties).flatMap(([key, sub]) => leafPaths(sub, [...path, key]));
  }
  if (decl.type === 'array' && decl.items.type === 'object') return leafPaths(decl.items, [...path, 0]);
  return [path];
}
