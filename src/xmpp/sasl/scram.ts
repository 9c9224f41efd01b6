// SCRAM server side (RFC 5802, RFC 7677) with channel binding (RFC 5929, RFC 9266).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import saslprep from 'saslprep';
import { DEFAULT_SCRAM_ITERATIONS, SCRAM_KEY_BYTES } from '../../directory/scram.js';
import type { HashName, SaslCondition, SaslContext, SaslExchange, SaslMechanism, SaslStep, ScramCredential } from './mechanism.js';

export interface ScramOptions {
  /**
   * Whether this server offers the -PLUS variants when the connection has channel bindings
   * (default true). A client sending the `y` flag then sees a downgrade and is refused.
   */
  plusOffered?: boolean;
  /** Iteration count announced for unknown users; should equal the one real credentials use. */
  fakeIterations?: number;
  /** Server part of the nonce (default 24 random bytes, base64); a hook for test vectors. */
  serverNonce?: () => string;
}

const MAX_NAME_BYTES = 1023;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// Keys the fake salts of unknown users: stable within the process, unpredictable outside it.
const fakeSaltSecret = randomBytes(32);

/** Ends the exchange; `text` is the RFC 5802 server-error value where one applies. */
class ScramFailure extends Error {
  constructor(readonly condition: SaslCondition, text: string, readonly username?: string) {
    super(text);
  }
}

const malformed = (text: string) => new ScramFailure('malformed-request', text);

function decode(data: Buffer): string {
  let message: string;
  try {
    message = utf8.decode(data);
  } catch {
    throw malformed('invalid-encoding');
  }
  if (message.includes('\0')) throw malformed('invalid-encoding');
  return message;
}

/** The value of `name=value`, which must be non-empty. */
function attribute(part: string | undefined, name: string): string {
  if (part === undefined || !part.startsWith(`${name}=`) || part.length === name.length + 1) {
    throw malformed(`expected attribute ${name}`);
  }
  return part.slice(name.length + 1);
}

/** Optional extensions are well-formed `x=value` attributes; their meaning is ignored. */
function checkExtensions(parts: string[]): void {
  if (!parts.every((p) => /^[A-Za-z]=./.test(p))) throw malformed('invalid attribute');
}

function decodeSaslname(value: string): string {
  if (/=(?!2C|3D)/.test(value)) throw malformed('invalid-username-encoding');
  const name = value.replace(/=2C|=3D/g, (escape) => (escape === '=2C' ? ',' : '='));
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw malformed('invalid-username-encoding');
  return name;
}

function decodeBase64(value: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw malformed('invalid-encoding');
  return bytes;
}

interface ClientFirst {
  gs2Header: string;
  flag: 'n' | 'y' | 'p';
  cbName: string;          // '' unless flag is 'p'
  authzid: string;         // '' when absent
  username: string;        // SASLprepped
  clientNonce: string;
  bare: string;            // client-first-message-bare, part of AuthMessage
}

function parseClientFirst(message: string): ClientFirst {
  const [cbind, authz, ...bare] = message.split(',');
  const flag = cbind === 'n' || cbind === 'y' ? cbind : /^p=[A-Za-z0-9.-]+$/.test(cbind) ? 'p' : null;
  if (flag === null || authz === undefined) throw malformed('invalid GS2 header');
  if (bare[0]?.startsWith('m=')) throw malformed('extensions-not-supported');
  const [user, nonce, ...extensions] = bare;
  let username: string;
  try {
    username = saslprep(decodeSaslname(attribute(user, 'n')), { allowUnassigned: true });
  } catch (e) {
    throw e instanceof ScramFailure ? e : malformed('invalid-username-encoding');
  }
  if (username === '') throw malformed('invalid-username-encoding');
  const clientNonce = attribute(nonce, 'r');
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw malformed('invalid nonce');
  checkExtensions(extensions);
  return {
    gs2Header: `${cbind},${authz},`,
    flag,
    cbName: flag === 'p' ? cbind.slice(2) : '',
    authzid: authz === '' ? '' : decodeSaslname(attribute(authz, 'a')),
    username,
    clientNonce,
    bare: bare.join(','),
  };
}

interface ClientFinal {
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  withoutProof: string;
}

function parseClientFinal(message: string): ClientFinal {
  const parts = message.split(',');
  if (parts.length < 3) throw malformed('incomplete client-final-message');
  const [cb, nonce, ...rest] = parts;
  const proof = attribute(rest.pop(), 'p');
  checkExtensions(rest);
  return {
    channelBinding: decodeBase64(attribute(cb, 'c')),
    nonce: attribute(nonce, 'r'),
    proof: decodeBase64(proof),
    withoutProof: parts.slice(0, -1).join(','),
  };
}

interface Pending {
  username: string;
  authzid: string;
  cred: ScramCredential;
  known: boolean;
  nonce: string;
  expectedBinding: Buffer;   // what c= must carry: the GS2 header plus the channel binding data
  authPrefix: string;        // client-first-message-bare "," server-first-message
}

class ScramExchange implements SaslExchange {
  private phase: 'first' | 'final' | 'done' = 'first';
  private pending: Pending | null = null;

  constructor(
    private readonly hash: HashName,
    private readonly plus: boolean,
    private readonly opts: ScramOptions,
    private readonly ctx: SaslContext,
  ) {}

  async step(data: Buffer | null): Promise<SaslStep> {
    // Without an initial response the client sends its first message after an empty challenge.
    if (this.phase === 'first' && data === null) return { kind: 'challenge', data: Buffer.alloc(0) };
    const phase = this.phase;
    this.phase = 'done';  // a failure or an out-of-order call ends the exchange
    try {
      if (data === null || phase === 'done') throw malformed('unexpected message');
      if (phase === 'final') return this.clientFinal(decode(data));
      const challenge = await this.clientFirst(decode(data));
      this.phase = 'final';
      return challenge;
    } catch (e) {
      if (!(e instanceof ScramFailure)) throw e;
      return {
        kind: 'failure',
        condition: e.condition,
        text: e.message,
        ...(e.username === undefined ? {} : { username: e.username }),
      };
    }
  }

  /** Checks the GS2 channel binding flag; returns the binding data the client must echo. */
  private bindingData(first: ClientFirst): Buffer {
    const { ctx } = this;
    if (!this.plus) {
      if (first.flag === 'p') throw malformed('channel-binding-not-supported');
      if (first.flag === 'y' && this.opts.plusOffered !== false && ctx.channelBindings.length > 0) {
        throw new ScramFailure('not-authorized', 'server-does-support-channel-binding');
      }
      return Buffer.alloc(0);
    }
    if (first.flag !== 'p') throw malformed('channel binding required');
    const type = ctx.channelBindings.find((t) => t === first.cbName);
    const data = type === undefined ? null : ctx.channelBinding(type);
    if (data === null) throw malformed('unsupported-channel-binding-type');
    return data;
  }

  private async clientFirst(message: string): Promise<SaslStep> {
    const first = parseClientFirst(message);
    const binding = this.bindingData(first);
    const { username, authzid } = first;
    if (authzid !== '' && authzid !== `${username}@${this.ctx.host}`) {
      throw new ScramFailure('invalid-authzid', 'invalid authzid');
    }
    const stored = await this.ctx.getScram(username, this.hash);
    const cred = stored ?? this.fakeCredential(username);
    const nonce = first.clientNonce + (this.opts.serverNonce?.() ?? randomBytes(24).toString('base64'));
    const serverFirst = `r=${nonce},s=${cred.salt.toString('base64')},i=${cred.iterations}`;
    this.pending = {
      username,
      authzid,
      cred,
      known: stored !== null,
      nonce,
      expectedBinding: Buffer.concat([Buffer.from(first.gs2Header), binding]),
      authPrefix: `${first.bare},${serverFirst}`,
    };
    return { kind: 'challenge', data: Buffer.from(serverFirst) };
  }

  /**
   * Unknown users get the same exchange as real ones up to the final proof check: a salt that
   * is stable per username (so repeated probes see no change) and keys nobody can match.
   */
  private fakeCredential(username: string): ScramCredential {
    const salt = createHmac('sha256', fakeSaltSecret)
      .update(`${this.hash}\0${this.ctx.host}\0${username}`)
      .digest()
      .subarray(0, 16);
    const keyBytes = SCRAM_KEY_BYTES[this.hash];
    return {
      salt,
      iterations: this.opts.fakeIterations ?? DEFAULT_SCRAM_ITERATIONS,
      storedKey: randomBytes(keyBytes),
      serverKey: randomBytes(keyBytes),
    };
  }

  private clientFinal(message: string): SaslStep {
    const p = this.pending;
    if (p === null) throw malformed('unexpected message');
    const final = parseClientFinal(message);
    if (!final.channelBinding.equals(p.expectedBinding)) {
      throw new ScramFailure('not-authorized', 'channel-bindings-dont-match');
    }
    if (final.nonce !== p.nonce) throw malformed('nonce mismatch');
    const { storedKey, serverKey } = p.cred;
    if (final.proof.length !== SCRAM_KEY_BYTES[this.hash]) throw malformed('invalid-proof');

    const authMessage = `${p.authPrefix},${final.withoutProof}`;
    const clientSignature = createHmac(this.hash, storedKey).update(authMessage).digest();
    const clientKey = final.proof.map((byte, i) => byte ^ clientSignature[i]);
    const computed = createHash(this.hash).update(clientKey).digest();
    const proofValid = computed.length === storedKey.length && timingSafeEqual(computed, storedKey);
    if (!proofValid || !p.known) throw new ScramFailure('not-authorized', 'invalid-proof', p.username);

    const serverSignature = createHmac(this.hash, serverKey).update(authMessage).digest('base64');
    return {
      kind: 'success',
      username: p.username,
      ...(p.authzid ? { authzid: p.authzid } : {}),
      data: Buffer.from(`v=${serverSignature}`),
    };
  }
}

export function createScram(hash: HashName, plus: boolean, opts: ScramOptions = {}): SaslMechanism {
  return {
    name: `SCRAM-${hash === 'sha1' ? 'SHA-1' : 'SHA-256'}${plus ? '-PLUS' : ''}`,
    available: (ctx) => !plus || ctx.channelBindings.length > 0,
    start: (ctx) => new ScramExchange(hash, plus, opts, ctx),
  };
}
