// DNS checks: the SRV records clients use to find the server (RFC 6120 §3.2, XEP-0368).
import { Resolver } from 'node:dns/promises';
import type { SrvRecord } from 'node:dns';
import type { Config } from '../config/schema.js';
import type { Report } from './report.js';

const TIMEOUT_MS = 3000;
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']);

type Lookup = { records: SrvRecord[] } | { code: string };

export async function checkDns(config: Config, report: Report): Promise<void> {
  const { port, direct_tls_port: directTls } = config.c2s;
  const services = [{ service: '_xmpp-client', port: port || 5222 }];
  if (directTls !== null) services.push({ service: '_xmpps-client', port: directTls || 5223 });
  const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: 1 });
  const checks = config.hosts.flatMap(({ domain }) =>
    isPublic(domain) ? services.map((s) => ({ domain, ...s, name: `${s.service}._tcp.${domain}` })) : []);
  const results = await Promise.all(checks.map((c) => lookup(resolver, c.name)));

  for (const { domain } of config.hosts) {
    if (!isPublic(domain)) report.ok(`${domain}: not a public DNS name, no SRV records needed`);
  }
  checks.forEach(({ domain, name, port: expected }, i) => {
    const result = results[i]!;
    if ('records' in result) {
      const targets = result.records.map((r) => `${r.name}:${r.port}`).join(', ');
      if (result.records.some((r) => r.port === expected)) report.ok(`${name} -> ${targets}`);
      else report.warn(`${name} -> ${targets}: none on port ${expected}, where Switchboard listens`);
    } else if (NO_RECORD.has(result.code)) {
      report.warn(`${name}: no SRV record`, `Add: ${name}. 3600 IN SRV 0 5 ${expected} ${domain}.`,
        `(with this server's host name as the target if it is not ${domain})`);
    } else {
      report.warn(`${name}: DNS lookup failed (${result.code}): cannot check the SRV record`);
    }
  });
}

async function lookup(resolver: Resolver, name: string): Promise<Lookup> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Lookup>((resolve) => {
    timer = setTimeout(() => {
      resolver.cancel();
      resolve({ code: 'ETIMEOUT' });
    }, TIMEOUT_MS + 500);
  });
  const answer = resolver.resolveSrv(name).then(
    (records): Lookup => ({ records }),
    (err: NodeJS.ErrnoException): Lookup => ({ code: err.code ?? err.message }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names that never have public DNS records: localhost, single labels, reserved test domains. */
function isPublic(domain: string): boolean {
  return domain.includes('.') && !/\.(localhost|local|test|invalid|example|internal)$/.test(domain);
}
