// Newline-delimited JSON over a socket, as the admin protocol uses it.
import type { Socket } from 'node:net';

const MAX_LINE = 1 << 20;

/** Calls `onLine` for every non-empty line received; a line longer than 1 MiB ends the connection. */
export function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
      if (line) onLine(line);
    }
    if (buffered.length > MAX_LINE) socket.destroy(new Error('admin protocol line too long'));
  });
}

export function writeLine(socket: Socket, value: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
}
