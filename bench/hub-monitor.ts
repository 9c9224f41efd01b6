// What the load generators read about the hub and the machine: the bench hub's stats endpoint
// (CPU time, memory after GC, sessions; CPU profile of a window), /proc for any other server,
// and how much CPU the rest of the machine takes.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve as resolvePath } from 'node:path';
import { type Args, log, round, sleep } from './common.js';

export interface ServerStats {
  pid?: number;
  loopDelayMaxMs?: number;
  cpu: number;        // µs of user+system CPU since the process started
  rss: number;        // bytes
  heapUsed?: number;  // bytes (bench server only)
  sessions?: number;
  boshSessions?: number;
  gc?: number;
}

// /proc times are in USER_HZ, 100 on Linux.
const clockTick = 100;

export class HubMonitor {
  // One kept-alive connection to the stats endpoint, opened at the first request: when the hub
  // runs out of file descriptors (sessions scenarios) a new connection could not be accepted.
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private knownHubPid = 0;

  constructor(
    /** The bench hub's endpoint, or '' to read /proc/`pid`. */
    private readonly statsUrl: string,
    private readonly pid: number,
    /** Other processes above this share of a core make a measurement suspect (0 disables waiting). */
    readonly quietPct: number,
    private readonly quietWaitMs: number,
    /** Where `profile('stop')` writes the hub's profile ('' = no profile). */
    private readonly profileFile: string,
    /** CPU samples, or samples of every allocation (`.heapprofile`). */
    private readonly profileKind: 'cpu' | 'heap' = 'cpu',
  ) {}

  /** --stats URL | --pid N, --quiet-pct, --quiet-wait (s), --profile FILE, --profile-kind cpu|heap. */
  static fromArgs(args: Args): HubMonitor {
    const statsUrl = args.has('stats') ? args.str('stats', '') : args.has('pid') ? '' : 'http://127.0.0.1:15280';
    const kind = args.str('profile-kind', 'cpu');
    if (kind !== 'cpu' && kind !== 'heap') throw new Error('--profile-kind is cpu or heap');
    return new HubMonitor(statsUrl, args.num('pid', 0), args.num('quiet-pct', 15), args.num('quiet-wait', 60) * 1000,
      args.str('profile', ''), kind);
  }

  /** The hub's figures; with `gc`, after three full collections (bench hub only). */
  async stats(gc = false): Promise<ServerStats> {
    if (this.statsUrl) {
      try {
        const stats = await this.fetch(gc ? '/gc' : '/stats');
        this.knownHubPid = stats.pid ?? this.knownHubPid;
        return stats;
      } catch (err) {
        if (!this.knownHubPid) throw err;
        log(`stats endpoint failed (${(err as Error).message}); reading /proc/${this.knownHubPid} instead (no heap figures, no GC)`);
        return procStats(this.knownHubPid);
      }
    }
    if (!this.pid) throw new Error('give --stats URL or --pid N');
    return procStats(this.pid);
  }

  /**
   * Starts or stops a profile of the bench hub's chosen window (--profile FILE); `part` names
   * one of several windows (FILE-part.cpuprofile or .heapprofile).
   */
  async profile(action: 'start' | 'stop', part = ''): Promise<void> {
    if (!this.profileFile || !this.statsUrl) return;
    const ext = `.${this.profileKind}profile`;
    const file = resolvePath(part ? this.profileFile.replace(/(\.(cpu|heap)profile)?$/, `-${part}${ext}`) : this.profileFile);
    const start = this.profileKind === 'heap' ? '/profile/start?kind=heap' : '/profile/start';
    const path = action === 'start' ? start : `/profile/stop?file=${encodeURIComponent(file)}`;
    const reply = (await this.fetch(path)) as unknown as { error?: string };
    if (reply.error) throw new Error(`profile ${action}: ${reply.error}`);
    if (action === 'stop') log(`hub ${this.profileKind} profile written to ${file}`);
  }

  /**
   * Waits (at most --quiet-wait) until other processes use less than --quiet-pct of a core over
   * a one-second window, so a measurement does not start in the middle of someone's test run.
   * Returns the last observed figure.
   */
  async waitQuiet(hubPid: number | undefined): Promise<number> {
    const start = performance.now();
    let warned = false;
    for (;;) {
      const before = otherCpu(hubPid ?? this.pid);
      await sleep(1000);
      const pct = otherCpuPct(before, otherCpu(hubPid ?? this.pid), 1);
      if (pct < this.quietPct || performance.now() - start > this.quietWaitMs) {
        if (warned) log(`other processes now at ${pct}% of a core; going on`);
        return pct;
      }
      if (!warned) log(`other processes use ${pct}% of a core; waiting up to ${this.quietWaitMs / 1000} s for quiet`);
      warned = true;
    }
  }

  private fetch(path: string): Promise<ServerStats> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${this.statsUrl}${path}`, { agent: this.agent, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as ServerStats);
          } catch (err) {
            reject(err as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('stats request timed out')));
      req.on('error', reject);
    });
  }
}

function procStats(pid: number): ServerStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { pid, cpu: (ticks * 1e6) / clockTick, rss: rssKb * 1024 };
}

/**
 * CPU ticks used so far by every process except the hub and this generator (and its
 * children), by pid: other work on the machine, which makes a measurement unreliable.
 */
export function otherCpu(hubPid: number | undefined): Map<number, number> {
  const mine = new Set([process.pid, hubPid ?? 0]);
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    if (mine.has(pid) || mine.has(Number(fields[1]))) continue;
    out.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return out;
}

/** Percent of one core used by other processes between two `otherCpu` snapshots. */
export function otherCpuPct(before: Map<number, number>, after: Map<number, number>, seconds: number): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return round((ticks / clockTick / seconds) * 100, 0);
}
