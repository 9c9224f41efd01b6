// The admin socket of a running hub: a Unix socket only its owner can use (mode 0600),
// answering the admin protocol (admin-api.ts) with AdminOps.
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../core/log.js';
import type { AdminResponse } from './admin-api.js';
import type { AdminOps } from './admin-ops.js';
import { CliError } from './errors.js';
import { readLines, writeLine } from './json-lines.js';

export class AdminServer {
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly connections = new Set<net.Socket>();

  constructor(
    private readonly ops: AdminOps,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Listens on the socket path, which must not exist (see removeStaleSocket). */
  async listen(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      // listen() creates the socket file synchronously: with this umask it is 0600 from the start.
      const umask = process.umask(0o177);
      try {
        this.server.listen(this.path, () => {
          this.server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
    this.log.info({ socket: this.path }, 'admin socket listening');
  }

  /** Stops listening (removing the socket file) and drops admin connections. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'admin connection error'));
    // Requests on one connection are answered in order.
    let previous = Promise.resolve();
    readLines(socket, (line) => {
      previous = previous.then(async () => writeLine(socket, await this.answer(line)));
    });
  }

  private async answer(line: string): Promise<AdminResponse> {
    let request: { cmd?: unknown; args?: unknown };
    try {
      request = JSON.parse(line) as typeof request;
    } catch {
      return { ok: false, error: 'the request is not JSON' };
    }
    if (typeof request?.cmd !== 'string') return { ok: false, error: 'the request has no "cmd"' };
    this.log.info({ cmd: request.cmd }, 'admin command');
    try {
      return { ok: true, result: await this.ops.run(request.cmd, request.args) };
    } catch (err) {
      if (err instanceof CliError) return { ok: false, error: err.message };
      this.log.error({ err, cmd: request.cmd }, 'admin command failed');
      return { ok: false, error: `internal error: ${(err as Error).message}` };
    }
  }
}
