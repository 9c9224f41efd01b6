// The SMS gateway's SMPP link (gateways/sms/smpp-link.ts) alone: submit_sm per second through
// one bind_transceiver with the window kept full (as many callers as the window, throughput 0),
// and the latency from submit() to its submit_sm_resp, against the SMSC simulator
// (test/support/smsc-simulator.ts) as its own process pinned to another core. Then one paced
// run with the link's own throughput limit (the gateway's configured rate).
//
//   taskset -c 0 node dist/bench/smpp.js [--windows 50,100] [--submits 20000] [--warmup 2000]
//       [--smsc-cpu 1] [--paced 500] [--paced-submits 5000]
//
// One RESULT line per run on stdout (scenario "smpp"), a summary on stderr.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/core/log.js';
import { SmppLink } from '../gateways/sms/smpp-link.js';
import { startSmsc, type Smsc } from '../test/support/smsc.js';
import { Args, log, pool, printResult, round, Samples } from './common.js';

const args = new Args(process.argv.slice(2));
const windows = args.list('windows', [50, 100]);
const submits = args.num('submits', 20_000);
const warmup = args.num('warmup', 2_000);
const smscCpu = args.num('smsc-cpu', 1);
const paced = args.num('paced', 500);
const pacedSubmits = args.num('paced-submits', 5_000);
const linkLog = createLogger({ level: 'warn', format: 'json' }, process.stderr);
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, in µs. */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
}

const sms = (i: number): Record<string, unknown> => ({
  source_addr: '40700000001', source_addr_ton: 1, source_addr_npi: 1,
  destination_addr: `4072${String(i % 10_000_000).padStart(7, '0')}`, dest_addr_ton: 1, dest_addr_npi: 1,
  registered_delivery: 1, data_coding: 0, short_message: Buffer.from(`bench message number ${i}, about sixty octets long....`),
});

async function run(smsc: Smsc, window: number, throughput: number, count: number, warmupCount: number): Promise<void> {
  const link = new SmppLink({
    endpoints: [{ host: '127.0.0.1', port: smsc.port, systemId: 'bench', password: 'bench', systemType: '', bind: 'transceiver' }],
    window,
    throughput,
    enquireLinkSeconds: 30,
    responseTimeoutSeconds: 10,
    reconnect: { minDelayMs: 500, maxDelayMs: 5_000 },
    log: linkLog,
  }, async () => 0);
  link.start();
  try {
    await link.ready(5_000);
    await pool(warmupCount, window, async (i) => {
      await link.submit(sms(i));
    });
    const latency = new Samples();
    const smscCpuBefore = processCpuUs(smsc.pid!);
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const { failed, firstError } = await pool(count, window, async (i) => {
      const sent = performance.now();
      await link.submit(sms(warmupCount + i));
      latency.push(performance.now() - sent);
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const smscCpu = processCpuUs(smsc.pid!) - smscCpuBefore;
    const lat = latency.summary();
    const result = {
      scenario: 'smpp',
      window,
      throughput,
      submits: count,
      failed,
      submitsPerSec: Math.round(count / seconds),
      latencyP50Ms: lat.p50,
      latencyP99Ms: lat.p99,
      latencyMaxMs: lat.max,
      linkCpuUsPerSubmit: round((cpu.user + cpu.system) / count, 1),
      smscCpuUsPerSubmit: round(smscCpu / count, 1),
    };
    printResult('switchboard', result);
    log(`window ${window}, throughput ${throughput || 'unlimited'}: ${result.submitsPerSec} submit_sm/s, submit→resp p50 ${lat.p50} / p99 ${lat.p99} / max ${lat.max} ms, `
      + `link ${result.linkCpuUsPerSubmit} µs CPU/submit, simulator ${result.smscCpuUsPerSubmit}${failed ? `, ${failed} failed: ${firstError}` : ''}`);
  } finally {
    await link.stop();
  }
}

const smsc = await startSmsc({ systemId: 'bench', password: 'bench', quietSubmits: true, cpu: smscCpu });
try {
  for (const window of windows) await run(smsc, window, 0, submits, warmup);
  // The JIT is warm by now; a paced warm-up would only take time.
  if (paced > 0) await run(smsc, windows[0]!, paced, pacedSubmits, 0);
} finally {
  await smsc.stop();
}
