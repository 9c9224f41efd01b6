// The SMTP/LMTP listener of the mail gateway: takes mail from the operator's MTA for local
// recipients only (every RCPT is checked, nothing is relayed, no AUTH), collects each message's
// bytes, has them parsed (headers and text; attachments are read past, never kept) by a pool of
// worker threads (parse-pool.ts), so that parsing garbage stays off the hub's heap, and hands each
// message over with its recipients.
import type { SecureContext } from 'node:tls';
import {
  SMTPServer,
  type SMTPServerDataResult,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';
import type { Logger } from '../../src/core/log.js';
import { parseMail, type ParsedMail } from './mail-parse.js';
import { defaultParseWorkers, ParsePool, ParsePoolUnavailable } from './parse-pool.js';

export type RecipientVerdict = { accept: true } | { accept: false; code: number; message: string };

export interface InboundMail extends ParsedMail {
  /** MAIL FROM, '' for the null sender. */
  envelopeFrom: string;
  /** Auto-Submitted other than 'no', Precedence bulk/junk/list, or the null sender: bounces, vacation replies. */
  autoSubmitted: boolean;
  /** Bytes received. */
  size: number;
}

/** Per recipient, in LMTP one reply each; in SMTP the worst one answers the DATA. */
export type DeliveryVerdict = { ok: true } | { ok: false; code: number; message: string };

export interface InboundMailOptions {
  interfaces: string[];
  /** 0 = any free port (tests). */
  port: number;
  protocol: 'smtp' | 'lmtp';
  /** Bytes; advertised with SIZE; over it: 552 5.3.4. */
  maxSize: number;
  /** Banner / EHLO name. */
  hostname: string;
  /** When given, STARTTLS is offered with the context for the SNI name (or the default). */
  tls?: { context(servername: string | undefined): SecureContext };
  /** Default 100 per transaction (452 4.5.3 beyond). */
  maxRecipients?: number;
  log: Logger;
  checkRecipient(address: string): Promise<RecipientVerdict>;
  deliver(mail: InboundMail, recipients: string[]): Promise<DeliveryVerdict[]>;
  /**
   * Worker threads parsing the messages (MIME), off the event loop that serves IM: default 1, or 2
   * when at least 3 cores are available; 0 parses on the calling thread.
   */
  parseWorkers?: number;
  /** Per message, from the start of its parsing (default 30 s); past it the message is unreadable. */
  parseTimeoutMs?: number;
}

const MAX_CONNECTIONS = 100; // per listening address
const SOCKET_TIMEOUT_MS = 120_000;
const CLOSE_TIMEOUT_MS = 10_000; // stop(): then the remaining sessions get 421
const TEMPORARY_FAILURE = 'Temporary failure, try again later';
/** First buffer of a message without SIZE= (it doubles as needed); with SIZE=, at most MAX_INITIAL_BUFFER. */
const INITIAL_BUFFER = 16 * 1024;
const MAX_INITIAL_BUFFER = 1024 * 1024;

export class InboundMailServer {
  /** Messages handed to deliver(); recipients refused (at RCPT, or after DATA: size, delivery); delivered messages that could not be parsed. */
  readonly stats = { received: 0, rejected: 0, unreadable: 0 };
  private servers: SMTPServer[] = [];
  private parser?: ParsePool;

  constructor(private readonly options: InboundMailOptions) {}

  async start(): Promise<void> {
    try {
      const workers = this.options.parseWorkers ?? defaultParseWorkers();
      if (workers > 0) {
        this.parser = new ParsePool({ size: workers, timeoutMs: this.options.parseTimeoutMs, log: this.options.log });
        await this.parser.start();
      }
      for (const host of this.options.interfaces) {
        const server = this.createServer();
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.options.port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        // Mostly clients misbehaving (resets, failed TLS handshakes): no stack traces.
        server.on('error', (err: Error & { code?: string; remoteAddress?: string }) =>
          this.options.log.warn({ code: err.code, client: err.remoteAddress }, `inbound mail: ${err.message.trim()}`),
        );
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Addresses actually bound (for port 0). */
  get addresses(): Array<{ address: string; port: number }> {
    return this.servers.flatMap(({ server }) => {
      const bound = server.address();
      return bound && typeof bound === 'object' ? [{ address: bound.address, port: bound.port }] : [];
    });
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    const parser = this.parser;
    this.parser = undefined;
    await parser?.close(); // after the sessions: a message still being parsed then gets 451
  }

  private createServer(): SMTPServer {
    const { tls, log } = this.options;
    const contextFor = tls && ((servername: string | undefined): SecureContext | undefined => {
      try {
        return tls.context(servername);
      } catch (err) {
        log.error({ err, servername }, 'inbound mail: no TLS context');
        return undefined; // smtp-server falls back to the '*' context
      }
    });
    const server: SMTPServer = new SMTPServer({
      lmtp: this.options.protocol === 'lmtp',
      name: this.options.hostname,
      size: this.options.maxSize,
      rejectOversized: true, // 552 5.3.4 after DATA, for every recipient in LMTP
      authOptional: true,
      disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      SNICallback: contextFor && ((servername, done) => done(null, contextFor(servername))),
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: true,
      maxClients: MAX_CONNECTIONS,
      maxRecipients: this.options.maxRecipients ?? 100,
      socketTimeout: SOCKET_TIMEOUT_MS,
      closeTimeout: CLOSE_TIMEOUT_MS,
      logger: false,
      onConnect: (_session, callback) => {
        // A client without SNI gets smtp-server's '*' context, its built-in test certificate
        // unless replaced; the caller's default may change (renewal), so it is fetched per session.
        const context = contextFor?.(undefined);
        if (context) server.secureContext.set('*', context);
        callback();
      },
      onRcptTo: (address, session, callback) => {
        void this.checkRecipient(lowerDomain(address.address), session).then(callback);
      },
      onData: (stream, session, callback) => {
        void this.receive(stream, session).then(([err, results]) => callback(err, results));
      },
    });
    if (tls) server.secureContext.set('*', tls.context(undefined)); // a broken context fails start()
    return server;
  }

  /** The first buffer for a message: its announced SIZE= (plus a little; a claim, so capped), else 0. */
  private sizeHint(session: SMTPServerSession): number {
    const args = session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, unknown> | false) : false;
    const size = args ? Number(args.SIZE) : NaN;
    return Number.isSafeInteger(size) && size > 0 ? Math.min(size + 1024, MAX_INITIAL_BUFFER, this.options.maxSize + 1024) : 0;
  }

  private async checkRecipient(address: string, session: SMTPServerSession): Promise<SMTPServerError | null> {
    const { log } = this.options;
    const context = { session: session.id, client: session.remoteAddress, from: envelopeFrom(session), rcpt: address };
    let verdict: RecipientVerdict;
    try {
      verdict = await this.options.checkRecipient(address);
    } catch (err) {
      log.error({ ...context, err }, 'inbound mail: checking a recipient failed');
      this.stats.rejected++;
      return smtpError(451, TEMPORARY_FAILURE);
    }
    if (verdict.accept) return null;
    log.warn({ ...context, code: verdict.code }, `inbound mail: recipient rejected: ${verdict.message}`);
    this.stats.rejected++;
    return smtpError(verdict.code, verdict.message);
  }

  /** The reply to DATA: an error for the whole message, or (LMTP) one result per recipient. */
  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
  ): Promise<[SMTPServerError | null, SMTPServerDataResult[]?]> {
    const { log } = this.options;
    const recipients = session.envelope.rcptTo.map((rcpt) => lowerDomain(rcpt.address));
    const from = envelopeFrom(session);
    const message = await readMessage(stream, this.sizeHint(session));
    const context = { session: session.id, client: session.remoteAddress, from, recipients, size: stream.byteLength };
    if (!message) {
      log.info(context, 'inbound mail: the client left before the end of the message');
      return [smtpError(451, TEMPORARY_FAILURE)];
    }
    if (message === 'too big' || stream.sizeExceeded) {
      log.warn({ ...context, maxSize: this.options.maxSize }, 'inbound mail: message too big'); // smtp-server answers 552
      this.stats.rejected += recipients.length;
      return [null];
    }
    let parsed: ParsedMail;
    try {
      parsed = this.parser
        ? await this.parser.parse(message.bytes, message.length)
        : await parseMail(Buffer.from(message.bytes, 0, message.length), this.options.parseTimeoutMs);
    } catch (err) {
      // The pool closing, full or without a worker: the MTA tries again later.
      if (err instanceof ParsePoolUnavailable) log.warn(context, `inbound mail: ${err.message}`);
      else log.error({ ...context, err }, 'inbound mail: parsing failed');
      this.stats.rejected += recipients.length;
      return [smtpError(451, TEMPORARY_FAILURE)];
    }
    this.stats.received++;
    if (parsed.unreadable) this.stats.unreadable++;
    const mail: InboundMail = { ...parsed, envelopeFrom: from, size: stream.byteLength };
    mail.autoSubmitted ||= from === '';

    let verdicts: DeliveryVerdict[];
    try {
      verdicts = await this.options.deliver(mail, recipients);
      if (verdicts.length !== recipients.length) {
        throw new Error(`deliver() gave ${verdicts.length} verdicts for ${recipients.length} recipients`);
      }
    } catch (err) {
      log.error({ ...context, err }, 'inbound mail: delivery failed');
      this.stats.rejected += recipients.length;
      return [smtpError(451, TEMPORARY_FAILURE)];
    }

    const lmtp = this.options.protocol === 'lmtp';
    const failures = verdicts.filter((verdict) => !verdict.ok);
    verdicts.forEach((verdict, i) => {
      if (!verdict.ok) log.warn({ ...context, rcpt: recipients[i], code: verdict.code }, `inbound mail: not delivered: ${verdict.message}`);
    });
    this.stats.rejected += failures.length;
    const accepted = lmtp || failures.length === 0 ? recipients.filter((_, i) => verdicts[i].ok) : [];
    if (accepted.length > 0) log.info({ ...context, recipients: accepted, unreadable: mail.unreadable }, 'inbound mail accepted');

    if (lmtp) return [null, verdicts.map((v) => (v.ok ? 'OK: message accepted' : smtpError(v.code, v.message)))];
    // One reply for all: a temporary failure first, as a permanent one would bounce mail that a retry could deliver.
    const worst = failures.find((v) => v.code < 500) ?? failures[0];
    return [worst ? smtpError(worst.code, worst.message) : null];
  }
}

/** A message's bytes, dot-unstuffed: `bytes[0, length)`, an ArrayBuffer of its own (transferable). */
type Message = { bytes: ArrayBuffer; length: number } | 'too big';

/**
 * Collects the message into one buffer (sized from SIZE= when given, doubled as needed): the
 * stream's chunks die young. Resolves at the end of the message, 'too big' past the size limit
 * (the rest is read and dropped; smtp-server answers 552), undefined when the client left before
 * the end.
 */
function readMessage(stream: SMTPServerDataStream, sizeHint: number): Promise<Message | undefined> {
  return new Promise((resolve) => {
    let buffer: Buffer<ArrayBuffer> | undefined = Buffer.allocUnsafeSlow(sizeHint > 0 ? sizeHint : INITIAL_BUFFER);
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      if (!buffer) return;
      if (stream.sizeExceeded) {
        buffer = undefined;
        return;
      }
      if (length + chunk.length > buffer.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, length + chunk.length));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      length += chunk.copy(buffer, length);
    });
    stream.on('end', () => resolve(buffer && !stream.sizeExceeded ? { bytes: buffer.buffer, length } : 'too big'));
    stream.on('close', () => {
      if (!stream.readableEnded) resolve(undefined);
    });
  });
}

/** Domains are case-insensitive, local parts are not (RFC 5321). */
function lowerDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at + 1) + address.slice(at + 1).toLowerCase();
}

function envelopeFrom(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

/** A handler error; smtp-server adds the enhanced status code (550 → 5.1.1, 451 → 4.3.0, …). */
function smtpError(code: number, message: string): SMTPServerError {
  return Object.assign(new Error(message), { responseCode: code >= 400 && code < 600 ? code : 451 });
}
