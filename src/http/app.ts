// The hub's web application: a small route table shared by the HTTP and HTTPS listeners.
// Routes are matched by exact path or by prefix; each declares its methods and whether
// pages from other origins may call it (CORS).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/log.js';
import type { ClientAddresses, ClientInfo } from './client-address.js';
import type { CorsPolicy } from './cors.js';

export interface RequestContext {
  url: URL;
  client: ClientInfo;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RequestContext) => void;

export interface Route {
  /** Exact path, or a prefix when it ends with "/" and `prefix` is set. */
  path: string;
  prefix?: boolean;
  methods: readonly string[];
  /** Pages from the configured origins may call it (preflight answered, CORS headers added). */
  cors?: boolean;
  handler: RouteHandler;
}

export class HttpApp {
  private readonly exact = new Map<string, Route>();
  private readonly prefixes: Route[] = [];
  private readonly upgrades = new Map<string, UpgradeHandler>();

  constructor(
    readonly cors: CorsPolicy,
    readonly clients: ClientAddresses,
    private readonly log: Logger,
  ) {}

  route(route: Route): void {
    if (route.prefix) this.prefixes.push(route);
    else this.exact.set(route.path, route);
  }

  /** Serves WebSocket (or other) upgrades at `path`. */
  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const ctx = this.context(req);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const route = this.match(ctx.url.pathname);
    if (!route) return sendText(res, 404, 'Not found');
    if (route.cors && req.method === 'OPTIONS') return this.cors.preflight(req, res, route.methods);
    if (!route.methods.includes(req.method ?? '')) {
      res.setHeader('Allow', route.methods.join(', '));
      return sendText(res, 405, 'Method not allowed');
    }
    if (route.cors) this.cors.apply(req, res);
    try {
      const pending = route.handler(req, res, ctx);
      if (pending) pending.catch((err: unknown) => this.failed(res, err, ctx));
    } catch (err) {
      this.failed(res, err, ctx);
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ctx = this.context(req);
    const handler = this.upgrades.get(ctx.url.pathname);
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    handler(req, socket, head, ctx);
  }

  private context(req: IncomingMessage): RequestContext {
    // The Host header is untrusted; only the path and query are used.
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    return { url, client: this.clients.of(req) };
  }

  private match(pathname: string): Route | undefined {
    const exact = this.exact.get(pathname);
    if (exact) return exact;
    let best: Route | undefined;
    for (const route of this.prefixes) {
      if (pathname.startsWith(route.path) && (!best || route.path.length > best.path.length)) best = route;
    }
    return best;
  }

  private failed(res: ServerResponse, err: unknown, ctx: RequestContext): void {
    this.log.error({ err, path: ctx.url.pathname, address: ctx.client.address }, 'error while serving an HTTP request');
    if (!res.headersSent) sendText(res, 500, 'Internal server error');
    else res.destroy();
  }
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length }).end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), 'application/json');
}

/** Reads a request body up to `limit` bytes; resolves undefined when it is larger. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}
