// Starts a real hub for a test: temporary data directory, loopback only, ephemeral ports,
// self-signed certificates, captured logs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ensureCertificates } from '../../src/config/certs.js';
import { loadConfig } from '../../src/config/load.js';
import type { Gateway } from '../../src/core/gateway.js';
import { Hub } from '../../src/core/hub.js';
import { createLogger } from '../../src/core/log.js';

export interface TestHub {
  hub: Hub;
  domain: string;
  /** STARTTLS port and direct TLS port. */
  port: number;
  directTlsPort: number;
  /** Plain HTTP and HTTPS ports of the web server. */
  httpPort: number;
  httpsPort: number;
  dataDir: string;
  /** Every log line, parsed (JSON format). */
  logs: Array<Record<string, unknown>>;
  addUser(username: string, password: string, domain?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface TestHubOptions {
  /** YAML merged over the test defaults (top-level keys replace the defaults' keys). */
  yaml?: string;
  gateways?: Gateway[];
}

/** The hub configuration tests start from: loopback only, ephemeral ports, JSON logs. */
export function testConfigYaml(level = 'debug'): string {
  return `log: { level: ${level}, format: json }
c2s:
  interfaces: ["127.0.0.1"]
  port: 0
  direct_tls_port: 0
http:
  interfaces: ["127.0.0.1"]
  port: 0
  tls_port: 0
auth:
  scram_iterations: 4096
hosts:
  - domain: localhost
    require_encryption: optional
`;
}

const BASE = testConfigYaml();
/** `auth` YAML that allows PLAIN without TLS, for raw streams and clear-text password iqs. */
export const PLAIN_ALLOWED = 'auth:\n  scram_iterations: 4096\n  allow_plain_without_tls: true\n';

/** `hosts` YAML: the one host localhost, encryption optional, with `settings` (one `key: value` each). */
export function localhostYaml(...settings: string[]): string {
  return 'hosts:\n  - domain: localhost\n    require_encryption: optional\n' + settings.map((s) => `    ${s}\n`).join('');
}

export async function startHub(options: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const text = mergeYaml(BASE, options.yaml ?? '') + `\ndata_dir: ${JSON.stringify(dataDir)}\n`;
  const loaded = loadConfig({ text, env: {} });
  const { config } = loaded;
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ level: config.log.level, format: 'json' }, sink);
  const certificates = await ensureCertificates(loaded, log);
  const hub = new Hub({ config, log, certificates, gateways: options.gateways });
  await hub.start();
  const [port, directTlsPort] = hub.c2s.ports();
  const web = hub.web.listener.ports();
  return {
    hub,
    domain: config.hosts[0]!.domain,
    port: port!,
    directTlsPort: directTlsPort!,
    httpPort: web.http!,
    httpsPort: web.https!,
    dataDir,
    logs,
    async addUser(username, password, domain = config.hosts[0]!.domain) {
      await hub.directory.createUser(domain, username, password);
    },
    async stop() {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Top-level YAML keys of `extra` replace those of `base` (enough for test configurations). */
function mergeYaml(base: string, extra: string): string {
  const keys = new Set([...extra.matchAll(/^([a-z0-9_]+):/gm)].map((m) => m[1]));
  const kept: string[] = [];
  let skipping = false;
  for (const line of base.split('\n')) {
    const key = /^([a-z0-9_]+):/.exec(line)?.[1];
    if (key !== undefined) skipping = keys.has(key);
    if (!skipping) kept.push(line);
  }
  return kept.join('\n') + '\n' + extra;
}
