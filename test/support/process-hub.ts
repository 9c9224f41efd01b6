// The hub as operators run it: the built `switchboard` command in a child process, for CLI
// tests and for crash tests that kill the hub with SIGKILL and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestHub } from './hub.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const MAIN = join(root, 'dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningHub {
  child: ChildProcess;
  /** Enough of a TestHub for `connect`. */
  target: TestHub;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** The environment without SWITCHBOARD_ variables, which would override the test configuration. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));
}

export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { cwd: root, env: cleanEnv() });
}

/** Runs one `switchboard` command to its end. */
export function runCli(args: string[], input?: string): Promise<CliResult> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(input);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Starts `switchboard start` (JSON logs at info or below) and waits until its admin socket listens. */
export function startProcessHub(config: string): Promise<RunningHub> {
  const child = spawnCli(['start', '--config', config]);
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg !== 'admin socket listening') continue;
        const port = (msg: string) => logs.find((l) => l.msg === msg)!.port as number;
        const target = { domain: 'localhost', port: port('c2s listening'), directTlsPort: port('c2s direct TLS listening') };
        resolve({ child, target: target as TestHub, logs, exited });
      }
    });
    void exited.then((code) => reject(new Error(`the hub exited (${code}) before it was ready: ${stderr}`)));
  });
}

/** Kills the hub at once, as a crash would. */
export async function killHub(hub: RunningHub): Promise<void> {
  if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
  await hub.exited;
}
