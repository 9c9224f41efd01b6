// The HTTP and HTTPS listeners in front of the web application. HTTPS picks each host's
// certificate by SNI, like the XMPP ports.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { HttpConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { TlsContexts } from '../xmpp/c2s/tcp.js';
import type { HttpApp } from './app.js';

export class HttpListener {
  private readonly servers: Array<{ server: http.Server; secure: boolean; address: string }> = [];

  constructor(
    private readonly app: HttpApp,
    private readonly config: HttpConfig,
    private readonly tlsContexts: TlsContexts,
    private readonly log: Logger,
    /** Longest time a request may legitimately stay open (a held BOSH request). */
    private readonly maxRequestSeconds: number,
  ) {}

  async start(): Promise<void> {
    const { interfaces, port, tls_port: tlsPort } = this.config;
    for (const address of interfaces) {
      if (port !== null) await this.listen(http.createServer(), address, port, false);
      if (tlsPort !== null) {
        const server = https.createServer(this.tlsContexts.serverOptions('http/1.1'));
        server.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'HTTPS handshake failed'));
        await this.listen(server, address, tlsPort, true);
      }
    }
  }

  private listen(server: http.Server, host: string, port: number, secure: boolean): Promise<void> {
    // Held BOSH requests outlive Node's default timeouts; keep-alive outlives a BOSH wait.
    server.requestTimeout = 0;
    server.keepAliveTimeout = (this.maxRequestSeconds + 10) * 1000;
    server.headersTimeout = 30_000;
    server.on('request', (req, res) => this.app.handle(req, res));
    server.on('upgrade', (req, socket, head) => this.app.handleUpgrade(req, socket, head));
    server.on('clientError', (err, socket) => {
      this.log.debug({ err: err.message }, 'malformed HTTP request');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        this.servers.push({ server, secure, address: host });
        const actual = (server.address() as net.AddressInfo).port;
        this.log.info({ address: host, port: actual }, `${secure ? 'HTTPS' : 'HTTP'} listening`);
        resolve();
      });
    });
  }

  /** Every listener with its actual port. */
  bound(): Array<{ address: string; port: number; kind: 'http' | 'https' }> {
    return this.servers.map(({ server, secure, address }) => ({
      address, port: (server.address() as net.AddressInfo).port, kind: secure ? 'https' : 'http',
    }));
  }

  /** Actual ports of the first interface: { http, https } (useful when configured as 0). */
  ports(): { http?: number; https?: number } {
    const result: { http?: number; https?: number } = {};
    for (const { server, secure } of this.servers) {
      const port = (server.address() as net.AddressInfo).port;
      if (secure) result.https ??= port;
      else result.http ??= port;
    }
    return result;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })));
    this.servers.length = 0;
  }
}
