// A real OpenLDAP slapd for a test: its own slapd.conf and mdb database in a temporary folder,
// loaded from fixtures/ldap/*.ldif with slapadd, listening on loopback (ldap:// with StartTLS
// and ldaps://, certificates from a test CA), stopped by pid. Data survives stop()/start().
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accepts, freePort } from './ports.js';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
/** Repository folder of the fixture LDIF and schema (this file runs from dist/test/support). */
export const LDAP_FIXTURES = fileURLToPath(new URL('../../../fixtures/ldap/', import.meta.url));

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
/** Base of the second hosted domain (example.net) in the same directory. */
export const NET_PEOPLE_DN = `ou=people,o=example.net,${BASE_DN}`;
export const ROOT_DN = `cn=admin,${BASE_DN}`;
export const ROOT_PASSWORD = 'admin-pw';
export const SERVICE_DN = `cn=switchboard,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'svc-pw';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export interface SlapdOptions {
  /** LDIF text added after the fixture (by slapadd, before the first start). */
  extraLdif?: string;
}

export class Slapd {
  /** ldap://127.0.0.1:port (StartTLS available). */
  readonly url: string;
  /** ldaps://127.0.0.1:port */
  readonly ldapsUrl: string;
  /** PEM file of the CA that signed slapd's certificate (for the hub's `ca_file`). */
  readonly caFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly ldapsPort: number,
  ) {
    this.url = `ldap://127.0.0.1:${port}`;
    this.ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
    this.caFile = join(dir, 'ca.crt');
  }

  /** Creates the directory from the fixture and starts slapd. */
  static async create(options: SlapdOptions = {}): Promise<Slapd> {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-slapd-'));
    const slapd = new Slapd(dir, await freePort(), await freePort());
    try {
      await slapd.configure(options);
      await slapd.start();
    } catch (err) {
      await slapd.destroy();
      throw err;
    }
    return slapd;
  }

  /** Starts slapd on the same ports and data (after stop()). */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(SLAPD, ['-d', '0', '-f', this.confFile, '-h', `${this.url}/ ${this.ldapsUrl}/`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(this.port))) {
      if (!this.child) throw new Error(`slapd exited at start: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`slapd did not listen within ${START_TIMEOUT_MS} ms: ${stderr}`);
      await delay(50);
    }
  }

  /** Stops slapd by pid (SIGTERM, then SIGKILL if it hangs) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** Freezes slapd (SIGSTOP): connections are accepted by the kernel but nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused slapd go on (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops slapd and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Adds the entries of an LDIF text (ldapadd as the root DN). */
  add(ldif: string): Promise<void> {
    return this.ldapTool('ldapadd', [], ldif);
  }

  /** Applies an LDIF change text (ldapmodify as the root DN). */
  modify(ldif: string): Promise<void> {
    return this.ldapTool('ldapmodify', [], ldif);
  }

  /** Deletes one entry. */
  delete(dn: string): Promise<void> {
    return this.ldapTool('ldapdelete', [dn]);
  }

  private get confFile(): string {
    return join(this.dir, 'slapd.conf');
  }

  private async configure(options: SlapdOptions): Promise<void> {
    await mkdir(join(this.dir, 'data'));
    await makeCertificates(this.dir);
    writeFileSync(this.confFile, slapdConf(this.dir));
    const ldif = readFileSync(join(LDAP_FIXTURES, 'example.ldif'), 'utf8') + '\n' + (options.extraLdif ?? '');
    const ldifFile = join(this.dir, 'data.ldif');
    writeFileSync(ldifFile, ldif);
    await run(SLAPADD, ['-q', '-f', this.confFile, '-l', ldifFile]);
  }

  private ldapTool(tool: string, args: string[], input?: string): Promise<void> {
    return run(tool, ['-x', '-H', this.url, '-D', ROOT_DN, '-w', ROOT_PASSWORD, ...args], input);
  }
}

function slapdConf(dir: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include ${join(LDAP_FIXTURES, 'switchboard.schema')}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
TLSCACertificateFile ${join(dir, 'ca.crt')}
TLSCertificateFile ${join(dir, 'server.crt')}
TLSCertificateKeyFile ${join(dir, 'server.key')}

database mdb
maxsize 67108864
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${ROOT_PASSWORD}
directory ${join(dir, 'data')}
index objectClass,uid,mail,cn eq

# The service account reads everything, password hashes included (for the auth mode "hash");
# users read the directory; anonymous clients may only bind.
access to attrs=userPassword,authPassword
  by dn.exact="${SERVICE_DN}" read
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
`;
}

/** A CA and a server certificate for 127.0.0.1 / localhost signed by it. */
async function makeCertificates(dir: string): Promise<void> {
  const at = (name: string) => join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Switchboard test LDAP CA',
    '-keyout', at('ca.key'), '-out', at('ca.crt')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', at('server.key'), '-out', at('server.csr')]);
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', at('server.ext'), '-out', at('server.crt')]);
}

function run(command: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 20_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve();
    });
    child.stdin!.end(input ?? '');
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The top-level `ldap:` YAML for a hub using this slapd: StartTLS verified against the test CA,
 * the service account, short timeouts and backoff; `extra` lines (`key: value`) are added,
 * replacing the defaults of the same keys.
 */
export function ldapSectionYaml(slapd: Slapd, ...extra: string[]): string {
  const defaults = [
    `servers: ["${slapd.url}"]`,
    `bind_dn: "${SERVICE_DN}"`,
    `bind_password: ${SERVICE_PASSWORD}`,
    `ca_file: ${JSON.stringify(slapd.caFile)}`,
    'pool_size: 2',
    'connect_timeout: 2',
    'timeout: 2',
    'reconnect: { min_delay: 0.2, max_delay: 0.5 }',
  ];
  const key = (line: string) => line.slice(0, line.indexOf(':'));
  const overridden = new Set(extra.map(key));
  const lines = [...defaults.filter((line) => !overridden.has(key(line))), ...extra];
  return ['ldap:', ...lines.map((line) => `  ${line}`), ''].join('\n');
}
