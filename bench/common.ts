// Shared by the bench server and the load generator.

export const BENCH_DOMAIN = 'localhost';
export const BENCH_PASSWORD = 'bench-password';
export const BENCH_RESOURCE = 'r';

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
