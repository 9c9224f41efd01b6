// One kept-alive HTTP/1.1 connection for the BOSH client: a hand-built POST, and an answer read
// by its Content-Length (the hub always sends one). One request at a time on a connection, as
// browsers do; cheaper than node:http's client at thousands of requests per second.
import net from 'node:net';

export interface HttpAnswer {
  status: number;
  body: string;
}

type Callback = (err: Error | undefined, answer?: HttpAnswer) => void;

const HEADER_END = Buffer.from('\r\n\r\n');

export class HttpConnection {
  private readonly sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private bodyStart = -1;
  private bodyLength = 0;
  private status = 0;
  private waiting: Callback | undefined;
  closed = false;

  constructor(host: string, port: number, private readonly onClose: (conn: HttpConnection) => void) {
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.on('data', (chunk: Buffer) => this.onData(chunk));
    this.sock.on('error', (err) => this.fail(err));
    this.sock.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** Sends `head` (request line and headers) with Content-Length and `body`; one request at a time. */
  post(head: string, body: string, done: Callback): void {
    if (this.waiting) throw new Error('HTTP connection busy');
    if (this.closed) return done(new Error('HTTP connection closed'));
    this.waiting = done;
    this.sock.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.bodyStart < 0) {
      const end = this.buf.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) return this.fail(new Error(`HTTP answer without Content-Length: ${head.slice(0, 200)}`));
      this.bodyStart = end + HEADER_END.length;
      this.bodyLength = Number(length[1]);
    }
    if (this.buf.length < this.bodyStart + this.bodyLength) return;
    const body = this.buf.toString('utf8', this.bodyStart, this.bodyStart + this.bodyLength);
    this.buf = this.buf.subarray(this.bodyStart + this.bodyLength);
    this.bodyStart = -1;
    const done = this.waiting;
    this.waiting = undefined;
    if (!done) return this.fail(new Error('HTTP answer without a request'));
    done(undefined, { status: this.status, body });
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
    const done = this.waiting;
    this.waiting = undefined;
    this.onClose(this);
    done?.(err);
  }
}
