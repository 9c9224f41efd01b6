// The LDAP directory's speed (issue 5): PLAIN logins per second against a real slapd with the
// hub's connection pool warm, next to the same logins against the internal directory; and the
// latency a user lookup adds to the message path, first lookup of a user (an LDAP search)
// against later ones (the hub's lookup cache). slapd's own operation counters (back-monitor)
// show how many LDAP operations each window cost: routing to a user already looked up must
// cost none.
//
//   npx tsc -p . && taskset -c 1 node dist/bench/ldap.js [--users 2000] [--targets 1000]
//       [--warmup-targets 200] [--logins 3000] [--serial-logins 1000] [--warmup 300]
//       [--concurrency 50] [--senders 20] [--rounds 5] [--pool-size 4] [--server-cpu 0]
//       [--directories ldap,internal] [--quiet-pct 15] [--quiet-wait 60]
//
// The driver (this process, with the clients) runs where it was started; the hub (a child
// process, `ldap.js hub ...`) and slapd are pinned to --server-cpu. Prints `RESULT {json}`
// lines on stdout, progress and a summary on stderr. See bench/README.md, "LDAP directory".
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { ensureCertificates } from '../src/config/certs.js';
import { loadConfig } from '../src/config/load.js';
import { Hub } from '../src/core/hub.js';
import { createLogger } from '../src/core/log.js';
import { deriveScram } from '../src/directory/scram.js';
import type { StoredScram } from '../src/store/ports.js';
import type { HashName } from '../src/xmpp/sasl/mechanism.js';
import { PEOPLE_DN, ROOT_DN, ROOT_PASSWORD, SERVICE_DN, SERVICE_PASSWORD, Slapd } from '../test/support/slapd.js';
import { Args, BENCH_DOMAIN, BENCH_PASSWORD, MESSAGE_PAD, benchUser, log, pool, printResult, round, Samples, sleep } from './common.js';
import { HubMonitor, otherCpu, otherCpuPct } from './hub-monitor.js';
import { tcpLogin, type Conn } from './tcp-client.js';
import type { Target } from './xmpp-client.js';

type DirectoryKind = 'ldap' | 'internal';

const ITERATIONS = 4096;
const HUB_READY_TIMEOUT_MS = 60_000;
const HUB_STOP_TIMEOUT_MS = 10_000;
/**
 * Longest a message phase may take: the first and the later messages together must stay within
 * the cache's lifetime (`cache_ttl`, 60 s by default), or later messages would look users up again.
 */
const PHASE_DEADLINE_MS = 25_000;
const ANSWER_TIMEOUT_MS = 10_000;
const CLOCK_TICK = 100;
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';

function targetUser(i: number): string {
  return `t${i}`;
}

/** Users who warm the message path up before the measured messages. */
function warmTarget(i: number): string {
  return `v${i}`;
}

function names(name: (i: number) => string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => name(i));
}

/** Everyone the bench needs in the directory: u0.. log in (and send), v0.. and t0.. get messages. */
function everyone(args: Args): string[] {
  return [...names(benchUser, args.num('users', 2000)), ...names(warmTarget, args.num('warmup-targets', 200)),
    ...names(targetUser, args.num('targets', 1000))];
}

// --- the hub (child process) --------------------------------------------------------------------

/**
 * The hub of one run: c2s on a free loopback port, PLAIN allowed without TLS, no web server,
 * `offline_quota: 0` so that a message to an offline user is answered with an error right
 * after the existence check (the measurable end of the message path); with `ldap`, the
 * directory's defaults (pool of 4, cache 60 s, StartTLS verified) except the session refresh,
 * which is off: it is timer work, not the message path, and would add its searches to the
 * counters.
 */
function hubYaml(args: Args, dataDir: string): string {
  const directory = args.str('directory', 'ldap') as DirectoryKind;
  const ldap = directory !== 'ldap' ? '' : `ldap:
  servers: ["${args.str('ldap-url', '')}"]
  bind_dn: "${SERVICE_DN}"
  bind_password: ${SERVICE_PASSWORD}
  ca_file: ${JSON.stringify(args.str('ca-file', ''))}
  pool_size: ${args.num('pool-size', 4)}
  refresh_interval: 0
`;
  return `data_dir: ${JSON.stringify(dataDir)}
log: { level: warn, format: json }
c2s:
  interfaces: ["127.0.0.1"]
  port: 0
  direct_tls_port: null
  rate: { stanzas_per_second: 1000000, burst: 1000000 }
http: { port: null, tls_port: null }
auth:
  scram_iterations: ${ITERATIONS}
  allow_plain_without_tls: true
${ldap}hosts:
  - domain: ${BENCH_DOMAIN}
    require_encryption: optional
    offline_quota: 0
    directory: ${directory}
${directory === 'ldap' ? `    ldap: { base: "${PEOPLE_DN}" }\n` : ''}`;
}

/** One SCRAM credential per hash, derived once and stored for every internal account (as bench/server.ts). */
async function sharedCredentials(): Promise<Record<string, StoredScram>> {
  const out: Record<string, StoredScram> = {};
  for (const hash of ['sha1', 'sha256'] as HashName[]) {
    const c = await deriveScram(BENCH_PASSWORD, hash, ITERATIONS);
    out[hash] = {
      salt: c.salt.toString('base64'), iterations: c.iterations,
      storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64'),
    };
  }
  return out;
}

async function hubMain(args: Args): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-ldap-bench-'));
  const loaded = loadConfig({ text: hubYaml(args, dataDir), env: {} });
  const logger = createLogger({ level: loaded.config.log.level, format: 'json' }, process.stderr);
  const hub = new Hub({ config: loaded.config, log: logger, certificates: await ensureCertificates(loaded, logger) });
  if (args.str('directory', 'ldap') === 'internal') {
    const scram = await sharedCredentials();
    for (const name of everyone(args)) await hub.store.accounts.create(BENCH_DOMAIN, name, scram);
  }
  await hub.start();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await hub.stop();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdout.write(`READY ${JSON.stringify({ pid: process.pid, port: hub.c2s.ports()[0] })}\n`);
}

/** The hub as a child process pinned to `cpu`. */
class HubProcess {
  private constructor(private readonly child: ChildProcess, readonly pid: number, readonly port: number) {}

  static async start(cpu: number, hubArgs: string[]): Promise<HubProcess> {
    const script = fileURLToPath(import.meta.url);
    const child = spawn('taskset', ['-c', String(cpu), process.execPath, script, 'hub', ...hubArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the hub did not get ready in ${HUB_READY_TIMEOUT_MS / 1000} s`)), HUB_READY_TIMEOUT_MS);
      child.once('exit', (code) => reject(new Error(`the hub exited at start (code ${code})`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.startsWith('READY ')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as { pid: number; port: number });
      });
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return new HubProcess(child, ready.pid, ready.port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), HUB_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

// --- slapd: bench users, operation counters, pinning ---------------------------------------------

/** `{SSHA}` as slappasswd writes it: base64(SHA-1(password + salt) + salt). */
function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

/** Person entries for slapadd. */
function benchLdif(uids: string[]): string {
  return uids.map((uid, i) => `dn: uid=${uid},${PEOPLE_DN}
objectClass: inetOrgPerson
uid: ${uid}
cn: Bench ${uid}
sn: ${uid}
displayName: Bench ${uid}
mail: ${uid}@example.org
mobile: +4072${String(i).padStart(7, '0')}
employeeType: staff
userPassword: ${ssha(BENCH_PASSWORD)}
`).join('\n');
}

interface OperationCounts {
  search: number;
  bind: number;
  /** Every operation (search, bind, StartTLS, unbind...). */
  all: number;
}

/**
 * slapd's completed-operation counters, read from its monitor database (cn=Monitor) on one
 * connection bound as the root DN; only differences between reads mean something. Each read
 * is itself a search, counted by the next read: the figures returned leave the reads out.
 */
class SlapdOperations {
  private reads = 0;

  private constructor(private readonly client: Client) {}

  /**
   * Restarts the harness's slapd with a monitor database (the test harness has none). slapd.conf
   * is the one the harness wrote in its folder; its data survive the restart.
   */
  static async enable(slapd: Slapd): Promise<SlapdOperations> {
    await slapd.stop();
    const conf = join(slapd.dir, 'slapd.conf');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}
database monitor
access to * by dn.exact="${ROOT_DN}" read by * none
`);
    await slapd.start();
    const client = new Client({ url: slapd.url, timeout: ANSWER_TIMEOUT_MS });
    await client.bind(ROOT_DN, ROOT_PASSWORD);
    return new SlapdOperations(client);
  }

  async read(): Promise<OperationCounts> {
    const { searchEntries } = await this.client.search('cn=Operations,cn=Monitor', { scope: 'sub', attributes: ['monitorOpCompleted'] });
    const completed = (cn: string): number => {
      const entry = searchEntries.find((e) => e.dn.toLowerCase() === `${cn},cn=monitor`.toLowerCase());
      if (!entry) throw new Error(`no ${cn} in slapd's monitor database`);
      return Number(entry.monitorOpCompleted);
    };
    const ownReads = this.reads++;
    return {
      search: completed('cn=Search,cn=Operations') - ownReads,
      bind: completed('cn=Bind,cn=Operations'),
      all: completed('cn=Operations') - ownReads,
    };
  }

  close(): Promise<void> {
    return this.client.unbind();
  }
}

function minus(a: OperationCounts, b: OperationCounts): OperationCounts {
  return { search: a.search - b.search, bind: a.bind - b.bind, all: a.all - b.all };
}

/** slapd's pid, from the pidfile of the harness's configuration (written as it starts). */
async function slapdPid(slapd: Slapd): Promise<number> {
  const file = join(slapd.dir, 'slapd.pid');
  for (let i = 0; i < 50; i++) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await sleep(100);
  }
  throw new Error(`no pid in ${file}`);
}

/** µs of CPU (user + system) a process used so far. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICK;
}

// --- scenario: logins ----------------------------------------------------------------------------

interface Servers {
  directory: DirectoryKind;
  /** Waits for other processes on the machine to calm down before a measured window. */
  quiet: HubMonitor;
  hubPid: number;
  slapdPid: number;
  operations: SlapdOperations;
  target: Target;
}

/** Waits for the machine to be quiet (bounded by --quiet-wait), then takes a snapshot. */
async function start(s: Servers): ReturnType<typeof snapshot> {
  await s.quiet.waitQuiet(s.hubPid);
  return snapshot(s);
}

/** Resource-usage snapshot around a measured window. */
async function snapshot(s: Servers): Promise<{ at: number; hub: number; slapd: number; ops: OperationCounts; others: Map<number, number> }> {
  return { at: performance.now(), hub: cpuMicros(s.hubPid), slapd: cpuMicros(s.slapdPid), ops: await s.operations.read(), others: otherCpu(s.hubPid) };
}

async function loginMany(s: Servers, count: number, users: number, concurrency: number, resource: string, latency?: Samples):
  Promise<{ conns: Conn[]; ok: number; failed: number; firstError: string }> {
  const conns: Conn[] = [];
  const outcome = await pool(count, concurrency, async (i) => {
    const started = performance.now();
    conns.push(await tcpLogin(s.target, benchUser(i % users), { mech: 'PLAIN', tls: false, resource: `${resource}${Math.floor(i / users)}` }));
    latency?.push(performance.now() - started);
  }, 100);
  return { conns, ...outcome };
}

async function closeAll(conns: Conn[]): Promise<void> {
  for (const c of conns) c.destroy();
  await sleep(1000);
}

/** `count` logins with `concurrency` in flight, kept open until all are done; hub, slapd and LDAP costs per login. */
async function loginWindow(s: Servers, args: Args, count: number, concurrency: number, resource: string) {
  const users = args.num('users', 2000);
  log(`${s.directory}: ${count} PLAIN logins, ${concurrency} in flight, users u0..u${users - 1}`);
  const latency = new Samples();
  const before = await start(s);
  const outcome = await loginMany(s, count, users, concurrency, resource, latency);
  const after = await snapshot(s);
  await closeAll(outcome.conns);
  const seconds = (after.at - before.at) / 1000;
  const ops = minus(after.ops, before.ops);
  const lat = latency.summary();
  const per = (v: number) => round(v / Math.max(1, outcome.ok), 2);
  const res = {
    scenario: 'ldap-logins', directory: s.directory, mech: 'PLAIN', tls: false, count, concurrency,
    poolSize: s.directory === 'ldap' ? args.num('pool-size', 4) : undefined,
    ok: outcome.ok, failed: outcome.failed, firstError: outcome.firstError || undefined,
    seconds: round(seconds), loginsPerSec: Math.round(outcome.ok / seconds), loginMsP50: lat.p50, loginMsP99: lat.p99, loginMsMax: lat.max,
    hubCpuUsPerLogin: Math.round((after.hub - before.hub) / Math.max(1, outcome.ok)),
    slapdCpuUsPerLogin: Math.round((after.slapd - before.slapd) / Math.max(1, outcome.ok)),
    serverCpuPct: round(((after.hub - before.hub + after.slapd - before.slapd) / 1e6 / seconds) * 100, 0),
    ldapSearchesPerLogin: per(ops.search), ldapBindsPerLogin: per(ops.bind), ldapOpsPerLogin: per(ops.all),
    otherCpuPct: otherCpuPct(before.others, after.others, seconds),
  };
  printResult('switchboard', res);
  log(`${s.directory}: ${res.ok} ok, ${res.failed} failed in ${res.seconds} s: ${res.loginsPerSec} logins/s, ` +
    `p50 ${res.loginMsP50} ms, p99 ${res.loginMsP99} ms; LDAP per login: ${res.ldapSearchesPerLogin} searches, ${res.ldapBindsPerLogin} binds`);
  if (outcome.failed > 0) log(`first error: ${outcome.firstError}`);
  return res;
}

/** Warm-up, then the login rate with `--concurrency` in flight, then the latency of one login at a time. */
async function loginsScenario(s: Servers, args: Args) {
  const concurrency = args.num('concurrency', 50);
  // Opens the pool's connections (TCP, StartTLS, service bind) and warms the JIT; closed again.
  const warm = await loginMany(s, args.num('warmup', 300), args.num('users', 2000), concurrency, 'w');
  if (warm.failed > 0) throw new Error(`warm-up: ${warm.failed} logins failed: ${warm.firstError}`);
  await closeAll(warm.conns);
  const rate = await loginWindow(s, args, args.num('logins', 3000), concurrency, 'r');
  const single = await loginWindow(s, args, args.num('serial-logins', 1000), 1, 's');
  return { rate, single };
}

// --- scenario: user lookups on the message path --------------------------------------------------

/** The stanza that answers `id` (text from its start tag), after `send`. */
async function exchange(c: Conn, send: string, id: string, name: 'message' | 'iq'): Promise<string> {
  c.send(send);
  const head = await c.expect([`id="${id}"`, `id='${id}'`]);
  const rest = await c.expect(`</${name}>`);
  return head.slice(head.lastIndexOf(`<${name}`)) + rest;
}

function isError(stanza: string, condition: string): boolean {
  return (stanza.includes(`type="error"`) || stanza.includes(`type='error'`)) && stanza.includes(`<${condition}`);
}

/** One message of a window: to whom, and whether it is the first to that user (a lookup not cached yet). */
interface Send {
  to: string;
  first: boolean;
}

interface Window {
  first: Samples;
  repeat: Samples;
  ops: OperationCounts;
  seconds: number;
  otherCpuPct: number;
}

/**
 * Chat messages to offline users, one at a time (round-robin over the senders); the latency is
 * from sending until the hub's service-unavailable answer (existence check, then the offline
 * store refusing: quota 0), kept apart for first and later messages to a user.
 */
async function messageWindow(s: Servers, senders: Conn[], plan: Send[], tag: string, waitQuiet: boolean): Promise<Window> {
  const first = new Samples();
  const repeat = new Samples();
  const before = waitQuiet ? await start(s) : await snapshot(s);
  const deadline = before.at + PHASE_DEADLINE_MS;
  for (const [n, { to, first: isFirst }] of plan.entries()) {
    if (performance.now() > deadline) throw new Error(`${tag}: ${n} messages in ${PHASE_DEADLINE_MS / 1000} s, past the cache's lifetime`);
    const id = `${tag}${n}`;
    const stanza = `<message to='${to}@${BENCH_DOMAIN}' id='${id}' type='chat'><body>${MESSAGE_PAD}</body></message>`;
    const started = performance.now();
    const answer = await exchange(senders[n % senders.length]!, stanza, id, 'message');
    (isFirst ? first : repeat).push(performance.now() - started);
    if (!isError(answer, 'service-unavailable')) throw new Error(`${tag}: unexpected answer ${answer.slice(0, 300)}`);
  }
  const after = await snapshot(s);
  const seconds = (after.at - before.at) / 1000;
  return { first, repeat, ops: minus(after.ops, before.ops), seconds, otherCpuPct: otherCpuPct(before.others, after.others, seconds) };
}

/** Every user in turn, `times` over; with `first`, the first turn is the users' first messages. */
function sweeps(users: string[], times: number, first: boolean): Send[] {
  return Array.from({ length: times }, (_, turn) => users.map((to) => ({ to, first: first && turn === 0 }))).flat();
}

/**
 * The first message to each user, each followed by `rounds` messages to users already written
 * to (picked at random): first and later messages measured side by side, under the same
 * conditions (GC, JIT, the machine).
 */
function interleaved(users: string[], rounds: number): Send[] {
  const plan: Send[] = [];
  for (const [k, to] of users.entries()) {
    plan.push({ to, first: true });
    for (let r = 0; r < rounds; r++) plan.push({ to: users[Math.floor(Math.random() * (k + 1))]!, first: false });
  }
  return plan;
}

/** disco#info to users' bare JIDs: answered by the hub after the same existence check. */
async function discoPhase(s: Servers, sender: Conn, users: string[], tag: string): Promise<{ found: number; ops: OperationCounts }> {
  const before = await s.operations.read();
  let found = 0;
  for (const [i, user] of users.entries()) {
    const id = `${tag}${i}`;
    const answer = await exchange(sender, `<iq type='get' id='${id}' to='${user}@${BENCH_DOMAIN}'><query xmlns='${DISCO_INFO}'/></iq>`, id, 'iq');
    if (answer.includes(`type="result"`) || answer.includes(`type='result'`)) found++;
    else if (!isError(answer, 'service-unavailable')) throw new Error(`${tag}: unexpected answer ${answer.slice(0, 300)}`);
  }
  return { found, ops: minus(await s.operations.read(), before) };
}

function latency(samples: Samples) {
  const { p50, p90, p99, max, n } = samples.summary();
  return { messages: n, msP50: p50, msP90: p90, msP99: p99, msMax: max };
}

/**
 * Senders log in; the message path warms up on other users; then the interleaved window (first
 * and later messages side by side: the latency a lookup adds), the repeat-only window (every
 * user already looked up: the LDAP operations routing costs then), and disco#info checks that
 * the cached answers are "exists" and that the counters do see a lookup.
 */
async function lookupScenario(s: Servers, args: Args) {
  const rounds = args.num('rounds', 5);
  const senderCount = args.num('senders', 20);
  const senders = await loginMany(s, senderCount, senderCount, senderCount, 'msg');
  if (senders.failed > 0) throw new Error(`senders: ${senders.failed} logins failed: ${senders.firstError}`);
  await sleep(1000);
  // Two reads with nothing in between: the counters' own noise floor (expected 0).
  const idleBefore = await s.operations.read();
  const idle = minus(await s.operations.read(), idleBefore);

  await messageWindow(s, senders.conns, sweeps(names(warmTarget, args.num('warmup-targets', 200)), 2, true), 'w', false);
  const targets = names(targetUser, args.num('targets', 1000));
  log(`${s.directory}: first message to each of ${targets.length} users never looked up, each followed by ${rounds} to users already looked up`);
  const mixed = await messageWindow(s, senders.conns, interleaved(targets, rounds), 'm', true);
  // At once: the users looked up in the mixed window must still be in the cache.
  log(`${s.directory}: ${rounds} more messages to each of them`);
  const repeatOnly = await messageWindow(s, senders.conns, sweeps(targets, rounds, false), 'r', false);
  const sample = Array.from({ length: 20 }, (_, i) => targets[Math.floor((i * targets.length) / 20)]!);
  const known = await discoPhase(s, senders.conns[0]!, sample, 'k');
  const unknown = await discoPhase(s, senders.conns[0]!, ['nobody-bench'], 'u');
  await closeAll(senders.conns);

  const first = latency(mixed.first);
  const repeat = latency(mixed.repeat);
  const mixedResult = {
    scenario: 'ldap-lookup', directory: s.directory, window: 'interleaved', seconds: round(mixed.seconds),
    first, repeat, addedMsP50: round(first.msP50 - repeat.msP50), addedMsP99: round(first.msP99 - repeat.msP99),
    ldapSearches: mixed.ops.search, ldapOps: mixed.ops.all, otherCpuPct: mixed.otherCpuPct,
  };
  const repeatResult = {
    scenario: 'ldap-lookup', directory: s.directory, window: 'repeat-only', seconds: round(repeatOnly.seconds),
    repeat: latency(repeatOnly.repeat), ldapSearches: repeatOnly.ops.search, ldapOps: repeatOnly.ops.all, otherCpuPct: repeatOnly.otherCpuPct,
  };
  const check = {
    scenario: 'ldap-lookup-check', directory: s.directory, counterNoiseOps: idle.all,
    knownProbed: sample.length, knownFound: known.found, knownLdapSearches: known.ops.search,
    unknownFound: unknown.found, unknownLdapSearches: unknown.ops.search,
  };
  for (const res of [mixedResult, repeatResult, check]) printResult('switchboard', res);
  log(`${s.directory}: first message p50 ${first.msP50} / p99 ${first.msP99} ms, later ones p50 ${repeat.msP50} / p99 ${repeat.msP99} ms ` +
    `(${mixed.ops.search} LDAP searches); repeat-only: ${repeatOnly.ops.search} LDAP searches`);
  return { mixed: mixedResult, repeatOnly: repeatResult, check };
}

// --- driver --------------------------------------------------------------------------------------

/** The options the hub child needs, passed on from the driver's. */
function hubArgs(args: Args, directory: DirectoryKind, slapd: Slapd): string[] {
  const passed = ['users', 'warmup-targets', 'targets', 'pool-size'].flatMap((name) => (args.has(name) ? [`--${name}`, args.str(name, '')] : []));
  return ['--directory', directory, '--ldap-url', slapd.url, '--ca-file', slapd.caFile, ...passed];
}

async function main(args: Args): Promise<void> {
  const serverCpu = args.num('server-cpu', 0);
  const directories = args.str('directories', 'ldap,internal').split(',') as DirectoryKind[];
  if (args.num('senders', 20) > args.num('users', 2000)) throw new Error('--senders must not exceed --users');

  const uids = everyone(args);
  log(`slapd: fixture + ${uids.length} bench users (slapadd)`);
  const slapd = await Slapd.create({ extraLdif: benchLdif(uids) });
  let operations: SlapdOperations | undefined;
  const summary: string[] = [];
  try {
    operations = await SlapdOperations.enable(slapd);
    const pid = await slapdPid(slapd);
    execFileSync('taskset', ['-a', '-p', '-c', String(serverCpu), String(pid)], { stdio: 'ignore' });
    for (const directory of directories) {
      const hub = await HubProcess.start(serverCpu, hubArgs(args, directory, slapd));
      try {
        const s: Servers = {
          directory, hubPid: hub.pid, slapdPid: pid, operations,
          quiet: new HubMonitor('', hub.pid, args.num('quiet-pct', 15), args.num('quiet-wait', 60) * 1000, ''),
          target: { host: '127.0.0.1', port: hub.port, domain: BENCH_DOMAIN, password: BENCH_PASSWORD, timeoutMs: ANSWER_TIMEOUT_MS },
        };
        const logins = await loginsScenario(s, args);
        const { mixed, repeatOnly, check } = await lookupScenario(s, args);
        const name = directory.padEnd(8);
        for (const login of [logins.rate, logins.single]) {
          summary.push(`${name} logins, ${login.concurrency} in flight: ${login.loginsPerSec}/s, p50 ${login.loginMsP50} ms, ` +
            `p99 ${login.loginMsP99} ms; CPU per login: hub ${login.hubCpuUsPerLogin} µs, slapd ${login.slapdCpuUsPerLogin} µs; ` +
            `LDAP per login: ${login.ldapSearchesPerLogin} searches, ${login.ldapBindsPerLogin} binds`);
        }
        summary.push(`${name} message to an offline user, first to that user: p50 ${mixed.first.msP50} ms, p99 ${mixed.first.msP99} ms; ` +
          `later: p50 ${mixed.repeat.msP50} ms, p99 ${mixed.repeat.msP99} ms (interleaved; the lookup adds p50 ${mixed.addedMsP50} ms, ` +
          `p99 ${mixed.addedMsP99} ms); ${mixed.ldapSearches} LDAP searches for ${mixed.first.messages} + ${mixed.repeat.messages} messages`);
        summary.push(`${name} messages to users already looked up only: ${repeatOnly.ldapSearches} LDAP searches for ` +
          `${repeatOnly.repeat.messages} messages (p50 ${repeatOnly.repeat.msP50} ms, p99 ${repeatOnly.repeat.msP99} ms)`);
        summary.push(`${name} check: ${check.knownFound}/${check.knownProbed} looked-up users found with ` +
          `${check.knownLdapSearches} LDAP searches; an unknown user cost ${check.unknownLdapSearches}`);
      } finally {
        await hub.stop();
      }
    }
  } finally {
    await operations?.close().catch(() => {});
    await slapd.destroy();
  }
  process.stderr.write(`\n${summary.join('\n')}\n`);
}

const argv = process.argv.slice(2);
const run = argv[0] === 'hub' ? hubMain(new Args(argv.slice(1))) : main(new Args(argv));
run.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
