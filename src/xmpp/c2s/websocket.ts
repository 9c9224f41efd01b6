// XMPP over WebSocket (RFC 7395): each message is one complete element; the stream header
// and footer are the framing elements <open/> and <close/>.
import type tls from 'node:tls';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/log.js';
import type { ChannelBindingType } from '../sasl/mechanism.js';
import type { XmppServer } from '../server.js';
import { parseDocument } from '../stream/document.js';
import { StreamParser, type ParserLimits } from '../stream/parser.js';
import { escapeXML, NS } from '../xml.js';
import { channelBindingData, channelBindingTypes } from './channel-binding.js';
import { ClientSession, type Framing } from './session.js';

export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

/** Stanzas are parsed as children of this implicit stream header. */
const IMPLICIT_HEADER = `<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.stream}'>`;
const FRAMING_ELEMENT = /^\s*<(open|close)[\s/>]/;
const MAX_PENDING_OUTPUT = 4 * 1024 * 1024;
const CLOSE_GRACE_MS = 3000;

export interface WebSocketPeer {
  address: string;
  secure: boolean;
  /** Our own TLS connection to the client, when there is no proxy in between (for channel binding). */
  tls?: { socket: tls.TLSSocket; endPoint: Buffer | undefined };
}

export class WebSocketFraming implements Framing {
  readonly session: ClientSession;
  readonly transport = 'websocket';
  readonly canStartTls = false;
  readonly standaloneElements = true;
  /** Present between <open/> and the next stream restart. */
  private parser: StreamParser | undefined;
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly peer: WebSocketPeer,
    private readonly limits: ParserLimits,
    private readonly log: Logger,
    private readonly seeOtherUri: string,
    server: XmppServer,
  ) {
    this.session = new ClientSession(server, this);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('error', (err) => log.debug({ err: err.message, address: peer.address }, 'WebSocket error'));
    ws.on('close', () => this.session.onDisconnect());
  }

  get secure(): boolean {
    return this.peer.secure;
  }

  get remoteAddress(): string {
    return this.peer.address;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    if (isBinary) return this.session.onParseError('bad-format', 'XMPP over WebSocket uses text messages only');
    if (data.length > this.limits.maxStanzaBytes) {
      return this.session.onParseError('policy-violation', `message larger than ${this.limits.maxStanzaBytes} bytes`);
    }
    const text = data.toString('utf8');
    if (FRAMING_ELEMENT.test(text)) return this.onFramingElement(text);
    if (!this.parser) return this.session.onParseError('bad-format', 'the stream must be opened with <open/> first');
    // A message is whole elements. The parser holds text back until the next tag, so text
    // at either end of a message would go unnoticed: check the ends here.
    const trimmed = text.trim();
    if (trimmed === '') return;
    if (!trimmed.startsWith('<') || !trimmed.endsWith('>')) {
      return this.session.onParseError('not-well-formed', 'a WebSocket message must hold complete elements');
    }
    this.parser.write(text);
    if (!this.parser.hasFailed && !this.parser.atBoundary) {
      this.session.onParseError('not-well-formed', 'a WebSocket message must hold complete elements');
    }
  }

  private onFramingElement(text: string): void {
    const doc = parseDocument(text, this.limits);
    if (!doc.ok) return this.session.onParseError(doc.condition, doc.text);
    if (doc.attrs.xmlns !== NS_FRAMING) return this.session.onParseError('invalid-namespace', `<${doc.name}/> must be in ${NS_FRAMING}`);
    if (doc.name === 'close') return this.session.onStreamEnd();
    this.parser = this.newParser();
    // The session checks a stream header; <open/> in the framing namespace stands for one.
    this.session.onStreamStart({ ...doc.attrs, xmlns: NS.client, 'xmlns:stream': NS.stream });
  }

  private newParser(): StreamParser {
    const session = this.session;
    const parser: StreamParser = new StreamParser(this.limits, {
      streamStart: () => undefined,
      element: (el) => parser === this.parser && session.onElement(el),
      streamEnd: () => undefined,
      error: (condition, text) => parser === this.parser && session.onParseError(condition, text),
    });
    parser.write(IMPLICIT_HEADER);
    return parser;
  }

  openStream(attrs: Record<string, string>): void {
    this.send(`<open xmlns='${NS_FRAMING}' id='${attrs.id}' from='${attrs.from}' version='1.0' xml:lang='en'/>`);
    if (this.seeOtherUri) {
      this.log.info({ address: this.peer.address, uri: this.seeOtherUri }, 'redirecting a WebSocket stream');
      this.send(`<close xmlns='${NS_FRAMING}' see-other-uri='${escapeXML(this.seeOtherUri)}'/>`);
      this.endSocket();
    }
  }

  send(data: string): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_PENDING_OUTPUT) {
      this.log.warn({ address: this.peer.address, jid: this.session.jid?.toString() }, 'client does not read its data; dropping it');
      this.ws.terminate();
      return;
    }
    this.ws.send(data);
  }

  closeStream(): void {
    this.send(`<close xmlns='${NS_FRAMING}'/>`);
    this.endSocket();
  }

  private endSocket(): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  startTls(): void {
    throw new Error('STARTTLS is not available on WebSocket');
  }

  restartStream(): void {
    this.parser = undefined;
  }

  destroy(): void {
    this.ws.terminate();
  }

  channelBindings(): ChannelBindingType[] {
    return this.peer.tls ? channelBindingTypes(this.peer.tls.socket) : [];
  }

  channelBinding(type: ChannelBindingType): Buffer | null {
    return this.peer.tls ? channelBindingData(this.peer.tls.socket, type, this.peer.tls.endPoint) : null;
  }
}
