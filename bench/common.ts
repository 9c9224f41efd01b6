// Shared by the bench server and the load generator.
import { readFileSync } from 'node:fs';
import type { Target } from './xmpp-client.js';

export const BENCH_DOMAIN = 'localhost';
export const BENCH_PASSWORD = 'bench-password';
export const BENCH_RESOURCE = 'r';

/** Filler of the benchmark's chat messages (~150 bytes each with the envelope). */
export const MESSAGE_PAD = 'the quick brown fox jumps over the lazy dog';

export function benchUser(i: number): string {
  return `u${i}`;
}

/** `--name value` and `--flag` arguments; numbers stay strings until read. */
export class Args {
  private readonly values = new Map<string, string>();
  readonly positional: string[] = [];

  constructor(argv: string[], private readonly flags: ReadonlySet<string> = new Set()) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (!arg.startsWith('--')) {
        this.positional.push(arg);
        continue;
      }
      const name = arg.slice(2);
      if (this.flags.has(name)) {
        this.values.set(name, 'true');
        continue;
      }
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      this.values.set(name, value);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  str(name: string, fallback: string): string {
    return this.values.get(name) ?? fallback;
  }

  num(name: string, fallback: number): number {
    const v = this.values.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`);
    return n;
  }

  list(name: string, fallback: number[]): number[] {
    const v = this.values.get(name);
    return v === undefined ? fallback : v.split(',').map((s) => Number(s.trim()));
  }

  flag(name: string): boolean {
    return this.values.get(name) === 'true';
  }
}

// --- shared by the load generators ---------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Progress for humans, on stderr. */
export function log(message: string): void {
  process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** One measurement, as a `RESULT {json}` line on stdout (bench/report.ts reads them). */
export function printResult(server: string, data: Record<string, unknown>): void {
  process.stdout.write(`RESULT ${JSON.stringify({ server, date: new Date().toISOString(), ...data })}\n`);
}

/** Latency samples in ms, with percentiles. */
export class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  summary(): { p50: number; p90: number; p99: number; max: number; n: number } {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(at(1)), n: sorted.length };
  }
}

/** Runs `fn(0..n-1)` with at most `concurrency` in flight; stops early after `maxFailures`. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>, maxFailures = Infinity):
  Promise<{ ok: number; failed: number; firstError: string }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError = '';
  const worker = async (): Promise<void> => {
    while (next < n && failed < maxFailures) {
      const i = next++;
      try {
        await fn(i);
        ok++;
      } catch (err) {
        failed++;
        firstError ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { ok, failed, firstError };
}

/**
 * A generator's entry point: runs the scenario named on the command line, then exits (0, or 1
 * with the error logged); an unknown name prints `usage` and exits 2. `keepAlive` scenarios
 * (worker processes) leave the process running when they return.
 */
export function runScenario(scenario: string | undefined, scenarios: Record<string, () => void | Promise<void>>, usage: string, keepAlive: string[] = []): void {
  const run = scenario !== undefined && Object.hasOwn(scenarios, scenario) ? scenarios[scenario] : undefined;
  if (!run) {
    process.stderr.write(`usage: ${usage} (see bench/README.md)\n`);
    process.exit(2);
  }
  Promise.resolve().then(run).then(
    () => {
      if (!keepAlive.includes(scenario!)) process.exit(0);
    },
    (err: unknown) => {
      log(`failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}

/** The RESULT rows of runs' output files, without those of profiled windows. */
export function measuredRows(files: string[]): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const json = line.startsWith('RESULT ') ? line.slice(7) : line.startsWith('{') ? line : '';
      if (json) rows.push(JSON.parse(json) as Record<string, unknown>);
    }
  }
  return rows.filter((r) => !String(r.server).endsWith('-profiled'));
}

/** A table cell: numbers with thousands separators, a dash for nothing. */
export function cell(x: unknown): string {
  return x === undefined || x === null ? '—' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x);
}

/** The hub a generator logs in to (`--host --port --domain --password --login-timeout`); loopback only. */
export function targetFromArgs(args: Args): Target {
  const target: Target = {
    host: args.str('host', '127.0.0.1'),
    port: args.num('port', 15222),
    domain: args.str('domain', BENCH_DOMAIN),
    password: args.str('password', BENCH_PASSWORD),
    timeoutMs: args.num('login-timeout', 30_000),
  };
  if (!['127.0.0.1', '::1', 'localhost'].includes(target.host)) throw new Error('the bench only talks to the loopback interface');
  return target;
}
