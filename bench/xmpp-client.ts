// The transport-independent half of the generators' XMPP clients: waiting for markers in the
// text received so far, SASL (PLAIN, SCRAM-SHA-1), resource binding, roster and initial
// presence, and the scanner the scenarios use on delivered stanzas. Stanzas are hand-built
// strings and parsing is `indexOf`, so one core can drive far more traffic than a server takes.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

export type Mechanism = 'PLAIN' | 'SCRAM-SHA-1';

/** Where and as whom the generator's clients log in. */
export interface Target {
  host: string;
  port: number;
  domain: string;
  password: string;
  /** Longest wait for any one answer during a login. */
  timeoutMs: number;
}

/** What the login steps need from a connection, whatever carries it. */
export interface StanzaChannel {
  send(data: string): void;
  /** Resolves with the text received up to and including the first of `markers`. */
  expect(markers: string | string[], alsoFail?: string[]): Promise<string>;
}

/** A logged-in session as the scenarios use it, whatever the transport. */
export interface LiveSession {
  /** Sends one or more stanzas. */
  send(stanzas: string): void;
  /** Receives every chunk of stanzas once set (the login buffer is no longer used). */
  onText: ((chunk: string) => void) | undefined;
  readonly closed: boolean;
  /** Ends the session at once (BOSH: with a terminate request). */
  destroy(): void;
  /** Scratch for `scan`: unconsumed end of the previous chunk. */
  tail: string;
}

interface Waiter {
  /** Any of these (servers differ in quoting). */
  markers: string[];
  fail: string[];
  resolve: (text: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Text received during a login, and at most one pending wait for a marker in it. */
export class ExpectBuffer {
  private buf = '';
  private waiter: Waiter | undefined;
  private ended = '';

  constructor(
    /** Markers that fail any wait: the stream or session ended. */
    private readonly fatal: string[],
    private readonly timeoutMs: number,
  ) {}

  push(text: string): void {
    this.buf += text;
    this.check();
  }

  /** The connection is gone: a pending wait fails, later ones fail at once. */
  end(reason: string): void {
    this.ended ||= reason || 'closed';
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.reject(new Error(`connection closed while waiting for ${w.markers.join('|')}: ${this.ended} ${this.buf.slice(0, 300)}`));
  }

  expect(markers: string | string[], alsoFail: string[] = []): Promise<string> {
    const list = typeof markers === 'string' ? [markers] : markers;
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new Error(`connection closed before ${list.join('|')}: ${this.ended}`));
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`timeout waiting for ${list.join('|')}: ${this.buf.slice(0, 300)}`));
      }, this.timeoutMs);
      this.waiter = { markers: list, fail: [...this.fatal, ...alsoFail], resolve, reject, timer };
      this.check();
    });
  }

  private check(): void {
    const w = this.waiter;
    if (!w) return;
    let at = -1;
    let length = 0;
    for (const m of w.markers) {
      const i = this.buf.indexOf(m);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        length = m.length;
      }
    }
    if (at >= 0) {
      const end = at + length;
      const text = this.buf.slice(0, end);
      this.buf = this.buf.slice(end);
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(text);
      return;
    }
    for (const f of w.fail) {
      if (this.buf.includes(f)) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.reject(new Error(`got ${f} while waiting for ${w.markers.join('|')}: ${this.buf.slice(0, 400)}`));
        return;
      }
    }
  }
}

// A client keeps SaltedPassword per (salt, iterations) — what real clients cache too, so the
// generator's own PBKDF2 does not limit the SCRAM login rate (every bench user shares a salt).
const saltedCache = new Map<string, Buffer>();

function b64(s: string | Buffer): string {
  return (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');
}

function between(text: string, open: string, close: string): string {
  const start = text.lastIndexOf(open);
  const from = text.indexOf('>', start) + 1;
  return text.slice(from, text.indexOf(close, from));
}

export async function authenticate(c: StanzaChannel, user: string, password: string, mech: Mechanism): Promise<void> {
  if (mech === 'PLAIN') {
    c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${b64(`\0${user}\0${password}`)}</auth>`);
    await c.expect('<success', ['<failure']);
    return;
  }
  const clientNonce = randomBytes(18).toString('base64');
  const firstBare = `n=${user},r=${clientNonce}`;
  c.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${b64(`n,,${firstBare}`)}</auth>`);
  const challengeText = await c.expect('</challenge>', ['<failure']);
  const serverFirst = Buffer.from(between(challengeText, '<challenge', '</challenge>'), 'base64').toString();
  const attrs = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as const));
  const nonce = attrs.get('r')!;
  const salt = attrs.get('s')!;
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(clientNonce)) throw new Error('SCRAM: server nonce does not extend ours');
  const cacheKey = `${salt}:${iterations}`;
  let salted = saltedCache.get(cacheKey);
  if (!salted) {
    salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, 20, 'sha1');
    saltedCache.set(cacheKey, salted);
  }
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  const storedKey = createHash('sha1').update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac('sha1', storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  c.send(`<response xmlns='${NS_SASL}'>${b64(`${withoutProof},p=${proof.toString('base64')}`)}</response>`);
  const success = await c.expect('</success>', ['<failure']);
  const serverSignature = createHmac('sha1', createHmac('sha1', salted).update('Server Key').digest()).update(authMessage).digest('base64');
  const v = Buffer.from(between(success, '<success', '</success>'), 'base64').toString();
  if (v !== `v=${serverSignature}`) throw new Error('SCRAM: bad server signature');
}

/** After the post-authentication features: bind, roster get, initial presence (unless `presence` is false). */
export async function bindAndPresence(c: StanzaChannel, resource: string, presence = true): Promise<void> {
  c.send(`<iq type='set' id='b1'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`);
  await c.expect('</iq>');
  c.send(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`);
  await c.expect([`id="r1"`, `id='r1'`]);
  if (presence) c.send('<presence/>');
}

/**
 * Calls `found` with the text between every `marker` and the next space in the stream of chunks
 * (markers and values split across chunks are kept for the next call). True on a stream error.
 */
export function scan(c: { tail: string }, chunk: string, marker: string, found: (value: string) => void): boolean {
  const s = c.tail === '' ? chunk : c.tail + chunk;
  let pos = 0;
  for (;;) {
    const i = s.indexOf(marker, pos);
    if (i < 0) break;
    const j = s.indexOf(' ', i + marker.length);
    if (j < 0) {
      c.tail = s.slice(i);
      return false;
    }
    found(s.slice(i + marker.length, j));
    pos = j;
  }
  c.tail = s.length - pos > marker.length ? s.slice(s.length - marker.length + 1) : s.slice(pos);
  return s.includes('<stream:error', pos);
}
