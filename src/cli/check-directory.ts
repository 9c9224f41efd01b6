// Directory checks: which directory each host uses and what that means for logins, and for
// LDAP whether the servers answer, the service account binds and each host's base exists.
import { NoSuchObjectError } from 'ldapts';
import type { Config, HostConfig } from '../config/schema.js';
import { createLogger } from '../core/log.js';
import { createLdapDirectories } from '../directory/hosts.js';
import type { LdapDirectory, LdapPools } from '../directory/ldap/ldap-directory.js';
import type { Report } from './report.js';

export async function checkDirectory(config: Config, report: Report): Promise<void> {
  for (const host of config.hosts) describeHost(config, host, report);
  if (!config.hosts.some((host) => host.directory === 'ldap') || !config.ldap) return;
  const { ldap } = config;
  for (const url of ldap.servers) {
    if (url.startsWith('ldap:') && !ldap.starttls && !isLoopback(new URL(url).hostname)) {
      report.warn(`${url}: passwords travel in clear text`, 'set ldap.starttls: true or use an ldaps:// URL');
    }
  }
  if (!ldap.tls_verify) report.warn('ldap.tls_verify is false: the directory\'s certificate is not checked');

  let setup: NonNullable<ReturnType<typeof createLdapDirectories>>;
  try {
    setup = createLdapDirectories(config, createLogger({ level: 'silent', format: 'json' }))!;
  } catch (err) {
    // Only reading ca_file can fail here.
    report.error(`ldap.ca_file: cannot read ${ldap.ca_file}: ${(err as Error).message}`);
    return;
  }
  const { pools, directories } = setup;
  try {
    await probe(pools, directories, ldap.bind_dn, report);
  } finally {
    await Promise.all([pools.search.close(), pools.login.close()]);
  }
}

async function probe(pools: LdapPools, directories: LdapDirectory[], bindDn: string | undefined, report: Report): Promise<void> {
  try {
    const server = await pools.search.probe();
    report.ok(`LDAP ${server} answers${bindDn ? `; the service account ${bindDn} binds` : ' (anonymous searches)'}`);
  } catch (err) {
    report.error(`the LDAP directory does not answer: ${(err as Error).message}`,
      'LDAP hosts cannot log anyone in (temporary-auth-failure) until it does');
    return;
  }
  for (const directory of directories) {
    const where = `${directory.host}: ${directory.config.base}`;
    try {
      const { usersFound } = await directory.probe();
      if (usersFound) report.ok(`${where} has users`);
      else report.warn(`${where}: no entry matches the filter ${directory.config.filter}`, 'check ldap.filter, ldap.enabled_filter and the service account\'s access');
    } catch (err) {
      report.error(`${where}: ${err instanceof NoSuchObjectError ? 'no such entry' : (err as Error).message}`);
    }
  }
}

function describeHost(config: Config, host: HostConfig, report: Report): void {
  if (host.directory === 'internal') {
    report.ok(`${host.domain}: internal accounts; SASL SCRAM-SHA-256(-PLUS), SCRAM-SHA-1(-PLUS) and PLAIN`);
    return;
  }
  const ldap = host.ldap!;
  if (ldap.auth === 'hash' && ldap.scram) {
    report.ok(`${host.domain}: LDAP users (${ldap.base}); SCRAM from the directory's RFC 5803 secrets, and PLAIN`);
  } else {
    report.ok(`${host.domain}: LDAP users (${ldap.base}); SASL PLAIN only (over TLS), since the directory checks passwords` +
      ` ${ldap.auth === 'bind' ? 'by bind' : 'against its hashes'}: SCRAM is not offered`);
  }
  if (config.auth.allow_plain_without_tls && host.require_encryption !== 'required') {
    report.warn(`${host.domain}: auth.allow_plain_without_tls lets LDAP passwords travel without TLS`);
  }
  if (host.registration) report.warn(`${host.domain}: registration is ignored: accounts are created in LDAP`);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname.startsWith('127.') || hostname === '[::1]' || hostname === '::1';
}
