// Load generator for the SMS gateway end to end (gateways/sms, docs/sms.md): XMPP chats to
// phone numbers become submit_sm at an SMSC, through the durable queue (destination 'sms') and
// the hub's one SMPP bind. Measures how many SMS per second the SMSC gets and how long an SMS
// takes from the client's write to the SMSC.
//
//   taskset -c 0 node --expose-gc dist/bench/server.js --users 1000 --smsc-port 15226 --sms-window 10
//   taskset -c 1 node dist/bench/sms-load.js sms [options]
//
// Scenario `sms` (see bench/README.md, "SMS gateway end to end"): starts the SMSC simulator
// (test/support/smsc-simulator.ts) as its own process on --smsc-port (pinned to --smsc-cpu, by
// default the generator's core), waits for the hub's link to bind, logs in --users bench users
// over TCP, then:
//   (a) rising: chats to distinct numbers (+4072nnnnnnn@sms.<domain>, one per SMS: the number
//       carries the SMS's id) at each of --steps SMS/s, open-loop (1 ms ticks, round-robin over
//       the users), --seconds each, the simulator answering at once. Up to the first step not
//       sustained (--keep-going: all of them): sustained = every SMS arrived, ≥ 98 % of the rate
//       within the sending window, no error to a client, p99 < 200 ms (a backlog building up in
//       the queue shows in the latency first).
//   (b) window-limited: the simulator delays every submit_sm_resp by --window-delay-ms, and the
//       same load at each of --window-steps SMS/s: with the hub's window W (--window, what the
//       hub was given as --sms-window) the SMSC can take at most W / delay SMS/s.
// Per step: SMS accepted by the simulator per second (its submit_sm events with
// command_status 0 stamped within the sending window; every event is read — the simulator's
// stdout is not quiet, ~0.5 KB of JSON per SMS, which it and this process handle far faster
// than the rates here), the latency from the chat's write to the submit_sm's arrival at the
// simulator (both clocks are this machine's wall clock: the simulator stamps Date.now(), whole
// milliseconds, counted as the middle of its millisecond, so ±0.5 ms), the simulator's
// submit_sm_resp outstanding when each came (the window's fill), the hub's CPU (/stats), the
// simulator's and this process's CPU, other processes' CPU, and errors the clients received.
// An SMS "arrives" once: a second submit_sm of the same number (a retry after a lost answer)
// counts as a duplicate.
//
// Options: --users 1000 --steps 200,500,1000,2000,3000 --seconds 15 --window 10 --window-delay-ms 20
//   --window-steps 400,1000 --window-seconds 15 --smsc-port 15226 --smsc-cpu N --warmup-seconds 3
//   --drain-ms 10000 (drain ends after this long without a new SMS at the SMSC) --max-drain-s 300
//   --mech SCRAM-SHA-1 --keep-going --profile FILE (after the measurements, a CPU profile of the
//   hub during one more step at --profile-rate 1000: FILE-sms.cpuprofile)
// Common: --port 15222 --stats http://127.0.0.1:15280 | --pid N, --label, --quiet-pct, --quiet-wait.
// Progress on stderr; one `RESULT {json}` line per measurement on stdout.
//
//   node dist/bench/sms-load.js report results.jsonl [...]   # the SMS tables (markdown) of a run
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startSmsc, type Smsc, type SmscEvent } from '../test/support/smsc.js';
import { Args, BENCH_RESOURCE, benchUser, log, pool, cell, measuredRows, printResult, round, runScenario, Samples, sleep, targetFromArgs } from './common.js';
import { HubMonitor, otherCpu, otherCpuPct } from './hub-monitor.js';
import { type Conn, tcpLogin } from './tcp-client.js';
import type { Mechanism } from './xmpp-client.js';

const args = new Args(process.argv.slice(2), new Set(['keep-going']));
const scenario = args.positional[0] ?? '';
const target = targetFromArgs(args);
const SMS_DOMAIN = args.str('sms-domain', `sms.${target.domain}`);
const LABEL = args.str('label', 'switchboard');
const monitor = HubMonitor.fromArgs(args);
const QUIET_PCT = monitor.quietPct;
/** The credentials bench/server.ts gives its SMS gateway. */
const SMSC_SYSTEM_ID = 'bench';
const SMSC_PASSWORD = 'bench';
/** Destinations: +4072 and seven digits, the SMS's id (valid Romanian mobile numbers). */
const NUMBER_PREFIX = '4072';
const MAX_IDS = 10_000_000;
/** ~100 characters of GSM 03.38 with the id: one SMS part. */
const BODY = 'from the Switchboard bench: the quick brown fox jumps over the lazy dog.';
const CLOCK_TICKS_PER_SECOND = 100;
/** A step is sustained when every SMS arrived, ≥ 98 % of the rate within the window, no errors, and p99 below this. */
const SUSTAINED_P99_MS = 200;
const MiB = 1048576;

const genLoopDelay = monitorEventLoopDelay({ resolution: 10 });
genLoopDelay.enable();

/** utime + stime of a process, in µs; 0 once it is gone. */
function processCpuUs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * Date.now() − performance.now(), to the microsecond: read at the instant Date.now() moves to
 * the next millisecond. Taken again before each step (the two clocks may drift apart slowly).
 */
function wallOffset(): number {
  const first = Date.now();
  for (;;) {
    const p = performance.now();
    const d = Date.now();
    if (d !== first) return d - p;
  }
}

// --- what the SMSC saw --------------------------------------------------------------------------

/** One measured step's counts, filled from the simulator's events. */
interface SmsRun {
  firstId: number;
  sent: number;
  /** Wall-clock ms: the sending window. */
  wallStart: number;
  wallEnd: number;
  /** submit_sm accepted (status 0) of this run's SMS, first time each. */
  arrived: number;
  /** ... of which stamped within the sending window. */
  arrivedInWindow: number;
  duplicates: number;
  /** submit_sm the simulator answered with an error status (throttling, rejects). */
  refusedBySmsc: number;
  latency: Samples;
  /** submit_sm_resp pending when each accepted submit_sm came, summed over `accepted` of them. */
  outstandingSum: number;
  outstandingMax: number;
  accepted: number;
  /** Last wall-clock stamp of an arrival. */
  lastArrival: number;
  binds: number;
  closes: number;
  smscErrors: number;
}

class SmscTracker {
  /** performance.now() of each SMS's write, by id; NaN once it arrived. */
  private sentAt = new Float64Array(1 << 16).fill(NaN);
  nextId = 0;
  offset = 0;
  run: SmsRun | undefined;

  constructor(private readonly smsc: Smsc) {}

  newId(now: number): number {
    const id = this.nextId++;
    if (id >= MAX_IDS) throw new Error(`more than ${MAX_IDS} SMS: the numbers would repeat`);
    if (id >= this.sentAt.length) {
      const bigger = new Float64Array(this.sentAt.length * 2).fill(NaN);
      bigger.set(this.sentAt);
      this.sentAt = bigger;
    }
    this.sentAt[id] = now;
    return id;
  }

  start(): SmsRun {
    this.consume();
    this.offset = wallOffset();
    this.run = {
      firstId: this.nextId, sent: 0, wallStart: Date.now(), wallEnd: Infinity, arrived: 0, arrivedInWindow: 0, duplicates: 0, refusedBySmsc: 0,
      latency: new Samples(), outstandingSum: 0, outstandingMax: 0, accepted: 0, lastArrival: 0, binds: 0, closes: 0, smscErrors: 0,
    };
    return this.run;
  }

  /** Reads the simulator's events so far, then forgets them. */
  consume(): void {
    const events = this.smsc.events;
    const n = events.length;
    for (let i = 0; i < n; i++) this.onEvent(events[i]!);
    events.splice(0, n);
  }

  private onEvent(e: SmscEvent): void {
    const run = this.run;
    switch (e.event) {
      case 'submit_sm': {
        if (!run) return;
        if (e.command_status !== 0) {
          run.refusedBySmsc++;
          return;
        }
        const outstanding = Number(e.outstanding);
        run.outstandingSum += outstanding;
        run.accepted++;
        run.outstandingMax = Math.max(run.outstandingMax, outstanding);
        const addr = String(e.destination_addr);
        const id = addr.length === NUMBER_PREFIX.length + 7 && addr.startsWith(NUMBER_PREFIX) ? Number(addr.slice(NUMBER_PREFIX.length)) : -1;
        const sent = id >= 0 && id < this.nextId ? this.sentAt[id]! : NaN;
        if (Number.isNaN(sent)) {
          run.duplicates++;
          return;
        }
        this.sentAt[id] = NaN;
        if (id < run.firstId) return; // a straggler of an earlier step
        run.arrived++;
        if (e.t <= run.wallEnd) run.arrivedInWindow++;
        run.lastArrival = Math.max(run.lastArrival, e.t);
        // The simulator's stamp is the start of its millisecond: the middle of it, on average.
        run.latency.push(e.t + 0.5 - (sent + this.offset));
        return;
      }
      case 'bind':
        if (run && e.command_status === 0) run.binds++;
        return;
      case 'close':
        if (run) run.closes++;
        return;
      case 'error':
        if (run) run.smscErrors++;
        log(`SMSC simulator: error ${JSON.stringify(e)}`);
    }
  }
}

// --- the scenario ---------------------------------------------------------------------------------

function pad7(id: number): string {
  return String(id).padStart(7, '0');
}

/** Errors the clients got (message errors for refused or failed SMS, or anything else). */
interface ClientErrors {
  count: number;
  first: string;
}

async function smsScenario(): Promise<void> {
  const users = args.num('users', 1000);
  const steps = args.list('steps', [200, 500, 1000, 2000, 3000]);
  const seconds = args.num('seconds', 15);
  const window = args.num('window', 10);
  const windowDelayMs = args.num('window-delay-ms', 20);
  const windowSteps = args.list('window-steps', [400, 1000]);
  const windowSeconds = args.num('window-seconds', 15);
  const smscPort = args.num('smsc-port', 15226);
  const smscCpu = args.has('smsc-cpu') ? args.num('smsc-cpu', 1) : undefined;
  const warmupSeconds = args.num('warmup-seconds', 3);
  const drainMs = args.num('drain-ms', 10_000);
  const maxDrainMs = args.num('max-drain-s', 300) * 1000;
  const mech = args.str('mech', 'SCRAM-SHA-1') as Mechanism;
  const keepGoing = args.flag('keep-going');
  const profiling = args.has('profile');
  const profileRate = args.num('profile-rate', 1000);

  log(`sms: SMSC simulator on 127.0.0.1:${smscPort}${smscCpu === undefined ? '' : `, CPU ${smscCpu}`}`);
  const smsc = await startSmsc({ systemId: SMSC_SYSTEM_ID, password: SMSC_PASSWORD, port: smscPort, cpu: smscCpu });
  const conns: Conn[] = new Array<Conn>(users);
  try {
    // The hub's link retries every second (bench/server.ts).
    await smsc.waitFor((e) => e.event === 'bind' && e.command_status === 0, 30_000);
    log(`sms: the hub is bound; logging in ${users} users`);
    const tracker = new SmscTracker(smsc);
    tracker.consume();
    const logins = await pool(users, 100, async (i) => {
      conns[i] = await tcpLogin(target, benchUser(i), { mech, tls: false, resource: BENCH_RESOURCE });
    }, 10);
    if (logins.failed > 0) throw new Error(`${logins.failed} logins failed: ${logins.firstError}`);

    const errors: ClientErrors = { count: 0, first: '' };
    for (const c of conns) {
      c.onText = (chunk) => {
        for (const marker of [`type='error'`, `type="error"`]) {
          for (let i = chunk.indexOf(marker); i >= 0; i = chunk.indexOf(marker, i + 1)) {
            errors.count++;
            errors.first ||= chunk.slice(Math.max(0, chunk.lastIndexOf('<', i)), i + 400);
          }
        }
      };
    }
    const sendOne = (k: number): void => {
      const id = tracker.newId(performance.now());
      conns[k]!.sock.write(`<message type='chat' to='+${NUMBER_PREFIX}${pad7(id)}@${SMS_DOMAIN}' id='s${id}'><body>SMS ${id} ${BODY}</body></message>`);
    };
    const hubPid = (await monitor.stats()).pid;
    const smscPid = smsc.pid;

    /** SMS at `rate` for `secs`, open-loop; then until every one arrived (or the drain gives up). */
    const step = async (rate: number, secs: number): Promise<Record<string, unknown>> => {
      if (QUIET_PCT > 0) await monitor.waitQuiet(hubPid);
      const before = await monitor.stats();
      const others = otherCpu(before.pid);
      const gen = process.cpuUsage();
      const smscCpuBefore = processCpuUs(smscPid);
      const errorsBefore = errors.count;
      errors.first = '';
      genLoopDelay.reset();
      const run = tracker.start();
      const consumer = setInterval(() => tracker.consume(), 50);
      const total = Math.round(rate * secs);
      let maxLag = 0;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          const due = Math.min(total, Math.floor(((now - start) * rate) / 1000));
          if (due > run.sent) maxLag = Math.max(maxLag, now - (start + (run.sent * 1000) / rate));
          while (run.sent < due) sendOne(run.sent++ % users);
          if (run.sent >= total) return resolve();
          setTimeout(tick, 1);
        };
        tick();
      });
      const sendSeconds = (performance.now() - start) / 1000;
      run.wallEnd = Date.now();
      const genCpu = process.cpuUsage(gen);
      // Drain: until every SMS arrived, or nothing arrived for drainMs.
      const drainStart = performance.now();
      let lastProgress = drainStart;
      let lastArrived = -1;
      for (;;) {
        tracker.consume();
        const now = performance.now();
        if (run.arrived !== lastArrived) {
          lastArrived = run.arrived;
          lastProgress = now;
        }
        if (run.arrived >= run.sent || now - lastProgress > drainMs || now - drainStart > maxDrainMs) break;
        await sleep(10);
      }
      clearInterval(consumer);
      tracker.consume();
      const after = await monitor.stats();
      const elapsed = (performance.now() - start) / 1000;
      const hubCpu = after.cpu - before.cpu;
      const lat = run.latency.summary();
      const windowSecs = (run.wallEnd - run.wallStart) / 1000;
      const acceptedPerSec = round(run.arrivedInWindow / windowSecs, 1);
      const clientErrors = errors.count - errorsBefore;
      const lost = run.sent - run.arrived;
      // A backlog building up in the queue shows in the latency before it shows in the rate.
      const pass = lost === 0 && clientErrors === 0 && run.refusedBySmsc === 0 && acceptedPerSec >= 0.98 * rate && lat.p99 < SUSTAINED_P99_MS;
      return {
        target: rate,
        seconds: secs,
        sent: run.sent,
        achieved: round(run.sent / sendSeconds, 1),
        arrived: run.arrived,
        acceptedPerSec,
        lost,
        duplicates: run.duplicates,
        refusedBySmsc: run.refusedBySmsc,
        clientErrors,
        firstClientError: errors.first || undefined,
        p50: lat.p50,
        p90: lat.p90,
        p99: lat.p99,
        max: lat.max,
        outstandingMean: round(run.outstandingSum / Math.max(1, run.accepted), 2),
        outstandingMax: run.outstandingMax,
        drainSeconds: round((Math.max(run.lastArrival, run.wallEnd) - run.wallEnd) / 1000, 2),
        hubCpuPct: round((hubCpu / 1e6 / elapsed) * 100, 0),
        hubUsPerSms: round(hubCpu / Math.max(1, run.arrived), 0),
        smscCpuPct: round(((processCpuUs(smscPid) - smscCpuBefore) / 1e6 / elapsed) * 100, 0),
        genCpuPct: round(((genCpu.user + genCpu.system) / 1e6 / sendSeconds) * 100, 0),
        genLagMaxMs: round(maxLag, 1),
        genLoopDelayMaxMs: round(genLoopDelay.max / 1e6, 1),
        hubLoopDelayMaxMs: after.loopDelayMaxMs === undefined ? undefined : round(after.loopDelayMaxMs, 1),
        otherCpuPct: otherCpuPct(others, otherCpu(before.pid), elapsed),
        rssMiB: round(after.rss / MiB, 1),
        rebinds: run.binds,
        smscCloses: run.closes,
        smscErrors: run.smscErrors,
        closed: conns.filter((c) => c.closed).length,
        pass,
      };
    };
    const describe = (r: Record<string, unknown>): string =>
      `${r.acceptedPerSec} accepted/s (${r.arrived}/${r.sent}, lost ${r.lost}, dup ${r.duplicates}, refused ${r.refusedBySmsc}), ` +
      `XMPP→SMSC p50 ${r.p50} p90 ${r.p90} p99 ${r.p99} max ${r.max} ms, window fill mean ${r.outstandingMean} max ${r.outstandingMax}, ` +
      `drain ${r.drainSeconds} s, hub ${r.hubCpuPct}% (${r.hubUsPerSms} µs/SMS), SMSC ${r.smscCpuPct}%, gen ${r.genCpuPct}%, ` +
      `other ${r.otherCpuPct}%, client errors ${r.clientErrors}${r.firstClientError ? ` (${String(r.firstClientError).slice(0, 200)})` : ''}` +
      `${r.rebinds ? `, ${r.rebinds} rebinds` : ''}: ${r.pass ? 'sustained' : 'NOT sustained'}`;

    log(`sms: warm-up ${warmupSeconds} s at 200 SMS/s`);
    await step(200, warmupSeconds);
    await sleep(500);

    // (a) rising, the simulator answering at once.
    const rising: Array<Record<string, unknown>> = [];
    for (const rate of steps) {
      const r = await step(rate, seconds);
      rising.push(r);
      result({ scenario: 'sms', phase: 'rising', users, window, windowDelayMs: 0, ...r });
      log(`sms: ${rate} SMS/s: ${describe(r)}`);
      if (!r.pass && !keepGoing) break;
      await sleep(1000);
    }

    // (b) the SMSC's window is the limit.
    await smsc.command({ cmd: 'window_delay_ms', ms: windowDelayMs });
    const expected = round((window * 1000) / windowDelayMs, 0);
    log(`sms: the simulator answers each submit_sm after ${windowDelayMs} ms: at most ${window} / ${windowDelayMs} ms = ${expected} SMS/s through a window of ${window}`);
    const limited: Array<Record<string, unknown>> = [];
    for (const rate of windowSteps) {
      const r = await step(rate, windowSeconds);
      limited.push(r);
      result({ scenario: 'sms', phase: 'window-limited', users, window, windowDelayMs, expectedPerSec: expected, ...r });
      log(`sms: ${rate} SMS/s, responses after ${windowDelayMs} ms: ${describe(r)}`);
      await sleep(1000);
    }
    await smsc.command({ cmd: 'window_delay_ms', ms: 0 });

    const sustained = rising.filter((r) => r.pass).map((r) => r.target as number);
    const at500 = rising.find((r) => r.target === 500);
    const full = limited.reduce<Record<string, unknown> | undefined>((best, r) =>
      (!best || (r.acceptedPerSec as number) > (best.acceptedPerSec as number) ? r : best), undefined);
    const windowPerSec = (full?.acceptedPerSec as number | undefined) ?? 0;
    const summary = {
      scenario: 'sms-summary', users, window, seconds,
      sustainedRate: Math.max(0, ...sustained),
      maxAcceptedPerSec: Math.max(0, ...rising.map((r) => r.acceptedPerSec as number)),
      at500: at500 && { pass: at500.pass, acceptedPerSec: at500.acceptedPerSec, p50: at500.p50, p99: at500.p99, hubCpuPct: at500.hubCpuPct, hubUsPerSms: at500.hubUsPerSms },
      windowDelayMs, windowExpectedPerSec: expected, windowAcceptedPerSec: windowPerSec,
      windowOutstandingMax: full?.outstandingMax, windowOutstandingMean: full?.outstandingMean, windowHubCpuPct: full?.hubCpuPct,
      // The hub sustains 500 SMS/s with an SMSC that answers at once, and with a slow SMSC the
      // rate is what its window allows, the window full.
      targetMet: at500?.pass === true && windowPerSec >= 0.9 * expected && full?.outstandingMax === window,
    };
    result(summary);
    log(`sms: sustained up to ${summary.sustainedRate} SMS/s (most accepted ${summary.maxAcceptedPerSec}/s); at 500/s p50 ${at500?.p50} p99 ${at500?.p99} ms, ` +
      `hub ${at500?.hubCpuPct}%; window ${window} with ${windowDelayMs} ms answers: ${windowPerSec}/s of ${expected}/s, fill max ${full?.outstandingMax}; ` +
      `target (500 SMS/s per bind, limited by the SMSC's window) ${summary.targetMet ? 'met' : 'missed'}`);

    if (profiling) {
      // Not a measurement: the profiler's own overhead is in it.
      log(`sms: profiled step at ${profileRate} SMS/s`);
      await monitor.profile('start');
      const r = await step(profileRate, seconds);
      await monitor.profile('stop', 'sms');
      printResult(`${LABEL}-profiled`, { scenario: 'sms', phase: 'rising', users, window, windowDelayMs: 0, ...r });
      log(`sms: profiled ${profileRate} SMS/s: ${describe(r)}`);
    }
  } finally {
    for (const c of conns) c?.destroy();
    await smsc.stop();
  }
}

function result(data: Record<string, unknown>): void {
  printResult(LABEL, data);
}

// --- report ----------------------------------------------------------------------------------------

/** The SMS scenario's rows of a run's RESULT lines as markdown tables. */
function report(files: string[]): void {
  const measured = measuredRows(files);
  const steps = measured.filter((r) => r.scenario === 'sms');
  const summary = measured.filter((r) => r.scenario === 'sms-summary').at(-1);
  const v = cell;
  let out = '';
  if (steps.length > 0) {
    out += `\nSMS gateway end to end (${v(steps[0]!.users)} users, one bind, window ${v(steps[0]!.window)}, ${v(steps[0]!.seconds)} s per step)\n\n`;
    out += '| SMSC answers after | SMS/s offered | accepted/s at the SMSC | lost | dup | client errors | XMPP → SMSC p50 / p90 / p99 / max ms | window fill mean / max | drain s | hub CPU | hub µs/SMS | SMSC sim CPU | other CPU | sustained |\n';
    out += '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
    for (const r of steps) {
      out += `| ${v(r.windowDelayMs)} ms | ${v(r.target)} | ${v(r.acceptedPerSec)}${r.expectedPerSec ? ` (max ${v(r.expectedPerSec)})` : ''} | ${v(r.lost)} | ${v(r.duplicates)} | ${v(r.clientErrors)} | ` +
        `${v(r.p50)} / ${v(r.p90)} / ${v(r.p99)} / ${v(r.max)} | ${v(r.outstandingMean)} / ${v(r.outstandingMax)} | ${v(r.drainSeconds)} | ${v(r.hubCpuPct)}% | ${v(r.hubUsPerSms)} | ` +
        `${v(r.smscCpuPct)}% | ${v(r.otherCpuPct)}% | ${r.pass ? 'yes' : 'no'} |\n`;
    }
  }
  if (summary) {
    const at500 = summary.at500 as Record<string, unknown> | undefined;
    out += `\nSustained up to ${v(summary.sustainedRate)} SMS/s (most accepted ${v(summary.maxAcceptedPerSec)}/s)` +
      `${at500 ? `; at 500 SMS/s XMPP → SMSC p50 ${v(at500.p50)} / p99 ${v(at500.p99)} ms, hub ${v(at500.hubCpuPct)}% of a core (${v(at500.hubUsPerSms)} µs/SMS)` : ''}. ` +
      `SMSC answering after ${v(summary.windowDelayMs)} ms: ${v(summary.windowAcceptedPerSec)} SMS/s of the window's ${v(summary.windowExpectedPerSec)} ` +
      `(${v(summary.window)} / ${v(summary.windowDelayMs)} ms), window fill max ${v(summary.windowOutstandingMax)}, hub ${v(summary.windowHubCpuPct)}%. ` +
      `Target (500 SMS/s per bind, limited by the SMSC's window): ${summary.targetMet ? 'met ✅' : 'missed ❌'}\n`;
  }
  process.stdout.write(out);
}

runScenario(scenario, {
  sms: smsScenario,
  report: () => report(args.positional.slice(1)),
}, 'sms-load.js sms [options] | report results.jsonl');
