// Load generator for the bench hub (bench/server.ts) — or any XMPP server with the same users
// (u0..uN-1, one password) — over plain TCP: raw clients with hand-built stanzas and
// indexOf-level parsing (bench/tcp-client.ts), so one core can drive far more traffic than the
// server can take. The web transports have their own generator, bench/web-load.ts.
//
//   taskset -c 1 node dist/bench/load.js <scenario> [options]
//
// Scenarios (see bench/README.md): connect, messages, presence, sessions, noise.
// Common options: --host 127.0.0.1 --port 15222 --domain localhost --password bench-password
//   --stats http://127.0.0.1:15280 (bench server stats endpoint) | --pid N (read /proc/N instead)
//   --label text (copied into the result), --profile FILE [--profile-kind heap]
// Human-readable progress goes to stderr; one `RESULT {json}` line per measurement to stdout.
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Args, BENCH_RESOURCE, benchUser, log, MESSAGE_PAD, pool, printResult, round, runScenario, Samples, sleep, targetFromArgs } from './common.js';
import { HubMonitor, otherCpu, otherCpuPct } from './hub-monitor.js';
import { measureMessageStep, type Receipts } from './message-step.js';
import { type Conn, tcpLogin } from './tcp-client.js';
import { type Mechanism, scan } from './xmpp-client.js';

const args = new Args(process.argv.slice(2), new Set(['tls', 'keep', 'no-gc', 'worker']));
const scenario = args.positional[0] ?? '';
const target = targetFromArgs(args);
const DOMAIN = target.domain;
const LABEL = args.str('label', 'switchboard');
const monitor = HubMonitor.fromArgs(args);
const QUIET_PCT = monitor.quietPct;


function result(data: Record<string, unknown>): void {
  printResult(LABEL, data);
}

const genLoopDelay = monitorEventLoopDelay({ resolution: 10 });
genLoopDelay.enable();

function userFor(i: number, users: number): { user: string; resource: string } {
  return { user: benchUser(i % users), resource: `${BENCH_RESOURCE}${i < users ? '' : Math.floor(i / users)}` };
}

// --- scenario: connect ---------------------------------------------------------------------------

async function connectScenario(): Promise<void> {
  const count = args.num('count', 2000);
  const users = args.num('users', count);
  const concurrency = args.num('concurrency', 50);
  const mech = args.str('mech', 'PLAIN') as Mechanism;
  const useTls = args.flag('tls');
  const conns: Conn[] = [];
  const latency = new Samples();

  const before = await monitor.stats(true);
  if (QUIET_PCT > 0) await monitor.waitQuiet(before.pid);
  await monitor.profile('start');
  const cpuBefore = (await monitor.stats()).cpu;
  const othersBefore = otherCpu(before.pid);
  const genBefore = process.cpuUsage();
  log(`connect: ${count} logins, ${mech}${useTls ? ' + STARTTLS' : ''}, ${concurrency} in flight`);
  const t0 = performance.now();
  let lastCount = 0;
  let lastTime = t0;
  const progress = setInterval(() => {
    const now = performance.now();
    log(`connect: ${conns.length} open, ${Math.round(((conns.length - lastCount) * 1000) / (now - lastTime))} logins/s`);
    lastCount = conns.length;
    lastTime = now;
  }, 2000);
  const outcome = await pool(count, concurrency, async (i) => {
    const started = performance.now();
    const { user, resource } = userFor(i, users);
    conns.push(await tcpLogin(target, user, { mech, tls: useTls, resource }));
    latency.push(performance.now() - started);
  }, 100);
  clearInterval(progress);
  const seconds = (performance.now() - t0) / 1000;
  const cpuAfter = (await monitor.stats()).cpu;
  await monitor.profile('stop');
  const othersPct = otherCpuPct(othersBefore, otherCpu(before.pid), seconds);
  const gen = process.cpuUsage(genBefore);
  await sleep(1000);
  const after = await monitor.stats(true);
  const open = conns.filter((c) => !c.closed).length;
  const lat = latency.summary();
  const res = {
    scenario: 'connect',
    mech,
    tls: useTls,
    count,
    ok: outcome.ok,
    failed: outcome.failed,
    firstError: outcome.firstError || undefined,
    seconds: round(seconds),
    loginsPerSec: Math.round(outcome.ok / seconds),
    loginMsP50: lat.p50,
    loginMsP99: lat.p99,
    cpuUsPerLogin: Math.round((cpuAfter - cpuBefore) / Math.max(1, outcome.ok)),
    hubCpuPct: round(((cpuAfter - cpuBefore) / 1e6 / seconds) * 100, 0),
    genCpuPct: round(((gen.user + gen.system) / 1e6 / seconds) * 100, 0),
    otherCpuPct: othersPct,
    open,
    serverSessions: after.sessions,
    rssBefore: before.rss,
    rssAfter: after.rss,
    rssPerSessionKiB: round((after.rss - before.rss) / Math.max(1, open) / 1024, 1),
    heapPerSessionKiB: after.heapUsed !== undefined && before.heapUsed !== undefined
      ? round((after.heapUsed - before.heapUsed) / Math.max(1, open) / 1024, 1) : undefined,
    gc: after.gc === 1,
  };
  log(`connect: ${res.ok} ok, ${res.failed} failed in ${res.seconds} s: ${res.loginsPerSec} logins/s, ` +
    `${res.rssPerSessionKiB} KiB RSS and ${res.heapPerSessionKiB} KiB heap per idle session`);
  if (outcome.firstError) log(`first error: ${outcome.firstError}`);
  result(res);
  for (const c of conns) c.destroy();
  await sleep(500);
}

// --- scenario: messages --------------------------------------------------------------------------

async function loginAll(n: number, mech: Mechanism, concurrency: number): Promise<Conn[]> {
  const conns: Conn[] = new Array<Conn>(n);
  const outcome = await pool(n, concurrency, async (i) => {
    conns[i] = await tcpLogin(target, benchUser(i), { mech, tls: false, resource: BENCH_RESOURCE });
    conns[i]!.index = i;
  }, 10);
  if (outcome.failed > 0) throw new Error(`${outcome.failed} logins failed: ${outcome.firstError}`);
  return conns;
}

async function messagesScenario(): Promise<void> {
  const pairs = args.num('pairs', 500);
  const steps = args.list('steps', [2000, 5000, 10000, 15000, 20000, 25000, 30000, 35000, 40000]);
  const stepSeconds = args.num('step-seconds', 10);
  const maxP99 = args.num('max-p99', 50);
  const drainMs = args.num('drain-ms', 3000);
  const mech = args.str('mech', 'SCRAM-SHA-1') as Mechanism;
  const n = pairs * 2;

  log(`messages: logging in ${n} users`);
  const conns = await loginAll(n, mech, 100);
  const receipts: Receipts = { samples: new Samples(), received: 0, errors: 0 };
  for (const c of conns) {
    c.onText = (chunk) => {
      const now = performance.now();
      if (scan(c, chunk, '<body>t=', (value) => {
        receipts.samples.push(now - Number(value));
        receipts.received++;
      })) receipts.errors++;
    };
  }
  const prefixes = conns.map((_, i) => `<message type='chat' to='${benchUser(i ^ 1)}@${DOMAIN}/${BENCH_RESOURCE}' id='`);
  let seq = 0;
  const sendOne = (k: number): void => {
    const c = conns[k]!;
    c.sock.write(`${prefixes[k]}${(seq++).toString(36)}'><body>t=${performance.now().toFixed(3)} ${MESSAGE_PAD}</body></message>`);
  };

  const runStep = (rate: number, seconds: number): Promise<Record<string, unknown>> => measureMessageStep({
    rate, seconds, senders: n, sendOne, receipts, monitor, genLoopDelay, drainMs,
    closed: () => conns.filter((c) => c.closed).length,
  });

  log('messages: warm-up 3 s at 2000 msg/s');
  await runStep(2000, 3);
  await sleep(500);
  const rows: Array<Record<string, unknown>> = [];
  await monitor.profile('start');
  const retries = args.num('retries', 2);
  const hubPid = (await monitor.stats()).pid;
  const passes = (row: Record<string, unknown>) => (row.p99 as number) <= maxP99 && row.loss === 0 && row.closed === 0;
  for (const rate of steps) {
    let row: Record<string, unknown> = {};
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (QUIET_PCT > 0) await monitor.waitQuiet(hubPid);
      row = { ...(await runStep(rate, stepSeconds)), attempt };
      // A failure while other processes took CPU says little about the hub: measure again.
      if (passes(row) || (row.otherCpuPct as number) < QUIET_PCT || attempt === retries) break;
      log(`messages: ${rate}/s failed with other processes at ${row.otherCpuPct}% of a core (p99 ${row.p99} ms); again`);
      await sleep(2000);
    }
    rows.push(row);
    log(`messages: target ${rate}/s achieved ${row.achieved}/s loss ${row.loss} p50 ${row.p50} p99 ${row.p99} max ${row.max} ms, ` +
      `hub ${row.cpuUsPerMsg} µs/msg (${row.hubCpuPct}% CPU), generator ${row.genCpuPct}% CPU, lag ${row.genLagMaxMs} ms, event-loop stalls hub ${row.hubLoopDelayMaxMs} / generator ${row.genLoopDelayMaxMs} ms, other processes ${row.otherCpuPct}% CPU`);
    result({ scenario: 'messages', users: n, stepSeconds, ...row });
    if (!passes(row)) break;
    await sleep(500);
  }
  await monitor.profile('stop');
  const good = rows.filter((r) => (r.p99 as number) <= maxP99 && r.loss === 0 && (r.achieved as number) >= 0.97 * (r.target as number));
  const best = good.at(-1);
  result({ scenario: 'messages-summary', users: n, maxRate: best?.achieved ?? 0, atTarget: best?.target ?? 0,
    cpuUsPerMsg: best?.cpuUsPerMsg, p99: best?.p99 });
  for (const c of conns) c.destroy();
  await sleep(500);
}

// --- scenario: presence --------------------------------------------------------------------------

async function presenceScenario(): Promise<void> {
  const users = args.num('users', 1000);
  const contacts = args.num('contacts', 20);
  const rate = args.num('rate', 50);
  const seconds = args.num('seconds', 10);
  const settleMs = args.num('settle-ms', 3000);
  const mech = args.str('mech', 'SCRAM-SHA-1') as Mechanism;
  /** Log every change slower than this many ms (0: none), to line them up with the hub's GC trace. */
  const slowLog = args.num('slow-log', 0);

  log(`presence: logging in ${users} users with ${contacts} contacts each`);
  const conns = await loginAll(users, mech, 100);
  const sentAt = new Map<number, { t: number; sender: number; got: number; done: boolean }>();
  const latency = new Samples();
  let deliveries = 0;
  let errors = 0;
  for (const c of conns) {
    c.onText = (chunk) => {
      const now = performance.now();
      if (scan(c, chunk, '<status>p', (value) => {
        const entry = sentAt.get(Number(value));
        if (!entry || entry.sender === c.index) return;
        deliveries++;
        if (++entry.got === contacts && !entry.done) {
          entry.done = true;
          latency.push(now - entry.t);
          if (slowLog > 0 && now - entry.t > slowLog) {
            log(`presence: change ${value} took ${round(now - entry.t)} ms (at ${new Date(performance.timeOrigin + entry.t).toISOString().slice(11, 23)})`);
          }
        }
      })) errors++;
    };
  }
  log(`presence: letting the initial presence settle (${settleMs} ms)`);
  await sleep(settleMs);
  // Warm-up (JIT) with the same pattern, not counted; sequence numbers below 0 are ignored.
  const warmup = Math.round(rate * args.num('warmup-seconds', 3));
  for (let k = 0; k < warmup; k++) {
    await sleep(1000 / rate);
    conns[(k * 7919 + 13) % users]!.send(`<presence><show>away</show><status>w${k} warm-up</status></presence>`);
  }
  await sleep(500);
  const changes = Math.round(rate * seconds);
  if (QUIET_PCT > 0) await monitor.waitQuiet((await monitor.stats()).pid);
  await monitor.profile('start');
  const statsBefore = await monitor.stats();
  const othersBefore = otherCpu(statsBefore.pid);
  const start = performance.now();
  for (let k = 0; k < changes; k++) {
    const wait = start + (k * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const sender = (k * 7919) % users;
    sentAt.set(k, { t: performance.now(), sender, got: 0, done: false });
    conns[sender]!.send(`<presence><show>${k % 2 ? 'away' : 'xa'}</show><status>p${k} changed</status></presence>`);
  }
  const drainStart = performance.now();
  while (latency.length < changes && performance.now() - drainStart < 3000) await sleep(5);
  const statsAfter = await monitor.stats();
  await monitor.profile('stop');
  const lat = latency.summary();
  const res = {
    scenario: 'presence',
    users,
    contacts,
    changes,
    complete: lat.n,
    deliveries,
    expectedDeliveries: changes * contacts,
    p50: lat.p50,
    p90: lat.p90,
    p99: lat.p99,
    max: lat.max,
    cpuUsPerChange: round((statsAfter.cpu - statsBefore.cpu) / changes, 1),
    hubLoopDelayMaxMs: statsAfter.loopDelayMaxMs === undefined ? undefined : round(statsAfter.loopDelayMaxMs, 1),
    otherCpuPct: otherCpuPct(othersBefore, otherCpu(statsBefore.pid), (performance.now() - start) / 1000),
    streamErrors: errors,
  };
  log(`presence: ${res.complete}/${changes} complete, to all ${contacts} contacts p50 ${res.p50} p99 ${res.p99} max ${res.max} ms, ` +
    `${res.cpuUsPerChange} µs hub CPU per change`);
  result(res);
  for (const c of conns) c.destroy();
  await sleep(500);
}

// --- scenario: sessions --------------------------------------------------------------------------

type WorkerMessage = { type: 'progress'; ok: number; failed: number } | { type: 'done'; ok: number; failed: number; firstError: string };

async function sessionsWorker(): Promise<void> {
  const offset = args.num('offset', 0);
  const count = args.num('count', 10000);
  const users = args.num('users', 20000);
  const concurrency = args.num('concurrency', 100);
  const mech = args.str('mech', 'SCRAM-SHA-1') as Mechanism;
  const useTls = args.flag('tls');
  const conns: Conn[] = [];
  let ok = 0;
  let failed = 0;
  const progress = setInterval(() => process.send!({ type: 'progress', ok, failed } satisfies WorkerMessage), 1000);
  const outcome = await pool(count, concurrency, async (i) => {
    const { user, resource } = userFor(offset + i, users);
    try {
      conns.push(await tcpLogin(target, user, { mech, tls: useTls, resource }));
      ok++;
    } catch (err) {
      failed++;
      throw err;
    }
  }, 200);
  clearInterval(progress);
  process.send!({ type: 'done', ok: outcome.ok, failed: outcome.failed, firstError: outcome.firstError } satisfies WorkerMessage);
  process.on('message', (m) => {
    if (m === 'exit') {
      for (const c of conns) c.destroy();
      setTimeout(() => process.exit(0), 200);
    }
  });
}

async function sessionsScenario(): Promise<void> {
  const count = args.num('count', 20000);
  const procs = args.num('procs', 2);
  const concurrency = args.num('concurrency', 100);
  const users = args.num('users', count);
  const mech = args.str('mech', 'SCRAM-SHA-1');
  const useTls = args.flag('tls');
  const before = await monitor.stats(true);
  log(`sessions: opening ${count} sessions from ${procs} processes (${mech}${useTls ? ' + STARTTLS' : ''})`);
  const t0 = performance.now();
  const share = Math.ceil(count / procs);
  const self = fileURLToPath(import.meta.url);
  const common = ['--host', target.host, '--port', String(target.port), '--domain', DOMAIN, '--password', target.password, '--mech', mech,
    '--users', String(users), '--concurrency', String(Math.ceil(concurrency / procs))];
  const states = Array.from({ length: procs }, () => ({ ok: 0, failed: 0, done: false, firstError: '' }));
  const children = states.map((state, p) => {
    const n = Math.min(share, count - p * share);
    const child = fork(self, ['sessions-worker', ...common, '--offset', String(p * share), '--count', String(n),
      ...(useTls ? ['--tls'] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: WorkerMessage) => {
      state.ok = m.ok;
      state.failed = m.failed;
      if (m.type === 'done') {
        state.done = true;
        state.firstError = m.firstError;
      }
    });
    child.on('exit', () => {
      state.done = true;
    });
    return child;
  });
  let lastLog = 0;
  while (!states.every((s) => s.done)) {
    await sleep(200);
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      log(`sessions: ${states.reduce((a, s) => a + s.ok, 0)} open, ${states.reduce((a, s) => a + s.failed, 0)} failed`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await sleep(2000);
  const after = await monitor.stats(true);
  const ok = states.reduce((a, s) => a + s.ok, 0);
  const res = {
    scenario: 'sessions',
    tls: useTls,
    target: count,
    reached: ok,
    serverSessions: after.sessions,
    failed: states.reduce((a, s) => a + s.failed, 0),
    firstError: states.map((s) => s.firstError).find((e) => e) || undefined,
    seconds: round(seconds),
    rss: after.rss,
    rssMiB: round(after.rss / 1048576, 1),
    heapUsedMiB: after.heapUsed !== undefined ? round(after.heapUsed / 1048576, 1) : undefined,
    rssPerSessionKiB: round((after.rss - before.rss) / Math.max(1, ok) / 1024, 1),
    heapPerSessionKiB: after.heapUsed !== undefined && before.heapUsed !== undefined
      ? round((after.heapUsed - before.heapUsed) / Math.max(1, ok) / 1024, 1) : undefined,
    fdLimit: undefined as number | undefined,
  };
  log(`sessions: ${res.reached}/${count} open (server counts ${res.serverSessions}) in ${res.seconds} s; ` +
    `RSS ${res.rssMiB} MiB, ${res.rssPerSessionKiB} KiB/session${res.firstError ? `; first error: ${res.firstError}` : ''}`);
  result(res);
  for (const child of children) if (child.connected) child.send('exit');
  await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve)))));
}

// --- scenario: noise -----------------------------------------------------------------------------

/**
 * How much CPU this machine takes away from a busy process on this core: a busy loop notes
 * every gap of more than 5 ms in its own progress. Run one per core (pinned) before measuring.
 */
async function noiseScenario(): Promise<void> {
  const seconds = args.num('seconds', 5);
  const cpu = args.str('cpu', '?');
  const end = performance.now() + seconds * 1000;
  const gaps: number[] = [];
  let last = performance.now();
  let lost = 0;
  while (last < end) {
    const now = performance.now();
    if (now - last > 5) {
      gaps.push(now - last);
      lost += now - last;
    }
    last = now;
  }
  gaps.sort((a, b) => b - a);
  const res = { scenario: 'noise', cpu, seconds, gaps: gaps.length, maxGapMs: round(gaps[0] ?? 0, 1),
    top: gaps.slice(0, 5).map((g) => round(g, 1)), lostPct: round((lost / (seconds * 1000)) * 100, 1) };
  log(`noise on CPU ${cpu}: ${res.gaps} gaps over 5 ms in ${seconds} s, longest ${res.maxGapMs} ms, ${res.lostPct}% of the time lost`);
  result(res);
}

// --- main ----------------------------------------------------------------------------------------

runScenario(scenario, {
  connect: connectScenario,
  messages: messagesScenario,
  presence: presenceScenario,
  sessions: sessionsScenario,
  'sessions-worker': sessionsWorker,
  noise: noiseScenario,
}, 'load.js connect|messages|presence|sessions [options]', ['sessions-worker']);
