// Client connections over TCP: STARTTLS on the classic port, direct TLS (XEP-0368) on the
// other, with one certificate per virtual host (SNI).
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { C2sConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { ChannelBindingType } from '../sasl/mechanism.js';
import type { XmppServer } from '../server.js';
import { StreamParser, type ParserLimits } from '../stream/parser.js';
import { NS } from '../xml.js';
import { channelBindingData, channelBindingTypes } from './channel-binding.js';
import { ClientSession, type Framing } from './session.js';

export interface HostCertificate {
  cert: string;
  key: string;
}

/** TLS material for every virtual host. */
export class TlsContexts {
  private readonly contexts = new Map<string, tls.SecureContext>();
  private readonly endPoints = new Map<string, Buffer>();
  readonly defaultCertificate: HostCertificate;

  constructor(certificates: Map<string, HostCertificate>, readonly defaultDomain: string) {
    this.defaultCertificate = certificates.get(defaultDomain)!;
    for (const [domain, { cert, key }] of certificates) {
      this.contexts.set(domain, tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' }));
      // RFC 5929 tls-server-end-point: the certificate's hash (SHA-256 for SHA-1/SHA-256 signatures).
      this.endPoints.set(domain, createHash('sha256').update(new X509Certificate(cert).raw).digest());
    }
  }

  /** Options for a TLS server that picks each host's certificate by SNI. */
  serverOptions(alpn: string): tls.TlsOptions {
    return {
      SNICallback: (name, done) => done(null, this.context(name.toLowerCase())),
      ...this.defaultCertificate,
      minVersion: 'TLSv1.2',
      ALPNProtocols: [alpn],
    };
  }

  context(domain: string): tls.SecureContext | undefined {
    return this.contexts.get(domain) ?? this.contexts.get(this.defaultDomain);
  }

  endPoint(domain: string): Buffer | undefined {
    return this.endPoints.get(domain) ?? this.endPoints.get(this.defaultDomain);
  }
}

const MAX_PENDING_OUTPUT = 4 * 1024 * 1024;
const CLOSE_GRACE_MS = 3000;
const STREAM_HEADER_START = `<?xml version='1.0'?><stream:stream xmlns='${NS.client}' xmlns:stream='${NS.stream}' version='1.0' xml:lang='en'`;

class TcpFraming implements Framing {
  readonly transport = 'tcp';
  private parser!: StreamParser;
  private tlsDomain = '';
  readonly remoteAddress: string;
  readonly session: ClientSession;

  constructor(
    private socket: net.Socket,
    public secure: boolean,
    private readonly tlsContexts: TlsContexts,
    private readonly limits: ParserLimits,
    private readonly log: Logger,
    server: XmppServer,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    if (socket instanceof tls.TLSSocket) this.tlsDomain = (socket as tls.TLSSocket & { servername?: string }).servername || '';
    this.session = new ClientSession(server, this);
    this.attach(socket);
    this.restartStream();
  }

  get canStartTls(): boolean {
    return !this.secure;
  }

  get standaloneElements(): boolean {
    return false;
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.parser.write(chunk));
    socket.on('error', (err) => this.log.debug({ err: err.message, address: this.remoteAddress }, 'client connection error'));
    socket.on('close', () => this.session.onDisconnect());
  }

  restartStream(): void {
    const session = this.session;
    const parser: StreamParser = new StreamParser(this.limits, {
      // Events from a parser that was replaced (bytes pipelined before TLS or SASL completed) are dropped.
      streamStart: (attrs) => parser === this.parser && session.onStreamStart(attrs),
      element: (el) => parser === this.parser && session.onElement(el),
      streamEnd: () => parser === this.parser && session.onStreamEnd(),
      error: (condition, text) => parser === this.parser && session.onParseError(condition, text),
    });
    this.parser = parser;
  }

  openStream(attrs: Record<string, string>): void {
    this.send(`${STREAM_HEADER_START} id='${attrs.id}' from='${attrs.from}'>`);
  }

  send(data: string): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_PENDING_OUTPUT) {
      this.log.warn({ address: this.remoteAddress, jid: this.session.jid?.toString() }, 'client does not read its data; dropping it');
      this.socket.destroy();
      return;
    }
    this.socket.write(data);
  }

  closeStream(): void {
    if (this.socket.destroyed) return;
    this.socket.end('</stream:stream>');
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  startTls(domain: string): void {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    // Until the handshake completes nothing may reach the session (no pipelined plaintext).
    this.restartStream();
    const secured = new tls.TLSSocket(raw, { isServer: true, secureContext: this.tlsContexts.context(domain) });
    this.socket = secured;
    this.tlsDomain = domain;
    this.attach(secured);
    secured.once('secure', () => {
      this.secure = true;
      this.restartStream();
    });
  }

  channelBindings(): ChannelBindingType[] {
    return this.secure ? channelBindingTypes(this.socket as tls.TLSSocket) : [];
  }

  channelBinding(type: ChannelBindingType): Buffer | null {
    if (!this.secure) return null;
    return channelBindingData(this.socket as tls.TLSSocket, type, this.tlsContexts.endPoint(this.tlsDomain));
  }
}

/** Listens for client connections on every configured interface. */
export class C2sListener {
  private readonly servers: net.Server[] = [];

  constructor(
    private readonly xmpp: XmppServer,
    private readonly config: C2sConfig,
    private readonly tlsContexts: TlsContexts,
    private readonly log: Logger,
  ) {}

  private get limits(): ParserLimits {
    return { maxStanzaBytes: this.config.max_stanza_size, maxDepth: this.config.max_depth };
  }

  async start(): Promise<void> {
    const { interfaces, port, direct_tls_port: directPort } = this.config;
    for (const address of interfaces) {
      await this.listen(net.createServer((socket) => this.connected(socket, false)), address, port, 'c2s');
      if (directPort !== null) {
        const server = tls.createServer(this.tlsContexts.serverOptions('xmpp-client'), (socket) => this.connected(socket, true));
        server.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'TLS handshake failed'));
        await this.listen(server, address, directPort, 'c2s direct TLS');
      }
    }
  }

  private listen(server: net.Server, host: string, port: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        this.servers.push(server);
        const actual = (server.address() as net.AddressInfo).port;
        this.log.info({ address: host, port: actual }, `${what} listening`);
        resolve();
      });
    });
  }

  /** Actual ports (useful when configured as 0): [starttls, directTls?] of the first interface. */
  ports(): number[] {
    return this.servers.map((s) => (s.address() as net.AddressInfo).port);
  }

  private connected(socket: net.Socket, secure: boolean): void {
    const framing = new TcpFraming(socket, secure, this.tlsContexts, this.limits, this.log, this.xmpp);
    this.xmpp.accept(framing.session);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}
