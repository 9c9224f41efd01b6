// Turns the `RESULT {json}` lines of a bench run into the results tables (markdown).
//
//   node dist/bench/report.js results.jsonl [more.jsonl ...]
import { readFileSync } from 'node:fs';

type Row = Record<string, unknown> & { server: string; scenario: string };

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: report.js <results file>...\n');
  process.exit(2);
}
const rows: Row[] = [];
for (const file of files) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const json = line.startsWith('RESULT ') ? line.slice(7) : line.startsWith('{') ? line : '';
    if (json) rows.push(JSON.parse(json) as Row);
  }
}
const servers = [...new Set(rows.filter((r) => r.scenario !== 'noise').map((r) => r.server))];

const last = (server: string, match: (r: Row) => boolean): Row | undefined => rows.filter((r) => r.server === server && match(r)).at(-1);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fmt = (v: number | undefined, unit = ''): string => (v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`);

interface Metric {
  name: string;
  target: string;
  /** Value shown, and whether it meets the target (undefined: not measured). */
  value(server: string): { text: string; ok?: boolean };
}

const metrics: Metric[] = [
  {
    name: 'one-to-one messages/s, p99 < 50 ms, no loss',
    target: '≥ 20,000',
    value(s) {
      const r = last(s, (x) => x.scenario === 'messages-summary');
      const v = num(r?.maxRate);
      return { text: fmt(v), ok: v === undefined ? undefined : v >= 19_400 && num(r?.atTarget)! >= 20_000 };
    },
  },
  {
    name: 'hub CPU per message at 20,000 msg/s',
    target: '≤ 45 µs',
    value(s) {
      const r = last(s, (x) => x.scenario === 'messages' && x.target === 20_000);
      const v = num(r?.cpuUsPerMsg);
      return { text: fmt(v, ' µs'), ok: v === undefined ? undefined : v <= 45 };
    },
  },
  {
    name: 'presence to 20 contacts, p50 / p99',
    target: 'p99 ≤ 3 ms',
    value(s) {
      const r = last(s, (x) => x.scenario === 'presence');
      const p99 = num(r?.p99);
      if (!r) return { text: 'n/a' };
      const complete = r.complete === r.changes;
      return { text: `${fmt(num(r.p50))} / ${fmt(p99)} ms${complete ? '' : ` (${String(r.complete)}/${String(r.changes)} complete)`}`,
        ok: p99 !== undefined && p99 <= 3 && complete };
    },
  },
  {
    name: 'memory per idle session, plain TCP (RSS / heap)',
    target: '≤ 20 KiB',
    value(s) {
      const r = last(s, (x) => x.scenario === 'connect' && x.tls === false && x.mech === 'SCRAM-SHA-1')
        ?? last(s, (x) => x.scenario === 'connect' && x.tls === false);
      const v = num(r?.rssPerSessionKiB);
      return { text: `${fmt(v)} / ${fmt(num(r?.heapPerSessionKiB))} KiB`, ok: v === undefined ? undefined : v <= 20 };
    },
  },
  {
    name: 'memory per idle session, STARTTLS (RSS / heap)',
    target: '≤ 30 KiB',
    value(s) {
      const r = last(s, (x) => x.scenario === 'connect' && x.tls === true);
      const v = num(r?.rssPerSessionKiB);
      return { text: `${fmt(v)} / ${fmt(num(r?.heapPerSessionKiB))} KiB`, ok: v === undefined ? undefined : v <= 30 };
    },
  },
  {
    name: 'SCRAM-SHA-1 logins/s (4096 iterations)',
    target: '≥ 1,000',
    value(s) {
      const r = last(s, (x) => x.scenario === 'connect' && x.mech === 'SCRAM-SHA-1' && x.tls === false);
      const v = num(r?.loginsPerSec);
      return { text: `${fmt(v)}${r ? ` (${fmt(num(r.cpuUsPerLogin))} µs CPU each)` : ''}`, ok: v === undefined ? undefined : v >= 1000 };
    },
  },
  {
    name: 'PLAIN logins/s (4096 iterations)',
    target: '≥ 400',
    value(s) {
      const r = last(s, (x) => x.scenario === 'connect' && x.mech === 'PLAIN' && x.tls === false);
      const v = num(r?.loginsPerSec);
      return { text: `${fmt(v)}${r ? ` (${fmt(num(r.cpuUsPerLogin))} µs CPU each)` : ''}`, ok: v === undefined ? undefined : v >= 400 };
    },
  },
  {
    name: 'STARTTLS + SCRAM-SHA-1 logins/s',
    target: '—',
    value(s) {
      const r = last(s, (x) => x.scenario === 'connect' && x.tls === true);
      const v = num(r?.loginsPerSec);
      return { text: `${fmt(v)}${r ? ` (${fmt(num(r.cpuUsPerLogin))} µs CPU each)` : ''}` };
    },
  },
  {
    name: 'concurrent authenticated sessions',
    target: '20,000',
    value(s) {
      const r = last(s, (x) => x.scenario === 'sessions');
      const v = num(r?.reached);
      if (!r) return { text: 'n/a' };
      return { text: `${fmt(v)} (RSS ${fmt(num(r.rssMiB))} MiB, ${fmt(num(r.rssPerSessionKiB))} KiB/session)`,
        ok: v !== undefined && v >= num(r.target)! && v >= 20_000 };
    },
  },
  {
    name: 'concurrent WebSocket sessions (RSS / heap per session)',
    target: '10,000',
    value(s) {
      const r = last(s, (x) => x.scenario === 'websessions');
      return sessionsFigure(r, 10_000);
    },
  },
  {
    name: 'concurrent BOSH sessions, one request held each (RSS / heap per session)',
    target: '5,000',
    value(s) {
      const r = last(s, (x) => x.scenario === 'boshsessions');
      return sessionsFigure(r, 5_000);
    },
  },
  addedLatencyMetric('p99 latency added over TCP, WebSocket→WebSocket', (mode) => mode === 'ws-ws'),
  addedLatencyMetric('p99 latency added over TCP, worst pair with BOSH', (mode) => mode.includes('bosh')),
];

/** The worst p99 added over TCP→TCP among the matching transport pairs, at each rate. */
function addedLatencyMetric(name: string, pairs: (mode: string) => boolean): Metric {
  return {
    name,
    target: '< 20 ms',
    value(s) {
      const measured = latencyRows(s).filter((r) => pairs(String(r.mode)));
      const rates = [...new Set(measured.map((r) => num(r.target)!))].sort((a, b) => a - b);
      const worst = rates.map((rate) => Math.max(...measured.filter((r) => r.target === rate).map((r) => addedP99(s, r) ?? NaN)));
      if (worst.length === 0 || worst.some((v) => Number.isNaN(v))) return { text: 'n/a' };
      return { text: rates.map((rate, i) => `${fmt(worst[i])} ms at ${fmt(rate)}/s`).join(', '), ok: worst.every((v) => v < 20) };
    },
  };
}

function sessionsFigure(r: Row | undefined, target: number): { text: string; ok?: boolean } {
  if (!r) return { text: 'n/a' };
  const v = num(r.reached);
  const open = v === undefined ? undefined : v - (num(r.closedWhileIdle) ?? 0);
  return {
    text: `${fmt(open)} (${fmt(num(r.rssPerSessionKiB))} / ${fmt(num(r.heapPerSessionKiB))} KiB)`,
    ok: open !== undefined && open >= target && r.failed === 0,
  };
}

function latencyRows(server: string): Row[] {
  return rows.filter((r) => r.server === server && r.scenario === 'weblatency' && r.p99 !== undefined);
}

/** p99 of a transport pair minus the mean p99 of TCP→TCP at the same rate, in the same run. */
function addedP99(server: string, r: Row): number | undefined {
  const tcp = latencyRows(server).filter((x) => x.mode === 'tcp-tcp' && x.target === r.target).map((x) => num(x.p99)!);
  const p99 = num(r.p99);
  if (tcp.length === 0 || p99 === undefined) return undefined;
  return Math.round((p99 - tcp.reduce((a, b) => a + b, 0) / tcp.length) * 100) / 100;
}

const pct = (v: unknown): string => (num(v) === undefined ? '—' : `${String(v)}%`);
const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? ' ✅' : ' ❌');
let out = `| metric | target | ${servers.join(' | ')} |\n|---|---|${servers.map(() => '---').join('|')}|\n`;
for (const m of metrics) {
  out += `| ${m.name} | ${m.target} | ${servers.map((s) => { const v = m.value(s); return v.text + mark(v.ok); }).join(' | ')} |\n`;
}

for (const s of servers) {
  const steps = rows.filter((r) => r.server === s && r.scenario === 'messages');
  if (steps.length === 0) continue;
  out += `\n${s}: messages steps (${String(steps[0]!.users)} users in pairs, ${String(steps[0]!.stepSeconds)} s per step)\n\n`;
  out += '| target/s | achieved/s | loss | p50 ms | p99 ms | max ms | hub µs/msg | hub CPU | generator CPU | other CPU |\n';
  out += '|---|---|---|---|---|---|---|---|---|---|\n';
  for (const r of steps) {
    out += `| ${fmt(num(r.target))} | ${fmt(num(r.achieved))} | ${String(r.loss)} | ${String(r.p50)} | ${String(r.p99)} | ${String(r.max)} | ` +
      `${String(r.cpuUsPerMsg)} | ${String(r.hubCpuPct)}% | ${String(r.genCpuPct)}% | ${String(r.otherCpuPct ?? 'n/a')}% |\n`;
  }
}
for (const s of servers) {
  const sessions = rows.filter((r) => r.server === s && (r.scenario === 'websessions' || r.scenario === 'boshsessions'));
  if (sessions.length > 0) {
    out += `\n${s}: web sessions held idle (memory after GC, over the hub before the logins)\n\n`;
    out += '| transport | target | open | failed | logins/s | hub µs CPU per login | login p50 / p99 ms | RSS / heap per session KiB | hub RSS MiB | idle requests/s (expected) | hub CPU idle | other CPU (logins / idle) |\n';
    out += '|---|---|---|---|---|---|---|---|---|---|---|---|\n';
    for (const r of sessions) {
      const open = num(r.reached)! - (num(r.closedWhileIdle) ?? 0);
      const requests = r.scenario === 'boshsessions'
        ? `${String(r.idleRequestsPerSec)} (${String(r.expectedRequestsPerSec)}, wait ${String(r.wait)} s)` : '—';
      out += `| ${String(r.transport)} | ${fmt(num(r.target))} | ${fmt(open)} | ${String(r.failed)} | ${fmt(num(r.loginsPerSec))} | ` +
        `${fmt(num(r.cpuUsPerLogin))} | ${String(r.loginMsP50)} / ${String(r.loginMsP99)} | ${String(r.rssPerSessionKiB)} / ${String(r.heapPerSessionKiB)} | ` +
        `${String(r.rssMiB)} | ${requests} | ${String(r.idleHubCpuPct)}% | ${pct(r.loginOtherCpuPct)} / ${pct(r.otherCpuPct)} |\n`;
    }
  }
  const latency = rows.filter((r) => r.server === s && r.scenario === 'weblatency');
  if (latency.length > 0) {
    out += `\n${s}: one-to-one message latency by transport (sender→receiver, ${String(latency[0]!.pairs)} pairs, ${String(latency[0]!.seconds)} s per rate)\n\n`;
    out += '| pair | rate/s | achieved/s | loss | p50 ms | p90 ms | p99 ms | max ms | p99 added over TCP ms | hub µs/msg | hub CPU | generator CPU | other CPU |\n';
    out += '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
    for (const r of latency) {
      if (r.error) {
        out += `| ${String(r.mode)} | failed: ${String(r.error)} |||||||||||\n`;
        continue;
      }
      const added = r.mode === 'tcp-tcp' ? '—' : fmt(addedP99(s, r));
      out += `| ${String(r.mode).replace('-', '→')} | ${fmt(num(r.target))} | ${fmt(num(r.achieved))} | ${String(r.loss)} | ${String(r.p50)} | ` +
        `${String(r.p90)} | ${String(r.p99)} | ${String(r.max)} | ${added} | ${String(r.cpuUsPerMsg)} | ${String(r.hubCpuPct)}% | ` +
        `${String(r.genCpuPct)}% | ${String(r.otherCpuPct)}% |\n`;
    }
  }
}
const noise = rows.filter((r) => r.scenario === 'noise');
if (noise.length > 0) {
  out += '\nMachine noise (a busy loop pinned to each core; gaps > 5 ms in its progress):\n\n| when | CPU | gaps | longest ms | time lost |\n|---|---|---|---|---|\n';
  for (const r of noise) out += `| ${String(r.when ?? '')} | ${String(r.cpu)} | ${String(r.gaps)} | ${String(r.maxGapMs)} | ${String(r.lostPct)}% |\n`;
}
const noisy = rows.filter((r) => Math.max(num(r.otherCpuPct) ?? 0, num(r.loginOtherCpuPct) ?? 0) > 10);
if (noisy.length > 0) {
  out += `\nWarning: other processes used > 10% of a core during ${noisy.length} measurement(s) ` +
    `(${noisy.map((r) => `${r.server}/${r.scenario}${r.mode ? ` ${String(r.mode)}` : ''}${r.target ? `@${String(r.target)}` : ''}: ${String(Math.max(num(r.otherCpuPct) ?? 0, num(r.loginOtherCpuPct) ?? 0))}%`).join(', ')}).\n`;
}
process.stdout.write(out);
