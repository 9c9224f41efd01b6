// Parsing of one received message (MIME) into the fields the gateway uses: headers and text kept,
// attachments read past. Runs in a parse worker (parse-worker.ts, through parse-pool.ts) so that
// its garbage stays off the hub's heap, or on the calling thread (InboundMailOptions.parseWorkers 0).
// Imports nothing of the SMTP listener: the worker loads only this module and its dependencies.
import { MailParser, type AttachmentStream, type HeaderValue, type Headers, type MailParserOptions, type MessageText } from 'mailparser';
import { safeLine } from './mail-summary.js';

/** What is read from a message (InboundMail without the envelope). Plain data: posted from a worker by structured clone. */
export interface ParsedMail {
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
  /** Auto-Submitted other than 'no', Precedence bulk/junk/list (the null sender is added by the listener). */
  autoSubmitted: boolean;
  /** MIME could not be parsed: other fields then hold what could be read. */
  unreadable: boolean;
}

/** From the start of parsing; a worker that does not answer in time is ended by the pool (parse-pool.ts). */
export const PARSE_TIMEOUT_MS = 30_000;
const MAX_TEXT = 64 * 1024;
const MAX_HEADER_TEXT = 998;
const PARSER_OPTIONS: MailParserOptions = {
  maxHtmlLengthToParse: 1024 * 1024, // longer HTML-only mail gets text ''
  maxHeadSize: 256 * 1024,
  maxChildNodes: 256,
  checksumAlgo: false,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
};

/** A message that could not be parsed at all (a parse worker that crashed or was stopped on it). */
export function unreadableMail(): ParsedMail {
  return { subject: '', text: '', references: [], autoSubmitted: false, unreadable: true };
}

/**
 * Parses a whole message (the bytes after DATA, dot-unstuffed). Never rejects: a message that
 * cannot be parsed, or takes longer than `timeoutMs`, is unreadable with whatever was read.
 */
export function parseMail(message: Buffer, timeoutMs = PARSE_TIMEOUT_MS): Promise<ParsedMail> {
  return new Promise((resolve) => {
    const parser = new MailParser(PARSER_OPTIONS);
    let headers: Headers | undefined;
    let text = '';
    let settled = false;

    const finish = (unreadable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (unreadable) parser.destroy();
      resolve(parsedMail(headers, text, unreadable));
    };
    const timer = setTimeout(() => finish(true), timeoutMs);

    parser.on('headers', (parsed: Headers) => (headers = parsed));
    parser.on('data', (part: AttachmentStream | MessageText) => {
      if (part.type === 'text') {
        text = part.text ?? '';
      } else {
        part.content.on('end', () => part.release?.());
        part.content.resume();
      }
    });
    parser.on('error', () => finish(true));
    parser.on('end', () => finish(false));
    parser.end(message);
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
