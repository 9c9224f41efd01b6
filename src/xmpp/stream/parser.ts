// Incremental parser for one XML stream (RFC 6120 §4, §11): the stream header, then one
// ltx Element per top-level child. Built on saxes, which checks well-formedness; this layer
// adds XMPP's restrictions (no DTD, PI, comment or entity reference) and the size and
// nesting limits, and reports violations as stream error conditions.
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { Element } from '../xml.js';

export type StreamErrorCondition =
  | 'bad-format' | 'not-well-formed' | 'restricted-xml' | 'policy-violation' | 'invalid-namespace'
  | 'unsupported-encoding' | 'invalid-xml';

export interface ParserLimits {
  /** Bytes allowed between two complete top-level elements (so: per stanza). */
  maxStanzaBytes: number;
  /** Element nesting below the stream root. */
  maxDepth: number;
  /** The root may be empty (`<body/>` in BOSH); a stream header may not. */
  emptyRootAllowed?: boolean;
}

export interface StreamParserEvents {
  streamStart(attrs: Record<string, string>, name: string): void;
  element(el: Element): void;
  streamEnd(): void;
  error(condition: StreamErrorCondition, text: string): void;
}

export class StreamParser {
  private readonly sax = new SaxesParser({ xmlns: false, position: false });
  private readonly decoder = new StringDecoder('utf8');
  private current: Element | null = null;
  private depth = 0;
  private pendingBytes = 0;
  private failed = false;

  constructor(private readonly limits: ParserLimits, private readonly events: StreamParserEvents) {
    const sax = this.sax;
    sax.on('opentag', (tag) => this.onOpen(tag));
    sax.on('closetag', () => this.onClose());
    sax.on('text', (text) => this.onText(text));
    sax.on('cdata', (text) => this.onText(text));
    sax.on('doctype', () => this.fail('restricted-xml', 'a DTD is not allowed in XMPP'));
    sax.on('processinginstruction', () => this.fail('restricted-xml', 'processing instructions are not allowed'));
    sax.on('comment', () => this.fail('restricted-xml', 'comments are not allowed'));
    sax.on('error', (err) => this.onSaxError(err));
  }

  /** Feeds raw bytes (or an already decoded string) from the transport. */
  write(chunk: Buffer | string): void {
    if (this.failed) return;
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > this.limits.maxStanzaBytes) {
      this.fail('policy-violation', `stanza larger than ${this.limits.maxStanzaBytes} bytes`);
      return;
    }
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    try {
      this.sax.write(text);
    } catch (err) {
      // saxes throws from write() once it is in an error state; the first error was reported.
      if (!this.failed) this.onSaxError(err as Error);
    }
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  /** True between top-level elements (nothing partial buffered). */
  get atBoundary(): boolean {
    return this.current === null && this.depth <= 1;
  }

  private onOpen(tag: SaxesTagPlain): void {
    if (this.failed) return;
    if (this.depth === 0) {
      this.depth = 1;
      if (tag.isSelfClosing && !this.limits.emptyRootAllowed) {
        this.fail('bad-format', 'the stream header must not be self-closing');
        return;
      }
      this.pendingBytes = 0;
      this.events.streamStart(tag.attributes as Record<string, string>, tag.name);
      return;
    }
    if (this.depth > this.limits.maxDepth) {
      this.fail('policy-violation', `elements nested deeper than ${this.limits.maxDepth}`);
      return;
    }
    this.depth++;
    const el = new Element(tag.name, tag.attributes as Record<string, string>);
    if (this.current) this.current.cnode(el);
    this.current = el;
  }

  private onClose(): void {
    if (this.failed) return;
    this.depth--;
    if (this.depth === 0) {
      this.events.streamEnd();
      return;
    }
    const el = this.current;
    if (!el) return;
    const parent = el.parent;
    if (parent) {
      this.current = parent;
      return;
    }
    this.current = null;
    this.pendingBytes = 0;
    this.events.element(el);
  }

  private onText(text: string): void {
    // Between stanzas only whitespace (keepalives) may appear.
    if (this.current) {
      this.current.t(text);
    } else if (this.depth === 1 && /\S/.test(text)) {
      this.fail('bad-format', 'character data between stanzas');
    }
  }

  private onSaxError(err: Error): void {
    const msg = err.message;
    if (/entity/i.test(msg)) this.fail('restricted-xml', 'entity references are not allowed');
    else if (/encoding/i.test(msg)) this.fail('unsupported-encoding', msg);
    else this.fail('not-well-formed', msg);
  }

  private fail(condition: StreamErrorCondition, text: string): void {
    if (this.failed) return;
    this.failed = true;
    this.events.error(condition, text);
  }
}
