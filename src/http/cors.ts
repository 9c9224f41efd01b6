// Cross-origin access for pages on other hosts (a webmail at https://mail.example.org
// talking to BOSH on the hub): the configured origins, or any with "*".
import type { IncomingMessage, ServerResponse } from 'node:http';

export class CorsPolicy {
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins.filter((o) => o !== '*').map((o) => o.replace(/\/+$/, '').toLowerCase()));
  }

  /** True when a page from `origin` may use the service (no Origin header: not a browser page). */
  allows(origin: string | undefined): boolean {
    return origin === undefined || this.anyOrigin || this.origins.has(origin.toLowerCase());
  }

  /** Adds the response headers for an allowed cross-origin request. */
  apply(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined || !this.allows(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', this.anyOrigin ? '*' : origin);
    if (!this.anyOrigin) res.setHeader('Vary', 'Origin');
  }

  /** Answers a preflight (OPTIONS) request. */
  preflight(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): void {
    this.apply(req, res);
    if (res.hasHeader('Access-Control-Allow-Origin')) {
      res.setHeader('Access-Control-Allow-Methods', [...methods, 'OPTIONS'].join(', '));
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.setHeader('Access-Control-Max-Age', '86400');
    }
    res.writeHead(204).end();
  }
}
