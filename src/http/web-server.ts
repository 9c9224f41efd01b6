// Everything the hub serves over HTTP, assembled: BOSH, WebSocket, connection discovery,
// on the plain and TLS listeners.
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { LoginTokens } from '../directory/login-tokens.js';
import type { TlsContexts } from '../xmpp/c2s/tcp.js';
import type { XmppServer } from '../xmpp/server.js';
import { AddressLimit } from './address-limit.js';
import { HttpApp } from './app.js';
import { BoshEndpoint } from './bosh.js';
import { ClientAddresses } from './client-address.js';
import { CorsPolicy } from './cors.js';
import { registerHostMeta } from './host-meta.js';
import { HttpListener } from './listener.js';
import { registerTokenApi } from './token-api.js';
import { registerWebClient } from './web-client.js';
import { registerWebSocket } from './websocket.js';

export interface WebServerOptions {
  config: Config;
  xmpp: XmppServer;
  tokens: LoginTokens;
  tlsContexts: TlsContexts;
  log: Logger;
}

export class WebServer {
  readonly app: HttpApp;
  readonly bosh: BoshEndpoint;
  readonly listener: HttpListener;
  private readonly closeWebSockets: () => Promise<void>;

  constructor({ config, xmpp, tokens, tlsContexts, log }: WebServerOptions) {
    const { http, c2s } = config;
    this.app = new HttpApp(new CorsPolicy(http.cors_origins), new ClientAddresses(http.trusted_proxies), log);
    const sessionsPerAddress = new AddressLimit(http.max_sessions_per_address);
    this.bosh = new BoshEndpoint({ xmpp, config: http.bosh, maxDepth: c2s.max_depth, sessionsPerAddress, log: log.child({ transport: 'bosh' }) });
    this.bosh.register(this.app);
    const wss = registerWebSocket(this.app, {
      xmpp, tlsContexts, sessionsPerAddress, seeOtherUri: http.websocket.see_other_uri,
      limits: { maxStanzaBytes: c2s.max_stanza_size, maxDepth: c2s.max_depth },
      log: log.child({ transport: 'websocket' }),
    });
    this.closeWebSockets = async () => {
      // Closing frames were sent by the XMPP shutdown; give them a moment to go out.
      for (let waited = 0; wss.clients.size > 0 && waited < 1000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      for (const ws of wss.clients) ws.terminate();
    };
    registerHostMeta(this.app);
    registerWebClient(this.app, { http, hosts: config.hosts });
    registerTokenApi(this.app, { xmpp, tokens, log: log.child({ api: 'token' }) });
    this.listener = new HttpListener(this.app, http, tlsContexts, log, http.bosh.max_wait);
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  /** Stops listening; streams were already closed by the XMPP service. */
  async stop(): Promise<void> {
    this.bosh.closeAll();
    await this.closeWebSockets();
    await this.listener.stop();
  }
}
