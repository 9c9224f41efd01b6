// The directory of each host, behind the one Directory port: the embedded accounts for hosts
// with `directory: internal` (and any host not configured), an LdapDirectory for hosts with
// `directory: ldap`, all of those sharing the pools of the top-level `ldap` section.
import { readFileSync } from 'node:fs';
import type { Config, LdapConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { AccountStore } from '../store/ports.js';
import type { HashName, ScramCredential } from '../xmpp/sasl/mechanism.js';
import { InternalDirectory } from './internal.js';
import { LdapPool, type LdapServerOptions } from './ldap/connection-pool.js';
import { LdapDirectory, type LdapPools } from './ldap/ldap-directory.js';
import type { Directory, DirectoryVcard, SearchForm, SearchHit, UserAttributes } from './port.js';

export class HostDirectories implements Directory {
  private readonly byHost = new Map<string, Directory>();
  private readonly ldapByHost = new Map<string, LdapDirectory>();
  /** The pools of the LDAP directory, when a host uses it. */
  readonly ldapPools: LdapPools | undefined;

  constructor(config: Config, private readonly internal: Directory, log: Logger) {
    const ldap = createLdapDirectories(config, log);
    this.ldapPools = ldap?.pools;
    for (const directory of ldap?.directories ?? []) {
      this.byHost.set(directory.host, directory);
      this.ldapByHost.set(directory.host, directory);
    }
  }

  /** The embedded accounts, and LDAP as configured. */
  static create(config: Config, accounts: AccountStore, log: Logger): HostDirectories {
    return new HostDirectories(config, new InternalDirectory(accounts, config.auth.scram_iterations), log);
  }

  /** The directory serving `host`. */
  of(host: string): Directory {
    return this.byHost.get(host) ?? this.internal;
  }

  /** The LDAP directory of a host, if it has one. */
  ldap(host: string): LdapDirectory | undefined {
    return this.ldapByHost.get(host);
  }

  /** Every host served from LDAP, with its directory. */
  ldapHosts(): LdapDirectory[] {
    return [...this.ldapByHost.values()];
  }

  async close(): Promise<void> {
    if (!this.ldapPools) return;
    await Promise.all([this.ldapPools.search.close(), this.ldapPools.login.close()]);
  }

  supportsScram(host: string): boolean {
    return this.of(host).supportsScram(host);
  }

  canSetPassword(host: string): boolean {
    return this.of(host).canSetPassword(host);
  }

  managesAccounts(host: string): boolean {
    return this.of(host).managesAccounts(host);
  }

  providesVcards(host: string): boolean {
    return this.of(host).providesVcards(host);
  }

  userExists(host: string, username: string): Promise<boolean> {
    return this.of(host).userExists(host, username);
  }

  getScram(host: string, username: string, hash: HashName): Promise<ScramCredential | null> {
    return this.of(host).getScram(host, username, hash);
  }

  verifyPassword(host: string, username: string, password: string): Promise<boolean> {
    return this.of(host).verifyPassword(host, username, password);
  }

  createUser(host: string, username: string, password: string): Promise<boolean> {
    return this.of(host).createUser(host, username, password);
  }

  setPassword(host: string, username: string, password: string): Promise<boolean> {
    return this.of(host).setPassword(host, username, password);
  }

  deleteUser(host: string, username: string): Promise<boolean> {
    return this.of(host).deleteUser(host, username);
  }

  listUsers(host: string): Promise<string[]> {
    return this.of(host).listUsers(host);
  }

  userAttributes(host: string, username: string): Promise<UserAttributes | null> {
    return this.of(host).userAttributes(host, username);
  }

  vcard(host: string, username: string): Promise<DirectoryVcard | null> {
    return this.of(host).vcard(host, username);
  }

  searchForm(host: string): SearchForm {
    return this.of(host).searchForm(host);
  }

  search(host: string, criteria: Record<string, string>, limit: number): Promise<SearchHit[]> {
    return this.of(host).search(host, criteria, limit);
  }
}

/** The LDAP directory of every host with `directory: ldap`, sharing one pair of pools; undefined when there is none. */
export function createLdapDirectories(config: Config, log: Logger): { pools: LdapPools; directories: LdapDirectory[] } | undefined {
  const hosts = config.hosts.filter((host) => host.directory === 'ldap');
  if (hosts.length === 0 || !config.ldap) return undefined;
  const pools = createLdapPools(config.ldap, log);
  const cache = { ttlMs: config.ldap.cache_ttl * 1000, negativeTtlMs: config.ldap.negative_cache_ttl * 1000 };
  const directories = hosts.map((host) => new LdapDirectory(host.domain, host.ldap!, pools, cache, log.child({ component: 'ldap' })));
  return { pools, directories };
}

/** How to reach the servers of the `ldap` section (reads `ca_file`). */
export function ldapServerOptions(ldap: LdapConfig): LdapServerOptions {
  return {
    urls: ldap.servers,
    startTls: ldap.starttls,
    ca: ldap.ca_file === undefined ? undefined : readFileSync(ldap.ca_file, 'utf8'),
    verify: ldap.tls_verify,
    connectTimeoutMs: ldap.connect_timeout * 1000,
    timeoutMs: ldap.timeout * 1000,
  };
}

/** The service-account pool for searches and the anonymous pool for user binds. */
export function createLdapPools(ldap: LdapConfig, log: Logger): LdapPools {
  const server = ldapServerOptions(ldap);
  const common = {
    ...server,
    size: ldap.pool_size,
    backoff: { minMs: ldap.reconnect.min_delay * 1000, maxMs: ldap.reconnect.max_delay * 1000 },
  };
  const bind = ldap.bind_dn === undefined ? undefined : { dn: ldap.bind_dn, password: ldap.bind_password };
  const ldapLog = log.child({ component: 'ldap' });
  return {
    search: new LdapPool({ ...common, name: 'search', bind }, ldapLog),
    login: new LdapPool({ ...common, name: 'login' }, ldapLog),
  };
}
