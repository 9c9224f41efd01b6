// Load generator for the hub's web transports: XMPP over WebSocket (RFC 7395) and BOSH
// (XEP-0124/0206), next to plain TCP for comparison. Hand-built stanzas and indexOf parsing
// like bench/load.ts; WebSocket frames through the `ws` package, BOSH over raw kept-alive
// HTTP/1.1 connections behaving as a browser library does (bench/bosh-client.ts).
//
//   taskset -c 1 node dist/bench/web-load.js <scenario> [options]
//
// Scenarios (see bench/README.md): websessions, boshsessions, weblatency.
// Common options: --host 127.0.0.1 --port 15222 (TCP) --http-port 15281 --domain localhost
//   --password bench-password --mech PLAIN --stats http://127.0.0.1:15280 --label text
//   --profile FILE [--profile-kind heap] (hub profiles of the measured windows)
// One `RESULT {json}` line per measurement on stdout, progress on stderr.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { boshLogin, type BoshConn } from './bosh-client.js';
import { Args, BENCH_RESOURCE, benchUser, log, MESSAGE_PAD, pool, printResult, round, runScenario, Samples, sleep, targetFromArgs } from './common.js';
import { HubMonitor, otherCpu, otherCpuPct, type ServerStats } from './hub-monitor.js';
import { measureMessageStep, type Receipts } from './message-step.js';
import { tcpLogin } from './tcp-client.js';
import { wsLogin } from './ws-client.js';
import { type LiveSession, type Mechanism, scan, type Target } from './xmpp-client.js';

const args = new Args(process.argv.slice(2));
const scenario = args.positional[0] ?? '';
const tcpTarget = targetFromArgs(args);
const httpTarget: Target = { ...tcpTarget, port: args.num('http-port', 15281) };
const LABEL = args.str('label', 'switchboard');
const MECH = args.str('mech', 'PLAIN') as Mechanism;
/** The `wait` BOSH clients ask for (s); the hub grants at most its `http.bosh.max_wait`. */
const BOSH_WAIT = args.num('wait', 60);
const monitor = HubMonitor.fromArgs(args);

if (!['127.0.0.1', '::1', 'localhost'].includes(tcpTarget.host)) throw new Error('the bench only talks to the loopback interface');

const genLoopDelay = monitorEventLoopDelay({ resolution: 10 });
genLoopDelay.enable();

function result(data: Record<string, unknown>): void {
  printResult(LABEL, data);
}

type Transport = 'tcp' | 'ws' | 'bosh';

function login(transport: Transport, user: string, resource = BENCH_RESOURCE): Promise<LiveSession> {
  switch (transport) {
    case 'tcp': return tcpLogin(tcpTarget, user, { mech: MECH, tls: false, resource });
    case 'ws': return wsLogin(httpTarget, user, MECH, resource);
    case 'bosh': return boshLogin(httpTarget, { wait: BOSH_WAIT, hold: 1 }, user, MECH, resource);
  }
}

const mib = (bytes: number): number => round(bytes / 1048576, 1);
const perSessionKiB = (after: number | undefined, before: number | undefined, n: number): number | undefined =>
  after === undefined || before === undefined ? undefined : round((after - before) / Math.max(1, n) / 1024, 1);

/** Ends sessions a few hundred at a time (BOSH sends a terminate request for each). */
async function closeAll(sessions: LiveSession[]): Promise<void> {
  for (let i = 0; i < sessions.length; i++) {
    sessions[i]!.destroy();
    if (i % 250 === 249) await sleep(20);
  }
  await sleep(1000);
}

// --- scenarios: websessions, boshsessions ----------------------------------------------------------

interface Opened {
  sessions: LiveSession[];
  failed: number;
  firstError: string;
  seconds: number;
  loginMs: { p50: number; p99: number };
  cpuUsPerLogin: number;
  /** Shares of a core during the logins: the hub, this generator, every other process. */
  hubCpuPct: number;
  genCpuPct: number;
  otherCpuPct: number;
}

/** Logs in `count` sessions (users u0.. in turn) with `concurrency` logins in flight. */
async function openSessions(transport: Transport, count: number, users: number, concurrency: number): Promise<Opened> {
  const sessions: LiveSession[] = [];
  const latency = new Samples();
  const statsBefore = await monitor.stats();
  const othersBefore = otherCpu(statsBefore.pid);
  const genBefore = process.cpuUsage();
  const t0 = performance.now();
  let lastCount = 0;
  let lastTime = t0;
  const progress = setInterval(() => {
    const now = performance.now();
    log(`${transport}: ${sessions.length} open, ${Math.round(((sessions.length - lastCount) * 1000) / (now - lastTime))} logins/s`);
    lastCount = sessions.length;
    lastTime = now;
  }, 2000);
  await monitor.profile('start');
  const outcome = await pool(count, concurrency, async (i) => {
    const started = performance.now();
    const resource = `${BENCH_RESOURCE}${i < users ? '' : Math.floor(i / users)}`;
    sessions.push(await login(transport, benchUser(i % users), resource));
    latency.push(performance.now() - started);
  }, 200);
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  const hubCpu = (await monitor.stats()).cpu - statsBefore.cpu;
  const gen = process.cpuUsage(genBefore);
  await monitor.profile('stop', 'logins');
  const lat = latency.summary();
  return {
    sessions, failed: outcome.failed, firstError: outcome.firstError, seconds,
    loginMs: { p50: lat.p50, p99: lat.p99 }, cpuUsPerLogin: Math.round(hubCpu / Math.max(1, outcome.ok)),
    hubCpuPct: round((hubCpu / 1e6 / seconds) * 100, 0),
    genCpuPct: round(((gen.user + gen.system) / 1e6 / seconds) * 100, 0),
    otherCpuPct: otherCpuPct(othersBefore, otherCpu(statsBefore.pid), seconds),
  };
}

interface MemoryFigures {
  rssBeforeMiB: number;
  rssMiB: number;
  heapUsedMiB: number | undefined;
  rssPerSessionKiB: number | undefined;
  heapPerSessionKiB: number | undefined;
}

/** The hub's memory after GC, and per open session over the figure before the logins. */
function memoryFigures(before: ServerStats, after: ServerStats, open: number): MemoryFigures {
  return {
    rssBeforeMiB: mib(before.rss),
    rssMiB: mib(after.rss),
    heapUsedMiB: after.heapUsed === undefined ? undefined : mib(after.heapUsed),
    rssPerSessionKiB: perSessionKiB(after.rss, before.rss, open),
    heapPerSessionKiB: perSessionKiB(after.heapUsed, before.heapUsed, open),
  };
}

/** N WebSocket sessions held idle: memory per session after GC, login rate, failures. */
async function webSessionsScenario(): Promise<void> {
  const count = args.num('count', 10_000);
  const users = args.num('users', count);
  const concurrency = args.num('concurrency', 100);
  const idleSeconds = args.num('idle-seconds', 10);
  const before = await monitor.stats(true);
  if (monitor.quietPct > 0) await monitor.waitQuiet(before.pid);
  log(`websessions: opening ${count} WebSocket sessions (${MECH}), ${concurrency} logins in flight`);
  const opened = await openSessions('ws', count, users, concurrency);
  const cpuIdleBefore = (await monitor.stats()).cpu;
  log(`websessions: ${opened.sessions.length} open; idle for ${idleSeconds} s`);
  await sleep(idleSeconds * 1000);
  const cpuIdle = (await monitor.stats()).cpu - cpuIdleBefore;
  const after = await monitor.stats(true);
  const open = opened.sessions.filter((s) => !s.closed).length;
  const res = {
    scenario: 'websessions',
    transport: 'websocket',
    mech: MECH,
    target: count,
    reached: opened.sessions.length,
    failed: opened.failed,
    firstError: opened.firstError || undefined,
    closedWhileIdle: opened.sessions.length - open,
    serverSessions: after.sessions,
    seconds: round(opened.seconds),
    loginsPerSec: Math.round(opened.sessions.length / opened.seconds),
    loginMsP50: opened.loginMs.p50,
    loginMsP99: opened.loginMs.p99,
    cpuUsPerLogin: opened.cpuUsPerLogin,
    loginHubCpuPct: opened.hubCpuPct,
    loginGenCpuPct: opened.genCpuPct,
    loginOtherCpuPct: opened.otherCpuPct,
    idleHubCpuPct: round((cpuIdle / 1e6 / idleSeconds) * 100, 1),
    ...memoryFigures(before, after, open),
  };
  log(`websessions: ${res.reached}/${count} open (hub counts ${res.serverSessions}), ${res.failed} failed, ${res.loginsPerSec} logins/s ` +
    `(${res.cpuUsPerLogin} µs hub CPU each); after ${idleSeconds} s idle ${res.closedWhileIdle} closed; RSS ${res.rssMiB} MiB, ` +
    `${res.rssPerSessionKiB} KiB RSS and ${res.heapPerSessionKiB} KiB heap per session` + (res.firstError ? `; first error: ${res.firstError}` : ''));
  result(res);
  await closeAll(opened.sessions);
}

/**
 * N BOSH sessions, each keeping one request held as a browser does (an empty request as soon
 * as an answer comes back): memory per session, HTTP requests per second while idle (~N/wait),
 * the hub's CPU for them, failures.
 */
async function boshSessionsScenario(): Promise<void> {
  const count = args.num('count', 5000);
  const users = args.num('users', count);
  const concurrency = args.num('concurrency', 100);
  const before = await monitor.stats(true);
  if (monitor.quietPct > 0) await monitor.waitQuiet(before.pid);
  log(`boshsessions: opening ${count} BOSH sessions (${MECH}, wait ${BOSH_WAIT} s, hold 1), ${concurrency} logins in flight`);
  const opened = await openSessions('bosh', count, users, concurrency);
  const sessions = opened.sessions as BoshConn[];
  const wait = sessions[0]?.wait || BOSH_WAIT;
  // A window of exactly `wait` holds one expiry of every session's held request, whatever their phases.
  const idleSeconds = args.num('idle-seconds', wait);
  await sleep(2000);
  const memory = await monitor.stats(true);
  const requests = (): number => sessions.reduce((sum, s) => sum + s.answered, 0);
  const idleBefore = await monitor.stats();
  const othersBefore = otherCpu(idleBefore.pid);
  const requestsBefore = requests();
  log(`boshsessions: ${sessions.length} open; idle for ${idleSeconds} s`);
  await monitor.profile('start');
  const t0 = performance.now();
  await sleep(idleSeconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const idleRequests = requests() - requestsBefore;
  const idleAfter = await monitor.stats();
  await monitor.profile('stop', 'idle');
  const open = sessions.filter((s) => !s.closed).length;
  const res = {
    scenario: 'boshsessions',
    transport: 'bosh',
    mech: MECH,
    wait,
    target: count,
    reached: sessions.length,
    failed: opened.failed,
    firstError: opened.firstError || sessions.find((s) => s.closed)?.error || undefined,
    closedWhileIdle: sessions.length - open,
    serverSessions: idleAfter.sessions,
    serverBoshSessions: idleAfter.boshSessions,
    seconds: round(opened.seconds),
    loginsPerSec: Math.round(sessions.length / opened.seconds),
    loginMsP50: opened.loginMs.p50,
    loginMsP99: opened.loginMs.p99,
    cpuUsPerLogin: opened.cpuUsPerLogin,
    loginHubCpuPct: opened.hubCpuPct,
    loginGenCpuPct: opened.genCpuPct,
    loginOtherCpuPct: opened.otherCpuPct,
    idleSeconds: round(elapsed, 1),
    idleRequestsPerSec: round(idleRequests / elapsed, 1),
    expectedRequestsPerSec: round(open / wait, 1),
    idleHubCpuPct: round(((idleAfter.cpu - idleBefore.cpu) / 1e6 / elapsed) * 100, 1),
    hubCpuUsPerIdleRequest: round((idleAfter.cpu - idleBefore.cpu) / Math.max(1, idleRequests), 0),
    otherCpuPct: otherCpuPct(othersBefore, otherCpu(idleBefore.pid), elapsed),
    ...memoryFigures(before, memory, open),
  };
  log(`boshsessions: ${res.reached}/${count} open (hub counts ${res.serverBoshSessions} BOSH sessions), ${res.failed} failed, ` +
    `${res.loginsPerSec} logins/s (${res.cpuUsPerLogin} µs hub CPU each); idle ${res.idleRequestsPerSec} requests/s ` +
    `(expected ${res.expectedRequestsPerSec}), hub ${res.idleHubCpuPct}% CPU, ${res.closedWhileIdle} closed; RSS ${res.rssMiB} MiB, ` +
    `${res.rssPerSessionKiB} KiB RSS and ${res.heapPerSessionKiB} KiB heap per session` + (res.firstError ? `; first error: ${res.firstError}` : ''));
  result(res);
  await closeAll(sessions);
}

// --- scenario: weblatency --------------------------------------------------------------------------

interface Mode {
  name: string;
  from: Transport;
  to: Transport;
}

function parseModes(list: string): Mode[] {
  return list.split(',').map((name) => {
    const [from, to] = name.split('-') as [Transport, Transport];
    const known = ['tcp', 'ws', 'bosh'];
    if (!known.includes(from) || !known.includes(to)) throw new Error(`--modes: ${name} is not <tcp|ws|bosh>-<tcp|ws|bosh>`);
    return { name, from, to };
  });
}

/**
 * One-to-one message latency through each pair of transports at fixed rates: `pairs` senders
 * of one transport each sending to their own receiver of another (users of each mode are
 * distinct), open-loop round-robin like the `messages` scenario, latency from the moment the
 * sender hands the stanza to its client library (for BOSH: queued for the next request) to
 * its arrival at the receiver.
 */
async function webLatencyScenario(): Promise<void> {
  const pairs = args.num('pairs', 200);
  const rates = args.list('rates', [1000, 2000]);
  const seconds = args.num('seconds', 20);
  const warmupSeconds = args.num('warmup-seconds', 3);
  const drainMs = args.num('drain-ms', 3000);
  const retries = args.num('retries', 2);
  const modes = parseModes(args.str('modes', 'tcp-tcp,ws-ws,bosh-bosh,tcp-bosh,bosh-tcp,tcp-tcp'));
  const users = args.num('users', modes.length * pairs * 2);
  if (users < modes.length * pairs * 2) throw new Error(`--users: ${modes.length} modes of ${pairs} pairs need ${modes.length * pairs * 2} users`);
  const hubPid = (await monitor.stats()).pid;

  for (const [m, mode] of modes.entries()) {
    const base = m * pairs * 2;
    const senders = new Array<LiveSession>(pairs);
    const receivers = new Array<LiveSession>(pairs);
    log(`weblatency ${mode.name}: logging in ${pairs} ${mode.from} senders and ${pairs} ${mode.to} receivers (u${base}..u${base + 2 * pairs - 1})`);
    const logins = await pool(pairs * 2, 50, async (i) => {
      const session = await login(i < pairs ? mode.from : mode.to, benchUser(base + i));
      if (i < pairs) senders[i] = session;
      else receivers[i - pairs] = session;
    }, 5);
    const all = [...senders, ...receivers].filter((s) => s !== undefined);
    if (logins.failed > 0) {
      log(`weblatency ${mode.name}: ${logins.failed} logins failed: ${logins.firstError}`);
      result({ scenario: 'weblatency', mode: mode.name, pairs, error: `${logins.failed} logins failed: ${logins.firstError}` });
      await closeAll(all);
      continue;
    }

    const receipts: Receipts = { samples: new Samples(), received: 0, errors: 0 };
    for (const s of senders) s.onText = () => undefined;
    for (const r of receivers) {
      r.onText = (chunk) => {
        const now = performance.now();
        if (scan(r, chunk, '<body>t=', (value) => {
          receipts.samples.push(now - Number(value));
          receipts.received++;
        })) receipts.errors++;
      };
    }
    const prefixes = receivers.map((_, k) => `<message type='chat' to='${benchUser(base + pairs + k)}@${tcpTarget.domain}/${BENCH_RESOURCE}' id='`);
    let seq = 0;
    const sendOne = (k: number): void => {
      senders[k]!.send(`${prefixes[k]}${(seq++).toString(36)}'><body>t=${performance.now().toFixed(3)} ${MESSAGE_PAD}</body></message>`);
    };

    const runStep = (rate: number, stepSeconds: number): Promise<Record<string, unknown>> => measureMessageStep({
      rate, seconds: stepSeconds, senders: pairs, sendOne, receipts, monitor, genLoopDelay, drainMs,
      closed: () => all.filter((s) => s.closed).length,
    });

    log(`weblatency ${mode.name}: warm-up ${warmupSeconds} s at ${rates[0]} msg/s`);
    await runStep(rates[0]!, warmupSeconds);
    await sleep(500);
    await monitor.profile('start');
    for (const rate of rates) {
      let row: Record<string, unknown> = {};
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (monitor.quietPct > 0) await monitor.waitQuiet(hubPid);
        row = { ...(await runStep(rate, seconds)), attempt };
        // Measured while other processes took CPU: again.
        if (monitor.quietPct === 0 || (row.otherCpuPct as number) < monitor.quietPct || attempt === retries) break;
        log(`weblatency ${mode.name}: other processes took ${row.otherCpuPct}% of a core at ${rate}/s; again`);
        await sleep(2000);
      }
      log(`weblatency ${mode.name}: ${rate}/s achieved ${row.achieved}/s loss ${row.loss} p50 ${row.p50} p90 ${row.p90} p99 ${row.p99} ` +
        `max ${row.max} ms, hub ${row.cpuUsPerMsg} µs/msg (${row.hubCpuPct}% CPU), generator ${row.genCpuPct}% CPU, ` +
        `event-loop stalls hub ${row.hubLoopDelayMaxMs} / generator ${row.genLoopDelayMaxMs} ms, other processes ${row.otherCpuPct}% CPU`);
      result({ scenario: 'weblatency', mode: mode.name, from: mode.from, to: mode.to, pairs, seconds, ...row });
      await sleep(500);
    }
    await monitor.profile('stop', `${m + 1}-${mode.name}`);
    await closeAll(all);
  }
}

// --- main ------------------------------------------------------------------------------------------

runScenario(scenario, {
  websessions: webSessionsScenario,
  boshsessions: boshSessionsScenario,
  weblatency: webLatencyScenario,
}, 'web-load.js websessions|boshsessions|weblatency [options]');
