// Runs the SMSC simulator (smsc-simulator.ts) as a child process for a test or a bench: its
// stdout events parsed as they come, commands written to its stdin and acknowledged, stopped by
// pid, restarted on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SIMULATOR = fileURLToPath(new URL('./smsc-simulator.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;

/** One line of the simulator's stdout (see smsc-simulator.ts for the events and their fields). */
export interface SmscEvent {
  event: string;
  /** Date.now() in the simulator. */
  t: number;
  [field: string]: unknown;
}

/** A submit_sm the simulator received. */
export interface SubmitSmEvent extends SmscEvent {
  event: 'submit_sm';
  session: number;
  sequence_number: number;
  /** submit_sm_resp pending on the session when it came, this one included (swallowed ones not counted). */
  outstanding: number;
  /** What the simulator answered; absent when it swallowed it. */
  command_status?: number;
  message_id?: string;
  source_addr: string;
  source_addr_ton: number;
  source_addr_npi: number;
  destination_addr: string;
  dest_addr_ton: number;
  dest_addr_npi: number;
  esm_class: number;
  data_coding: number;
  registered_delivery: number;
  /** short_message after the UDH. */
  short_message_hex: string;
  /** The UDH, UDHL included, when esm_class has UDHI. */
  udh_hex?: string;
  sar?: { ref: number; total: number; seq: number };
  message_payload_hex?: string;
}

export interface SmscOptions {
  systemId?: string;
  password?: string;
  /** Default: a free port chosen by the simulator. */
  port?: number;
  /** No submit_sm events (benches). */
  quietSubmits?: boolean;
  /** Pin the simulator to this CPU (taskset). */
  cpu?: number;
}

export interface Smsc {
  readonly port: number;
  readonly pid: number | undefined;
  /** Every event so far, across restarts. */
  readonly events: SmscEvent[];
  submits(): SubmitSmEvent[];
  /** The first event from index `from` on (default 0) for which `predicate` holds, now or as they come. */
  waitFor(predicate: (event: SmscEvent) => boolean, timeoutMs: number, from?: number): Promise<SmscEvent>;
  /** Sends a command (smsc-simulator.ts lists them); resolves once the simulator applied it. */
  command(cmd: Record<string, unknown>): Promise<void>;
  /** Kills the simulator (its connections die with it). Safe twice. */
  stop(): Promise<void>;
  /** A new simulator process on the same port. */
  restart(): Promise<void>;
}

interface Waiter {
  predicate: (event: SmscEvent) => boolean;
  resolve(event: SmscEvent): void;
}

export async function startSmsc(options: SmscOptions = {}): Promise<Smsc> {
  const smsc = new SmscProcess(options);
  await smsc.spawn(options.port ?? 0);
  return smsc;
}

class SmscProcess implements Smsc {
  readonly events: SmscEvent[] = [];
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';
  private lastCommandId = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: SmscOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  submits(): SubmitSmEvent[] {
    return this.events.filter((e): e is SubmitSmEvent => e.event === 'submit_sm');
  }

  waitFor(predicate: (event: SmscEvent) => boolean, timeoutMs: number, from = 0): Promise<SmscEvent> {
    const seen = this.events.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(event);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.events.slice(-5).map((e) => JSON.stringify(e)).join('\n  ');
        reject(new Error(`SMSC simulator: no matching event within ${timeoutMs} ms; last events:\n  ${recent}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async command(cmd: Record<string, unknown>): Promise<void> {
    const child = this.child;
    if (!child) throw new Error(`SMSC simulator not running: ${JSON.stringify(cmd)} not sent`);
    const id = ++this.lastCommandId;
    const acked = this.waitFor((e) => e.event === 'ack' && e.id === id, COMMAND_TIMEOUT_MS, this.events.length);
    child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    await acked;
  }

  async spawn(port: number): Promise<void> {
    const from = this.events.length;
    const args = [SIMULATOR, '--port', String(port), '--system-id', this.options.systemId ?? 'test', '--password', this.options.password ?? 'secret'];
    if (this.options.quietSubmits) args.push('--quiet-submits');
    const child = this.options.cpu === undefined
      ? spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(this.options.cpu), process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line) this.record(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.stdin!.on('error', () => {}); // EPIPE once it is gone: exits are handled below
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const listening = this.waitFor((e) => e.event === 'listening', START_TIMEOUT_MS, from);
    const died = this.exited.then(() => {
      throw new Error(`SMSC simulator exited at start: ${this.stderr || JSON.stringify(this.events.slice(from))}`);
    });
    const event = await Promise.race([listening, died]);
    this.port = event.port as number;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return this.exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.spawn(this.port);
  }

  private record(line: string): void {
    let event: SmscEvent;
    try {
      event = JSON.parse(line) as SmscEvent;
    } catch {
      event = { event: 'stdout', line, t: Date.now() };
    }
    this.events.push(event);
    for (const waiter of [...this.waiters]) if (waiter.predicate(event)) waiter.resolve(event);
  }
}
