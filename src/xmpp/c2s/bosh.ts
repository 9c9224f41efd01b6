// BOSH (XEP-0124) carrying an XMPP stream (XEP-0206): a session is a sequence of HTTP
// requests numbered by `rid`. Requests are processed strictly in rid order; the connection
// manager holds up to `hold` of them open and answers the oldest whenever it has data, when
// `wait` runs out, or when a newer request pushes it out. Answers are kept for resending.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../core/log.js';
import type { ChannelBindingType } from '../sasl/mechanism.js';
import type { XmppServer } from '../server.js';
import { escapeXML, NS, type Element } from '../xml.js';
import { ClientSession, type Framing } from './session.js';

export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
export const NS_XBOSH = 'urn:xmpp:xbosh';
/** The BOSH version implemented here. */
const BOSH_VERSION = '1.11';

/** Answers one HTTP request with a <body/> document. */
export interface BoshReply {
  send(body: string): void;
}

export interface BoshLimits {
  maxWait: number;
  maxHold: number;
  maxInactivity: number;
  maxPause: number;
  polling: number;
}

export interface BoshPeer {
  address: string;
  secure: boolean;
}

/** A request that arrived ahead of a missing rid; its reply is gone once `wait` ran out. */
interface Early {
  attrs: Record<string, string>;
  children: Element[];
  reply: BoshReply | undefined;
  timer: NodeJS.Timeout;
}

interface Held {
  rid: number;
  reply: BoshReply;
  timer: NodeJS.Timeout;
}

/** A body that ends the session: XEP-0124 §17 terminal binding conditions. */
export function terminateBody(condition?: string, payload = ''): string {
  const cond = condition ? ` condition='${condition}'` : '';
  return `<body xmlns='${NS_HTTPBIND}' type='terminate'${cond}${payload ? ` xmlns:stream='${NS.stream}'>${payload}</body>` : '/>'}`;
}

export class BoshSession implements Framing {
  readonly sid = randomBytes(16).toString('base64url');
  readonly session: ClientSession;
  readonly transport = 'bosh';
  readonly canStartTls = false;
  readonly standaloneElements = true;
  readonly wait: number;
  readonly hold: number;
  readonly requests: number;
  private readonly ack: boolean;
  /** The protocol version both ends support (XEP-0124 §7.2: the lower of the two). */
  private readonly ver: string;
  private readonly to: string;
  private readonly lang: string;
  /** The next rid to process; earlier ones were processed. */
  private nextRid: number;
  /** Requests that arrived ahead of a missing rid, processed once it comes. */
  private readonly early = new Map<number, Early>();
  private readonly held: Held[] = [];
  private readonly answered = new Map<number, string>();
  private pending: string[] = [];
  private flushScheduled = false;
  /** Attributes of the session creation response, until it is sent. */
  private creation: string | undefined;
  private streamAttrs: Record<string, string> = {};
  private inactivityTimer: NodeJS.Timeout | undefined;
  private inactivity: number;
  private lastEmptyAt = 0;
  private lastAnswerEmpty = false;
  private terminated = false;
  private terminal: string | undefined;
  private finished = false;

  constructor(
    server: XmppServer,
    private readonly peer: BoshPeer,
    private readonly limits: BoshLimits,
    /** Creation request attributes (checked by the endpoint: `rid` and `to` are valid). */
    attrs: Record<string, string>,
    private readonly log: Logger,
    private readonly ended: (session: BoshSession) => void,
  ) {
    this.session = new ClientSession(server, this);
    this.wait = clamp(intAttr(attrs.wait) ?? limits.maxWait, 1, limits.maxWait);
    this.hold = clamp(intAttr(attrs.hold) ?? 1, 0, limits.maxHold);
    this.requests = this.hold + 1;
    this.inactivity = limits.maxInactivity;
    this.ack = attrs.ack === '1';
    this.ver = lowerVersion(attrs.ver, BOSH_VERSION);
    this.to = attrs.to!;
    this.lang = attrs['xml:lang'] ?? 'en';
    this.nextRid = Number(attrs.rid);
  }

  get secure(): boolean {
    return this.peer.secure;
  }

  get remoteAddress(): string {
    return this.peer.address;
  }

  /** Processes the session creation request. */
  start(reply: BoshReply): void {
    const rid = this.nextRid++;
    this.session.onStreamStart({ to: this.to, xmlns: NS.client, 'xmlns:stream': NS.stream, version: '1.0', 'xml:lang': this.lang });
    if (this.terminated) return this.answerTerminated(reply);
    this.creation = [
      `sid='${this.sid}'`, `wait='${this.wait}'`, `hold='${this.hold}'`, `requests='${this.requests}'`,
      `inactivity='${this.limits.maxInactivity}'`, `polling='${this.limits.polling}'`, `maxpause='${this.limits.maxPause}'`,
      `ver='${this.ver}'`, `from='${escapeXML(this.streamAttrs.from ?? this.to)}'`, `authid='${this.streamAttrs.id ?? ''}'`,
      `secure='${this.peer.secure}'`, `xmpp:version='1.0'`, `xmpp:restartlogic='true'`, `xmlns:xmpp='${NS_XBOSH}'`,
      ...(this.ack ? [`ack='${rid}'`] : []),
    ].join(' ');
    this.holdRequest(rid, reply);
  }

  /** A request of this session (any rid); the endpoint parsed its body. */
  request(attrs: Record<string, string>, children: Element[], reply: BoshReply): void {
    if (this.terminated) return this.answerTerminated(reply);
    const rid = intAttr(attrs.rid);
    if (rid === undefined) return this.fail(reply, 'bad-request', 'missing or invalid rid');
    if (rid < this.nextRid) return this.resend(rid, reply);
    if (rid >= this.nextRid + this.requests) return this.fail(reply, 'item-not-found', `rid ${rid} is outside the window`);
    this.clearInactivity();
    if (rid > this.nextRid) return this.holdEarly(rid, attrs, children, reply);
    this.process(rid, attrs, children, reply);
    for (let next = this.early.get(this.nextRid); next && !this.terminated; next = this.early.get(this.nextRid)) {
      this.early.delete(this.nextRid);
      clearTimeout(next.timer);
      this.process(this.nextRid, next.attrs, next.children, next.reply);
    }
  }

  private holdEarly(rid: number, attrs: Record<string, string>, children: Element[], reply: BoshReply): void {
    const repeated = this.early.get(rid);
    if (repeated) {
      clearTimeout(repeated.timer);
      repeated.reply?.send(emptyBody());
    }
    const early: Early = { attrs, children, reply, timer: setTimeout(() => {
      // The missing request is late: answer this one empty, keep its payload for its turn.
      early.reply?.send(emptyBody());
      early.reply = undefined;
      if (this.held.length === 0) this.startInactivity();
    }, this.wait * 1000).unref() };
    this.early.set(rid, early);
  }

  /** Processes request `rid`; `reply` is undefined when it was answered while waiting its turn. */
  private process(rid: number, attrs: Record<string, string>, children: Element[], reply: BoshReply | undefined): void {
    this.nextRid = rid + 1;
    const ack = intAttr(attrs.ack);
    if (ack !== undefined) for (const old of this.answered.keys()) if (old <= ack) this.answered.delete(old);
    if (this.hold === 0 && children.length === 0 && !attrs.type && !attrs.pause) {
      const now = Date.now();
      const tooSoon = this.lastAnswerEmpty && now - this.lastEmptyAt < this.limits.polling * 1000;
      this.lastEmptyAt = now;
      if (tooSoon) return this.fail(reply ?? { send: () => undefined }, 'policy-violation', 'polling too frequently');
    }
    if (attrs['xmpp:restart'] === 'true') {
      this.session.onStreamStart({ to: this.to, xmlns: NS.client, 'xmlns:stream': NS.stream, version: '1.0', 'xml:lang': this.lang });
    }
    for (const child of children) this.session.onElement(child);
    if (attrs.type === 'terminate') this.session.onStreamEnd();
    if (this.terminated) {
      if (reply) this.answerTerminated(reply);
      return;
    }
    if (!reply) return;
    const pause = intAttr(attrs.pause);
    if (pause !== undefined) {
      // The client leaves (e.g. loads another page): answer everything, wait up to `pause`.
      this.inactivity = clamp(pause, 1, this.limits.maxPause);
      this.holdRequest(rid, reply);
      while (this.held.length > 0) this.answerOldest();
      return;
    }
    this.inactivity = this.limits.maxInactivity;
    this.holdRequest(rid, reply);
  }

  private holdRequest(rid: number, reply: BoshReply): void {
    const timer = setTimeout(() => this.expire(rid), this.wait * 1000).unref();
    this.held.push({ rid, reply, timer });
    while (this.held.length > this.hold) this.answerOldest();
    if (this.pending.length > 0) this.scheduleFlush();
  }

  private expire(rid: number): void {
    const index = this.held.findIndex((h) => h.rid === rid);
    if (index === 0) this.answerOldest();
    else if (index > 0) this.answer(this.held.splice(index, 1)[0]!, '');
  }

  /** Answers the oldest held request with everything pending. */
  private answerOldest(): void {
    const oldest = this.held.shift();
    if (!oldest) return;
    const payload = this.pending.join('');
    this.pending = [];
    this.answer(oldest, payload);
  }

  private answer(held: Held, payload: string): void {
    clearTimeout(held.timer);
    const attrs: string[] = [];
    if (this.creation) {
      attrs.push(this.creation);
      this.creation = undefined;
    } else if (this.ack && held.rid < this.nextRid - 1) {
      attrs.push(`ack='${this.nextRid - 1}'`);
    }
    const body = `<body xmlns='${NS_HTTPBIND}' xmlns:stream='${NS.stream}'${attrs.length ? ' ' + attrs.join(' ') : ''}>${payload}</body>`;
    this.lastAnswerEmpty = payload === '';
    this.answered.set(held.rid, body);
    // Enough answers are kept to resend any lost one inside the request window.
    for (const old of this.answered.keys()) if (old < this.nextRid - this.requests - 1) this.answered.delete(old);
    held.reply.send(body);
    if (this.held.length === 0) this.startInactivity();
  }

  private resend(rid: number, reply: BoshReply): void {
    const stillHeld = this.held.find((h) => h.rid === rid);
    if (stillHeld) {
      // The client gave up on that HTTP request and repeated it: answer on the new one.
      stillHeld.reply.send(emptyBody());
      stillHeld.reply = reply;
      return;
    }
    const body = this.answered.get(rid);
    if (body === undefined) return this.fail(reply, 'item-not-found', `no answer to resend for rid ${rid}`);
    this.log.debug({ sid: this.sid, rid }, 'resending a BOSH response');
    reply.send(body);
  }

  /** The client closed the HTTP connection of a held request: it must not take data with it. */
  abandoned(reply: BoshReply): void {
    const index = this.held.findIndex((h) => h.reply === reply);
    if (index < 0) return;
    clearTimeout(this.held[index]!.timer);
    this.held.splice(index, 1);
    if (this.held.length === 0) this.startInactivity();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.pending.length > 0 && this.held.length > 0) this.answerOldest();
    });
  }

  // --- Framing --------------------------------------------------------------------------

  openStream(attrs: Record<string, string>): void {
    this.streamAttrs = attrs;
  }

  send(data: string): void {
    if (this.terminated) return;
    this.pending.push(data);
    if (this.held.length > 0) this.scheduleFlush();
  }

  closeStream(): void {
    if (this.terminated) return;
    const payload = this.pending.join('');
    this.pending = [];
    const condition = payload.includes('<stream:error') ? 'remote-stream-error' : undefined;
    this.terminal = terminateBody(condition, payload);
    this.terminated = true;
    const first = this.held.shift();
    if (first) {
      clearTimeout(first.timer);
      first.reply.send(this.terminal);
      this.terminal = undefined;
    }
    for (const other of this.held.splice(0)) {
      clearTimeout(other.timer);
      other.reply.send(terminateBody());
    }
    for (const early of this.early.values()) {
      clearTimeout(early.timer);
      early.reply?.send(terminateBody());
    }
    this.early.clear();
    // A terminal answer not yet delivered waits for the client's next request, a while.
    if (first) this.end();
    else this.startInactivity();
  }

  startTls(): void {
    throw new Error('STARTTLS is not available on BOSH');
  }

  restartStream(): void {
    // BOSH restarts with xmpp:restart='true' on a request; nothing to reset here.
  }

  destroy(): void {
    this.closeStream();
  }

  channelBindings(): ChannelBindingType[] {
    // Each request may come over another TLS connection: there is no one channel to bind.
    return [];
  }

  channelBinding(): Buffer | null {
    return null;
  }

  // --- ending -----------------------------------------------------------------------------

  private fail(reply: BoshReply, condition: string, text: string): void {
    this.log.info({ sid: this.sid, address: this.peer.address, condition, text }, 'BOSH session terminated');
    reply.send(terminateBody(condition));
    this.pending = [];
    this.closeStream();
    this.session.onDisconnect();
    this.end();
  }

  private answerTerminated(reply: BoshReply): void {
    reply.send(this.terminal ?? terminateBody());
    this.terminal = undefined;
    this.end();
  }

  private startInactivity(): void {
    this.clearInactivity();
    this.inactivityTimer = setTimeout(() => this.inactive(), this.inactivity * 1000).unref();
  }

  private clearInactivity(): void {
    if (this.inactivityTimer) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = undefined;
  }

  private inactive(): void {
    if (!this.terminated) {
      this.log.info({ sid: this.sid, jid: this.session.jid?.toString(), address: this.peer.address }, 'BOSH session timed out');
      this.terminated = true;
      this.session.onDisconnect();
    }
    this.end();
  }

  private end(): void {
    this.clearInactivity();
    for (const early of this.early.values()) clearTimeout(early.timer);
    if (this.finished) return;
    this.finished = true;
    this.ended(this);
  }
}

function emptyBody(): string {
  return `<body xmlns='${NS_HTTPBIND}'/>`;
}

/** A non-negative integer attribute (rid, wait, hold...), or undefined. */
export function intAttr(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The lower of two "major.minor" versions (minor compared as a number); `ours` when theirs is missing or invalid. */
function lowerVersion(theirs: string | undefined, ours: string): string {
  const parse = (v: string): [number, number] | undefined => {
    const match = /^(\d{1,6})\.(\d{1,6})$/.exec(v);
    return match ? [Number(match[1]), Number(match[2])] : undefined;
  };
  const a = theirs === undefined ? undefined : parse(theirs);
  const b = parse(ours)!;
  if (!a) return ours;
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]) ? `${a[0]}.${a[1]}` : ours;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
