// One measured step of one-to-one messages, shared by the TCP and web generators: send
// open-loop at `rate` (1 ms ticks, round-robin over the senders) for `seconds`, drain, and
// report latency, loss and the CPU of the hub and the generator.
import type { monitorEventLoopDelay } from 'node:perf_hooks';
import { round, Samples, sleep } from './common.js';
import { type HubMonitor, otherCpu, otherCpuPct } from './hub-monitor.js';

/** What the receivers' handlers fill in; reset at the start of each step. */
export interface Receipts {
  samples: Samples;
  received: number;
  errors: number;
}

export interface MessageStep {
  rate: number;
  seconds: number;
  senders: number;
  sendOne(sender: number): void;
  receipts: Receipts;
  monitor: HubMonitor;
  genLoopDelay: ReturnType<typeof monitorEventLoopDelay>;
  drainMs: number;
  /** Sessions the hub closed so far. */
  closed(): number;
}

export async function measureMessageStep(step: MessageStep): Promise<Record<string, unknown>> {
  const { rate, receipts, monitor, genLoopDelay } = step;
  receipts.samples = new Samples();
  receipts.received = 0;
  const total = Math.round(rate * step.seconds);
  const statsBefore = await monitor.stats();
  const othersBefore = otherCpu(statsBefore.pid);
  const cpuGenBefore = process.cpuUsage();
  genLoopDelay.reset();
  let sent = 0;
  let maxLag = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1000));
      if (due > sent) maxLag = Math.max(maxLag, now - (start + (sent * 1000) / rate));
      while (sent < due) step.sendOne(sent++ % step.senders);
      if (sent >= total) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  const sendSeconds = (performance.now() - start) / 1000;
  const drainStart = performance.now();
  while (receipts.received < sent && performance.now() - drainStart < step.drainMs) await sleep(5);
  const statsAfter = await monitor.stats();
  const cpuGen = process.cpuUsage(cpuGenBefore);
  const elapsed = (performance.now() - start) / 1000;
  const lat = receipts.samples.summary();
  const hubCpu = statsAfter.cpu - statsBefore.cpu;
  return {
    target: rate,
    sent,
    received: receipts.received,
    loss: sent - receipts.received,
    achieved: Math.round(sent / sendSeconds),
    p50: lat.p50,
    p90: lat.p90,
    p99: lat.p99,
    max: lat.max,
    cpuUsPerMsg: round(hubCpu / Math.max(1, receipts.received), 1),
    hubCpuPct: round((hubCpu / 1e6 / elapsed) * 100, 0),
    genCpuPct: round(((cpuGen.user + cpuGen.system) / 1e6 / elapsed) * 100, 0),
    genLagMaxMs: round(maxLag, 1),
    hubLoopDelayMaxMs: statsAfter.loopDelayMaxMs === undefined ? undefined : round(statsAfter.loopDelayMaxMs, 1),
    genLoopDelayMaxMs: round(genLoopDelay.max / 1e6, 1),
    otherCpuPct: otherCpuPct(othersBefore, otherCpu(statsBefore.pid), elapsed),
    streamErrors: receipts.errors,
    closed: step.closed(),
  };
}
