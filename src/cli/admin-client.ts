// The CLI side of the admin socket.
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { AdminApi, AdminCommand, AdminResponse } from './admin-api.js';
import { CliError } from './errors.js';
import { readLines, writeLine } from './json-lines.js';

const ANSWER_TIMEOUT_MS = 60_000;

export class AdminClient {
  private pending: { resolve: (r: AdminResponse) => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly socket: net.Socket) {
    readLines(socket, (line) => {
      const pending = this.pending;
      this.pending = undefined;
      try {
        pending?.resolve(JSON.parse(line) as AdminResponse);
      } catch {
        pending?.reject(new CliError('the hub sent an unreadable answer on the admin socket'));
      }
    });
    socket.on('close', () => this.pending?.reject(new CliError('the hub closed the admin connection without answering')));
  }

  /** Sends one request and waits for its answer; the hub's refusals become CliErrors. */
  async call<C extends AdminCommand>(cmd: C, args: AdminApi[C]['args']): Promise<AdminApi[C]['result']> {
    const response = await new Promise<AdminResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CliError('the hub did not answer on the admin socket in time')), ANSWER_TIMEOUT_MS);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.pending = { resolve: settle(resolve), reject: settle(reject) };
      writeLine(this.socket, { cmd, args });
    });
    if (!response.ok) throw new CliError(response.error);
    return response.result as AdminApi[C]['result'];
  }

  close(): void {
    this.socket.end();
  }
}

/**
 * Connects to a running hub's admin socket. Undefined when no hub answers; a socket file
 * left behind by a hub that did not stop cleanly is then removed.
 */
export async function connectAdmin(path: string): Promise<AdminClient | undefined> {
  const socket = net.createConnection(path);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    if (code === 'ENOENT') return undefined;
    if (code === 'ECONNREFUSED') {
      if (!(await lstat(path)).isSocket()) throw new CliError(`${path} is in the way of the admin socket: it is not a socket`);
      await unlink(path);
      return undefined;
    }
    if (code === 'EACCES') {
      throw new CliError(`cannot use the admin socket ${path}: permission denied (run as the user Switchboard runs as)`);
    }
    throw new CliError(`cannot use the admin socket ${path}: ${(err as Error).message}`);
  }
  socket.on('error', () => {}); // reported through 'close'
  return new AdminClient(socket);
}

/** True when a hub answers on the admin socket. */
export async function hubRunning(path: string): Promise<boolean> {
  const client = await connectAdmin(path);
  client?.close();
  return client !== undefined;
}
