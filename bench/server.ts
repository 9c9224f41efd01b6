// Benchmark hub: the embedded default (SQLite store, internal directory) on fixed loopback
// ports, with users created in bulk from one precomputed SCRAM credential, and a loopback
// HTTP endpoint reporting the process's CPU time and memory. Its web server (BOSH and
// WebSocket) listens on plain HTTP only, with no per-address session limit (all the load comes
// from 127.0.0.1).
//
//   taskset -c 0 node --expose-gc dist/bench/server.js [--users 1000] [--contacts 0]
//       [--port 15222] [--tls-port 15223] [--stats-port 15280] [--http-port 15281]
//       [--bosh-wait 60] [--no-plain] [--data DIR] [--smtp-port N]
//       [--smsc-port N [--sms-window 10] [--sms-throughput 0]]
//
// --smtp-port N enables the SMTP gateway (docs/mail.md) with its inbound listener on
// 127.0.0.1:N (mail arrivals become headlines from mail.<domain>); its relay points at a port
// nothing listens on, unused as long as no offline notification is mailed.
//
// --smsc-port N enables the SMS gateway (docs/sms.md), its one SMPP link bound to an SMSC on
// 127.0.0.1:N (the SMSC simulator, which bench/sms-load.ts starts after the hub: the link
// retries every second until it binds) with `window` --sms-window and `throughput`
// --sms-throughput (0: no limit); the bench host sends SMS from +40700000001 with per-user and
// per-domain limits out of the way.
//
// Prints one line `READY {json}` on stdout once listening. GET /stats returns the figures,
// GET /gc runs a full garbage collection first (needs --expose-gc), GET /profile/start[?kind=heap]
// and /profile/stop?file=PATH profile a window. SIGTERM/SIGINT stop the hub
// cleanly (so `node --cpu-prof` writes its profile).
import { mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { SmtpGateway } from '../gateways/smtp/index.js';
import { ensureCertificates } from '../src/config/certs.js';
import { loadConfig } from '../src/config/load.js';
import { Hub } from '../src/core/hub.js';
import { createLogger } from '../src/core/log.js';
import { deriveScram } from '../src/directory/scram.js';
import type { StoredScram } from '../src/store/ports.js';
import type { HashName } from '../src/xmpp/sasl/mechanism.js';
import { BENCH_DOMAIN, BENCH_PASSWORD, benchUser } from './common.js';

interface Options {
  users: number;
  contacts: number;
  port: number;
  tlsPort: number;
  statsPort: number;
  httpPort: number;
  /** The web server's `http.bosh.max_wait` (s). */
  boshWait: number;
  plain: boolean;
  iterations: number;
  dataDir: string | undefined;
  logLevel: string;
  /** The SMTP gateway's inbound port; undefined: no gateway. */
  smtpPort: number | undefined;
  /** The SMSC the SMS gateway binds to; undefined: no gateway. */
  smscPort: number | undefined;
  smsWindow: number;
  smsThroughput: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    users: 1000, contacts: 0, port: 15222, tlsPort: 15223, statsPort: 15280, httpPort: 15281, boshWait: 60, plain: true, iterations: 4096,
    dataDir: undefined, logLevel: 'warn', smtpPort: undefined, smscPort: undefined, smsWindow: 10, smsThroughput: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--users': opts.users = Number(value()); break;
      case '--contacts': opts.contacts = Number(value()); break;
      case '--port': opts.port = Number(value()); break;
      case '--tls-port': opts.tlsPort = Number(value()); break;
      case '--stats-port': opts.statsPort = Number(value()); break;
      case '--http-port': opts.httpPort = Number(value()); break;
      case '--bosh-wait': opts.boshWait = Number(value()); break;
      case '--iterations': opts.iterations = Number(value()); break;
      case '--no-plain': opts.plain = false; break;
      case '--data': opts.dataDir = value(); break;
      case '--log-level': opts.logLevel = value(); break;
      case '--smtp-port': opts.smtpPort = Number(value()); break;
      case '--smsc-port': opts.smscPort = Number(value()); break;
      case '--sms-window': opts.smsWindow = Number(value()); break;
      case '--sms-throughput': opts.smsThroughput = Number(value()); break;
      default: throw new Error(`unknown option ${arg}`);
    }
  }
  if (!Number.isInteger(opts.users) || opts.users < 1) throw new Error('--users must be a positive integer');
  if (opts.smtpPort !== undefined && !(Number.isInteger(opts.smtpPort) && opts.smtpPort > 0 && opts.smtpPort < 65536)) {
    throw new Error('--smtp-port must be a port number');
  }
  if (opts.smscPort !== undefined && !(Number.isInteger(opts.smscPort) && opts.smscPort > 0 && opts.smscPort < 65536)) {
    throw new Error('--smsc-port must be a port number');
  }
  if (!Number.isInteger(opts.smsWindow) || opts.smsWindow < 1) throw new Error('--sms-window must be a positive integer');
  if (!(opts.smsThroughput >= 0)) throw new Error('--sms-throughput must be a number ≥ 0');
  if (!Number.isInteger(opts.contacts) || opts.contacts < 0 || opts.contacts % 2 !== 0 || opts.contacts >= opts.users) {
    throw new Error('--contacts must be an even number below --users');
  }
  return opts;
}

/** Nothing listens there: the relay only takes offline notifications, which the bench never causes. */
const SMTP_UNUSED_RELAY_PORT = 15224;
/** The SMSC simulator's credentials: bench/sms-load.ts starts it with the same. */
const SMSC_SYSTEM_ID = 'bench';
const SMSC_PASSWORD = 'bench';
const SMS_SENDER = '+40700000001';
/** Per-user rate and daily caps high enough never to refuse a bench SMS. */
const SMS_NO_LIMIT = 1_000_000_000;

function configYaml(o: Options, dataDir: string): string {
  return `
data_dir: ${JSON.stringify(dataDir)}
log: { level: ${o.logLevel}, format: json }
c2s:
  interfaces: ["127.0.0.1"]
  port: ${o.port}
  direct_tls_port: ${o.tlsPort}
  rate: { stanzas_per_second: 1000000, burst: 1000000 }
http:
  interfaces: ["127.0.0.1"]
  port: ${o.httpPort}
  tls_port: null
  max_sessions_per_address: 1000000
  bosh: { max_wait: ${o.boshWait} }
  web_client: { enabled: false }
auth:
  scram_iterations: ${o.iterations}
  allow_plain_without_tls: ${o.plain}
hosts:
  - domain: ${BENCH_DOMAIN}
    require_encryption: optional
${o.smscPort === undefined ? '' : `    sms: { sender: "${SMS_SENDER}", user_rate: ${SMS_NO_LIMIT}, user_daily_cap: ${SMS_NO_LIMIT}, domain_daily_cap: ${SMS_NO_LIMIT} }
sms:
  smsc: [{ host: 127.0.0.1, port: ${o.smscPort}, system_id: ${SMSC_SYSTEM_ID}, password: ${SMSC_PASSWORD} }]
  window: ${o.smsWindow}
  throughput: ${o.smsThroughput}
  reconnect: { min_delay: 1, max_delay: 1 }
`}${o.smtpPort === undefined ? '' : `smtp:
  relay: { host: 127.0.0.1, port: ${SMTP_UNUSED_RELAY_PORT}, tls: none }
  inbound: { interfaces: ["127.0.0.1"], port: ${o.smtpPort} }
`}`;
}

/** One SCRAM credential per hash, derived once and stored for every bench user. */
async function sharedCredentials(iterations: number): Promise<Record<string, StoredScram>> {
  const out: Record<string, StoredScram> = {};
  for (const hash of ['sha1', 'sha256'] as HashName[]) {
    const c = await deriveScram(BENCH_PASSWORD, hash, iterations);
    out[hash] = {
      salt: c.salt.toString('base64'),
      iterations: c.iterations,
      storedKey: c.storedKey.toString('base64'),
      serverKey: c.serverKey.toString('base64'),
    };
  }
  return out;
}

// process.memoryUsage() opens /proc/self/stat each time, which fails (EMFILE) once the sessions
// have taken every descriptor: RSS is read through a descriptor opened at start, heap from V8.
const statmFd = openSync('/proc/self/statm', 'r');
const statmBuf = Buffer.alloc(256);
const PAGE = 4096;

function rss(): number {
  const n = readSync(statmFd, statmBuf, 0, statmBuf.length, 0);
  return Number(statmBuf.toString('latin1', 0, n).split(' ')[1]) * PAGE;
}

// Event-loop delay since the previous /stats request: stalls (GC, synchronous work) show here.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function stats(hub: Hub): Record<string, number> {
  const cpu = process.cpuUsage();
  const eld = { loopDelayMaxMs: loopDelay.max / 1e6, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 };
  loopDelay.reset();
  const heap = v8.getHeapStatistics();
  return {
    pid: process.pid,
    time: Date.now(),
    cpuUser: cpu.user,
    cpuSystem: cpu.system,
    cpu: cpu.user + cpu.system,
    rss: rss(),
    heapUsed: heap.used_heap_size,
    heapTotal: heap.total_heap_size,
    external: heap.external_memory,
    sessions: hub.xmpp.sessions.count,
    boshSessions: hub.web.bosh.size,
    connections: hub.xmpp.connections.size,
    routed: hub.router.routed,
    ...mailStats(hub),
    ...eld,
  };
}

/** The SMTP gateway's counters when it runs: mails handed over, recipients refused, unreadable. */
function mailStats(hub: Hub): Record<string, number> {
  const smtp = hub.gateways.find((g): g is SmtpGateway => g instanceof SmtpGateway);
  if (!smtp) return {};
  const { received, rejected, unreadable } = smtp.stats;
  return { mailReceived: received, mailRejected: rejected, mailUnreadable: unreadable };
}

async function collectGarbage(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  // Two passes with a turn of the event loop between (weak callbacks, finalizers).
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return true;
}

// A CPU profile of a chosen window (GET /profile/start, GET /profile/stop?file=...), when
// `node --cpu-prof` (the whole run) would mix set-up and tear-down into the picture; with
// ?kind=heap, a sampling profile of every allocation in the window, collected or not (where
// the garbage comes from; open it in Chrome's DevTools).
type ProfileKind = 'cpu' | 'heap';
let profiler: { session: inspector.Session; kind: ProfileKind } | undefined;

function post<T>(session: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

async function startProfile(kind: ProfileKind): Promise<void> {
  if (profiler) throw new Error('already profiling');
  const session = new inspector.Session();
  session.connect();
  profiler = { session, kind };
  if (kind === 'heap') {
    await post(session, 'HeapProfiler.enable');
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
  await post(session, 'Profiler.start');
}

async function stopProfile(file: string): Promise<void> {
  if (!profiler) throw new Error('not profiling');
  const { session, kind } = profiler;
  profiler = undefined;
  const { profile } = await post<{ profile: object }>(session, kind === 'heap' ? 'HeapProfiler.stopSampling' : 'Profiler.stop');
  session.disconnect();
  writeFileSync(file, JSON.stringify(profile));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const loaded = loadConfig({ text: configYaml(opts, dataDir), env: {} });
  const log = createLogger({ level: loaded.config.log.level, format: 'json' }, process.stderr);
  const certificates = await ensureCertificates(loaded, log);
  const hub = new Hub({ config: loaded.config, log, certificates });

  const setupStart = performance.now();
  const scram = await sharedCredentials(opts.iterations);
  for (let i = 0; i < opts.users; i++) await hub.store.accounts.create(BENCH_DOMAIN, benchUser(i), scram);
  // Ring of mutual subscriptions: user i has i±1 .. i±contacts/2.
  const half = opts.contacts / 2;
  for (let i = 0; i < opts.users && half > 0; i++) {
    for (let d = 1; d <= half; d++) {
      for (const j of [(i + d) % opts.users, (i - d + opts.users) % opts.users]) {
        await hub.store.rosters.put(BENCH_DOMAIN, benchUser(i), {
          jid: `${benchUser(j)}@${BENCH_DOMAIN}`, subscription: 'both', groups: ['bench'],
        });
      }
    }
  }
  const setupMs = performance.now() - setupStart;
  await hub.start();
  const [port, tlsPort] = hub.c2s.ports();
  const httpPort = hub.web.listener.ports().http;

  const statsServer = http.createServer((req, res) => {
    const reply = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/stats') return reply(stats(hub));
    if (req.url === '/profile/start' || req.url === '/profile/start?kind=heap') {
      startProfile(req.url.endsWith('heap') ? 'heap' : 'cpu').then(() => reply({ profiling: true }), (err: Error) => reply({ error: err.message }));
      return;
    }
    if (req.url?.startsWith('/profile/stop?file=')) {
      const file = decodeURIComponent(req.url.slice('/profile/stop?file='.length));
      stopProfile(file).then(() => reply({ written: file }), (err: Error) => reply({ error: err.message }));
      return;
    }
    if (req.url === '/gc') {
      void collectGarbage().then((collected) => reply({ ...stats(hub), gc: collected ? 1 : 0 }));
      return;
    }
    res.writeHead(404).end();
  });
  // The load generator keeps one connection open: it must survive running out of descriptors.
  statsServer.keepAliveTimeout = 24 * 3600_000;
  await new Promise<void>((resolve) => statsServer.listen(opts.statsPort, '127.0.0.1', resolve));

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    statsServer.close();
    await hub.stop();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('SIGUSR2', () => process.stdout.write(`STATS ${JSON.stringify(stats(hub))}\n`));

  process.stdout.write(`READY ${JSON.stringify({
    pid: process.pid, port, tlsPort, httpPort, statsPort: opts.statsPort, smtpPort: opts.smtpPort, smscPort: opts.smscPort, users: opts.users, contacts: opts.contacts,
    setupMs: Math.round(setupMs), gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
  })}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
