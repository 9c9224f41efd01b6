// The SMTP/LMTP listener of the mail gateway: takes mail from the operator's MTA for local
// recipients only (every RCPT is checked, nothing is relayed, no AUTH), parses headers and
// text (attachments are read past, never kept) and hands each message over with its recipients.
import type { SecureContext } from 'node:tls';
import {
  MailParser,
  type AttachmentStream,
  type HeaderValue,
  type Headers,
  type MailParserOptions,
  type MessageText,
} from 'mailparser';
import {
  SMTPServer,
  type SMTPServerDataResult,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';
import type { Logger } from '../../src/core/log.js';
import { safeLine } from './mail-summary.js';

export type RecipientVerdict = { accept: true } | { accept: false; code: number; message: string };

export interface InboundMail {
  /** MAIL FROM, '' for the null sender. */
  envelopeFrom: string;
  /** The From header's first mailbox, if parseable (name and address made single-line). */
  from?: { address: string; name: string };
  /** Single line; '' when none. */
  subject: string;
  date?: Date;
  /** Plain text body (from text/plain, else html converted to text; '' when none), LF line ends, at most 64 KiB. */
  text: string;
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  /** Auto-Submitted other than 'no', Precedence bulk/junk/list, or the null sender: bounces, vacation replies. */
  autoSubmitted: boolean;
  /** MIME could not be parsed: other fields then hold what could be read. */
  unreadable: boolean;
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
}

const MAX_CONNECTIONS = 100; // per listening address
const SOCKET_TIMEOUT_MS = 120_000;
const CLOSE_TIMEOUT_MS = 10_000; // stop(): then the remaining sessions get 421
const PARSE_TIMEOUT_MS = 30_000; // from the end of DATA
const MAX_TEXT = 64 * 1024;
const MAX_HEADER_TEXT = 998;
const TEMPORARY_FAILURE = 'Temporary failure, try again later';
const PARSER_OPTIONS: MailParserOptions = {
  maxHtmlLengthToParse: 1024 * 1024, // longer HTML-only mail gets text ''
  maxHeadSize: 256 * 1024,
  maxChildNodes: 256,
  checksumAlgo: false,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
};

type ParsedMail = Omit<InboundMail, 'envelopeFrom' | 'size'>;

export class InboundMailServer {
  /** Messages handed to deliver(); recipients refused (at RCPT, or after DATA: size, delivery); delivered messages that could not be parsed. */
  readonly stats = { received: 0, rejected: 0, unreadable: 0 };
  private servers: SMTPServer[] = [];

  constructor(private readonly options: InboundMailOptions) {}

  async start(): Promise<void> {
    try {
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
    const parsed = await readMail(stream);
    const context = { session: session.id, client: session.remoteAddress, from, recipients, size: stream.byteLength };
    if (!parsed) {
      log.info(context, 'inbound mail: the client left before the end of the message');
      return [smtpError(451, TEMPORARY_FAILURE)];
    }
    if (stream.sizeExceeded) {
      log.warn({ ...context, maxSize: this.options.maxSize }, 'inbound mail: message too big'); // smtp-server answers 552
      this.stats.rejected += recipients.length;
      return [null];
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

/**
 * Parses the message as it streams in: headers and text kept, attachments read past. Resolves once
 * the whole message has been received, undefined when the client left before its end. Never rejects:
 * a message that cannot be parsed (or takes too long to) is unreadable, with whatever was read.
 */
function readMail(stream: SMTPServerDataStream): Promise<ParsedMail | undefined> {
  return new Promise((resolve) => {
    const parser = new MailParser(PARSER_OPTIONS);
    let headers: Headers | undefined;
    let text = '';
    let parsing: 'busy' | 'done' | 'failed' = 'busy';
    let timer: NodeJS.Timeout | undefined;

    const settle = (): void => {
      if (!stream.readableEnded) return;
      if (parsing === 'busy') {
        timer ??= setTimeout(fail, PARSE_TIMEOUT_MS);
        return;
      }
      clearTimeout(timer);
      resolve(parsedMail(headers, text, parsing === 'failed'));
    };
    // The rest of the message is still read (smtp-server answers at its end), just not parsed.
    const fail = (): void => {
      if (parsing !== 'busy') return;
      parsing = 'failed';
      stream.unpipe(parser);
      parser.destroy();
      stream.resume();
      settle();
    };

    parser.on('headers', (parsed: Headers) => (headers = parsed));
    parser.on('data', (part: AttachmentStream | MessageText) => {
      if (part.type === 'text') {
        text = part.text ?? '';
      } else {
        part.content.on('end', () => part.release?.());
        part.content.resume();
      }
    });
    parser.on('error', fail);
    parser.on('end', () => {
      if (parsing === 'busy') parsing = 'done';
      settle();
    });
    stream.on('data', () => {
      if (stream.sizeExceeded) fail();
    });
    stream.on('end', settle);
    stream.on('close', () => {
      if (stream.readableEnded) return;
      clearTimeout(timer);
      parser.destroy();
      resolve(undefined);
    });
    stream.pipe(parser);
  });
}

function parsedMail(headers: Headers | undefined, text: string, unreadable: boolean): ParsedMail {
  const mail: ParsedMail = { subject: '', text: cleanText(text), references: [], autoSubmitted: false, unreadable };
  if (!headers) return mail;
  try {
    mail.subject = safeLine(first(headers.get('subject')) ?? '', MAX_HEADER_TEXT);
    const from = headers.get('from');
    const mailbox = from && typeof from === 'object' && 'value' in from && Array.isArray(from.value)
      ? from.value.flatMap((entry) => entry.group ?? [entry]).find((entry) => entry.address)
      : undefined;
    if (mailbox?.address) {
      mail.from = { address: safeLine(mailbox.address, MAX_HEADER_TEXT), name: safeLine(mailbox.name, MAX_HEADER_TEXT) };
    }
    const date = headers.get('date');
    if (date instanceof Date) mail.date = date;
    mail.messageId = first(headers.get('message-id'));
    mail.inReplyTo = first(headers.get('in-reply-to'));
    const references = headers.get('references');
    mail.references = (Array.isArray(references) ? references : [references]).filter((r) => typeof r === 'string');
    const auto = first(headers.get('auto-submitted'))?.split(';')[0].trim().toLowerCase();
    const precedence = first(headers.get('precedence'))?.trim().toLowerCase();
    mail.autoSubmitted = (auto !== undefined && auto !== 'no') || ['bulk', 'junk', 'list'].includes(precedence ?? '');
  } catch {
    mail.unreadable = true; // a header of an unexpected shape
  }
  return mail;
}

/** A header's (first) string value. */
function first(value: HeaderValue | undefined): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one : undefined;
}

/** LF line ends, no control characters but tab and newline, at most MAX_TEXT code units (surrogate pairs kept whole). */
function cleanText(text: string): string {
  const end = text.length > MAX_TEXT && /[\uD800-\uDBFF]/.test(text[MAX_TEXT - 1]) ? MAX_TEXT - 1 : MAX_TEXT;
  return text.slice(0, end).replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0B-\x1F\x7F]/g, '').trimEnd();
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
