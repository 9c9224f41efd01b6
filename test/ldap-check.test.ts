// `switchboard check` with LDAP hosts, run as operators run it (the built CLI in a child
// process): what logins work with, whether the directory answers, whether each base has users.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ldapSectionYaml, PEOPLE_DN, Slapd } from './support/slapd.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('switchboard check with LDAP', function () {
  this.timeout(30_000);
  let slapd: Slapd;
  let dir: string;

  before(async () => {
    slapd = await Slapd.create();
    dir = mkdtempSync(join(tmpdir(), 'switchboard-check-'));
  });
  after(async () => {
    await slapd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function check(hosts: string): Promise<{ code: number; stdout: string }> {
    const file = join(dir, 'switchboard.yaml');
    writeFileSync(file, `log: { level: info, format: json }
data_dir: ${JSON.stringify(join(dir, 'data'))}
c2s: { interfaces: ["127.0.0.1"], port: 0, direct_tls_port: 0 }
http: { interfaces: ["127.0.0.1"], port: 0, tls_port: 0 }
${ldapSectionYaml(slapd)}hosts:
${hosts}`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, 'check', '--config', file], { env, timeout: 20_000 }, (err, stdout) => {
        resolve({ code: err ? Number(err.code) : 0, stdout });
      });
    });
  }

  const ldapHost = (domain: string, base: string) => `  - domain: ${domain}\n    directory: ldap\n    ldap: { base: "${base}" }\n`;

  it('says PLAIN is the mechanism with LDAP binds, and that the directory answers', async () => {
    const { code, stdout } = await check(ldapHost('localhost', PEOPLE_DN) + '  - domain: other.localhost\n');
    assert.equal(code, 0, stdout);
    assert.match(stdout, /ok {5}localhost: LDAP users \(ou=people,dc=example,dc=org\); SASL PLAIN only \(over TLS\), since the directory checks passwords by bind: SCRAM is not offered/);
    assert.match(stdout, /ok {5}other\.localhost: internal accounts; SASL SCRAM-SHA-256/);
    assert.match(stdout, /ok {5}LDAP ldap:\/\/127\.0\.0\.1:\d+ answers; the service account cn=switchboard,ou=services,dc=example,dc=org binds/);
    assert.match(stdout, /ok {5}localhost: ou=people,dc=example,dc=org has users/);
  });

  it('reports a base DN that does not exist', async () => {
    const { code, stdout } = await check(ldapHost('localhost', 'ou=nowhere,dc=example,dc=org'));
    assert.equal(code, 1, stdout);
    assert.match(stdout, /ERROR {2}localhost: ou=nowhere,dc=example,dc=org: no such entry/);
  });

  it('reports a directory that does not answer', async () => {
    await slapd.stop();
    try {
      const { code, stdout } = await check(ldapHost('localhost', PEOPLE_DN));
      assert.equal(code, 1, stdout);
      assert.match(stdout, /ERROR {2}the LDAP directory does not answer: no LDAP server answered \(ldap:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
      assert.match(stdout, /temporary-auth-failure/);
    } finally {
      await slapd.start();
    }
  });
});
