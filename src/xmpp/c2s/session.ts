// One client-to-server XMPP stream (RFC 6120): stream header and features, STARTTLS, SASL,
// resource binding, then stanzas. Independent of framing, so TCP, BOSH and WebSocket
// sessions are the same sessions with a different `Framing`.
import { randomBytes } from 'node:crypto';
import { Jid, JidError } from '../../core/jid.js';
import { DirectoryUnavailable } from '../../directory/port.js';
import { prepareUsername } from '../clear-text-auth.js';
import { errorReply, streamError } from '../errors.js';
import type { SaslContext, SaslExchange, SaslStep, ChannelBindingType } from '../sasl/mechanism.js';
import type { XmppServer } from '../server.js';
import { Element, NS, payloadOf } from '../xml.js';

/** What a session needs from the connection under it. */
export interface Framing {
  readonly transport: 'tcp' | 'bosh' | 'websocket';
  readonly secure: boolean;
  readonly remoteAddress: string;
  /** STARTTLS can be negotiated on this connection now. */
  readonly canStartTls: boolean;
  /** Each element travels alone (WebSocket messages, BOSH bodies), so it names its namespaces. */
  readonly standaloneElements: boolean;
  channelBindings(): ChannelBindingType[];
  channelBinding(type: ChannelBindingType): Buffer | null;
  /** Writes our stream header (or its framing's equivalent). */
  openStream(attrs: Record<string, string>): void;
  send(data: string): void;
  /** Writes the closing of the stream and ends the connection. */
  closeStream(): void;
  /** Upgrades to TLS for `domain`'s certificate; the client then restarts the stream. */
  startTls(domain: string): void;
  /** Expects a new stream header (after TLS or SASL). */
  restartStream(): void;
  /** Ends the connection at once. */
  destroy(): void;
}

type State = 'header' | 'negotiating' | 'authenticated' | 'bound' | 'closed';

/** RFC 6120 §6.4.5 allows between 2 and 5 retries before the stream is closed. */
const MAX_SASL_FAILURES = 5;
const MAX_QUEUED = 1000;

export class ClientSession {
  readonly id = randomBytes(9).toString('base64url');
  host = '';
  username = '';
  jid: Jid | undefined;
  /** Presence priority and last broadcast available presence (null while unavailable). */
  priority = 0;
  presence: Element | null = null;
  /** True once the client requested the roster: an "interested resource" gets roster pushes (RFC 6121 §2.1.6). */
  interested = false;
  lastActivity = Date.now();
  /** The id of an outstanding server ping, if any. */
  pingId: string | undefined;

  private state: State = 'header';
  private sasl: SaslExchange | undefined;
  private saslFailures = 0;
  private queue: Element[] | undefined;
  private tokens: number;
  private tokensAt = Date.now();

  constructor(private readonly server: XmppServer, private readonly framing: Framing) {
    this.tokens = server.rate.burst;
  }

  get bound(): boolean {
    return this.state === 'bound';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get secure(): boolean {
    return this.framing.secure;
  }

  get remoteAddress(): string {
    return this.framing.remoteAddress;
  }

  get transport(): Framing['transport'] {
    return this.framing.transport;
  }

  /** Sends a stanza or nonza to the client. */
  send(el: Element | string): void {
    if (this.state === 'closed') return;
    if (this.framing.standaloneElements && typeof el !== 'string') qualify(el);
    const data = typeof el === 'string' ? el : el.toString();
    this.server.trace(this, 'out', data);
    this.framing.send(data);
  }

  // --- stream level -------------------------------------------------------------------

  onStreamStart(attrs: Record<string, string>): void {
    this.lastActivity = Date.now();
    const host = attrs.to ? safeDomain(attrs.to) : undefined;
    const served = host !== undefined && this.server.hostConfig(host) !== undefined;
    const from = served ? host : this.host || this.server.defaultHost;
    this.framing.openStream({ id: this.id, from });
    if (attrs['xmlns:stream'] !== NS.stream) return this.close('invalid-namespace', 'the stream namespace must be ' + NS.stream);
    if (attrs.xmlns !== NS.client) return this.close('invalid-namespace', 'this port serves jabber:client streams');
    if (!served) return this.close('host-unknown', attrs.to ? `${attrs.to} is not served here` : 'the stream header needs a "to"');
    if (this.host && host !== this.host) return this.close('host-unknown', 'the host changed on stream restart');
    if (attrs.version === undefined || !attrs.version.startsWith('1.')) {
      return this.close('unsupported-version', 'XMPP 1.0 streams only');
    }
    this.host = host;
    if (this.state === 'header') this.state = 'negotiating';
    this.send(this.features());
  }

  onStreamEnd(): void {
    this.close();
  }

  onParseError(condition: string, text: string): void {
    this.server.log.warn({ session: this.id, address: this.remoteAddress, condition, text }, 'bad XML from client');
    this.close(condition, text);
  }

  /** The connection went away without a closing stream (or after it). */
  onDisconnect(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.server.sessionClosed(this);
  }

  /** Closes the stream, with a stream error when `condition` is given. */
  close(condition?: string, text?: string): void {
    if (this.state === 'closed') return;
    if (condition) {
      this.server.log.info({ session: this.id, jid: this.jid?.toString(), condition, text }, 'closing stream with error');
      this.send(streamError(condition, text));
    }
    this.state = 'closed';
    this.framing.closeStream();
    this.server.sessionClosed(this);
  }

  private features(): Element {
    const features = new Element('stream:features');
    const policy = this.server.hostConfig(this.host)!;
    if (this.state === 'negotiating') {
      const mustEncrypt = policy.require_encryption === 'required' && !this.framing.secure;
      if (this.framing.canStartTls && policy.require_encryption !== 'disabled') {
        const starttls = features.c('starttls', { xmlns: NS.tls });
        if (mustEncrypt) starttls.c('required');
      }
      if (!mustEncrypt) {
        const mechanisms = features.c('mechanisms', { xmlns: NS.sasl });
        for (const mech of this.server.offeredMechanisms(this.saslContext())) mechanisms.c('mechanism').t(mech.name);
        const bindings = this.framing.channelBindings();
        if (bindings.length > 0) {
          const cb = features.c('sasl-channel-binding', { xmlns: NS.channelBinding });
          for (const type of bindings) cb.c('channel-binding', { type });
        }
        for (const extra of this.server.preAuthFeatures(this)) features.cnode(extra);
      }
    } else {
      features.c('bind', { xmlns: NS.bind });
      features.c('session', { xmlns: NS.session }).c('optional');
      for (const extra of this.server.postAuthFeatures(this)) features.cnode(extra);
    }
    return features;
  }

  // --- elements ------------------------------------------------------------------------

  /** Every top-level element from the parser, in order; async handling holds later ones back. */
  onElement(el: Element): void {
    this.lastActivity = Date.now();
    this.pingId = undefined;
    if (this.queue) {
      if (this.queue.length >= MAX_QUEUED) return this.close('policy-violation', 'too many stanzas in flight');
      this.queue.push(el);
      return;
    }
    if (!this.withinRate()) return this.close('policy-violation', 'stanza rate limit exceeded');
    const pending = this.dispatch(el);
    if (pending) {
      this.queue = [];
      void pending.then(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    while (this.queue && this.queue.length > 0 && this.state !== 'closed') {
      const next = this.queue.shift()!;
      if (!this.withinRate()) return this.close('policy-violation', 'stanza rate limit exceeded');
      const pending = this.dispatch(next);
      if (pending) await pending;
    }
    this.queue = undefined;
  }

  /** Token bucket per stream: a flood gets a policy-violation stream error. */
  private withinRate(): boolean {
    const { stanzasPerSecond, burst } = this.server.rate;
    const now = Date.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) / 1000) * stanzasPerSecond);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Handles one element; returns a promise only when the work is asynchronous. */
  private dispatch(el: Element): Promise<void> | undefined {
    this.server.trace(this, 'in', el);
    try {
      const result = this.handle(el);
      if (result) return result.catch((err: unknown) => this.failed(el, err));
    } catch (err) {
      this.failed(el, err);
    }
    return undefined;
  }

  private failed(el: Element, err: unknown): void {
    this.server.log.error({ err, session: this.id, stanza: el.name }, 'error while handling a stanza');
    if (el.name === 'iq' && (el.attrs.type === 'get' || el.attrs.type === 'set')) {
      this.send(errorReply(el, { type: 'cancel', condition: 'internal-server-error' }));
    }
  }

  private handle(el: Element): Promise<void> | void {
    if (this.state === 'closed') return;
    const ns = el.attrs.xmlns;
    if (this.state === 'negotiating') {
      if (ns === NS.tls && el.name === 'starttls') return this.startTls();
      if (ns === NS.sasl) return this.handleSasl(el);
      if (el.name === 'iq' && (ns === undefined || ns === NS.client)) return this.preAuthIq(el);
      return this.close('not-authorized', 'authenticate first');
    }
    const isStanza = (ns === undefined || ns === NS.client) && (el.name === 'message' || el.name === 'presence' || el.name === 'iq');
    if (this.state === 'authenticated') {
      if (isStanza && el.name === 'iq') return this.bindOrSession(el);
      return this.close('not-authorized', 'bind a resource first');
    }
    if (isStanza && el.name === 'iq' && isSessionRequest(el)) return this.send(new Element('iq', { type: 'result', id: el.attrs.id }));
    if (!isStanza) {
      const handled = this.server.nonza(this, el);
      if (!handled) this.close('unsupported-stanza-type', `<${el.name}/> in ${ns ?? 'no namespace'}`);
      return;
    }
    return this.server.fromClient(this, el);
  }

  // --- STARTTLS and SASL ---------------------------------------------------------------

  private startTls(): void {
    if (!this.framing.canStartTls || this.server.hostConfig(this.host)!.require_encryption === 'disabled') {
      this.send(new Element('failure', { xmlns: NS.tls }));
      return this.close();
    }
    this.send(new Element('proceed', { xmlns: NS.tls }));
    this.framing.startTls(this.host);
  }

  private saslContext(): SaslContext {
    const { directory, tokens } = this.server;
    const host = this.host;
    const acceptsTokens = this.server.hostConfig(host)?.sso_api_key !== undefined;
    return {
      host,
      secure: this.framing.secure,
      channelBindings: this.framing.channelBindings(),
      channelBinding: (type) => this.framing.channelBinding(type),
      getScram: (username, hash) => directory.getScram(host, username, hash),
      verifyPassword: (username, password) => directory.verifyPassword(host, username, password),
      // The account may have been deleted since its token was issued.
      ...(acceptsTokens ? { consumeToken: async (username: string, token: string) =>
        tokens.consume(host, username, token) && directory.userExists(host, username) } : {}),
    };
  }

  private async handleSasl(el: Element): Promise<void> {
    if (el.name === 'abort') {
      this.sasl = undefined;
      return this.saslFailure('aborted');
    }
    let data: Buffer | null;
    try {
      data = decodeSaslPayload(el.getText());
    } catch {
      this.sasl = undefined;
      return this.saslFailure('incorrect-encoding');
    }
    if (el.name === 'auth') {
      const throttled = this.server.throttle.check(this.remoteAddress);
      if (!throttled.allowed) {
        return this.saslFailure('temporary-auth-failure', `too many failed logins; retry in ${throttled.retryAfterSeconds} s`);
      }
      const ctx = this.saslContext();
      const mechanism = this.server.offeredMechanisms(ctx).find((m) => m.name === el.attrs.mechanism);
      if (!mechanism) {
        const mustEncrypt = this.server.hostConfig(this.host)!.require_encryption === 'required' && !this.framing.secure;
        return this.saslFailure(mustEncrypt ? 'encryption-required' : 'invalid-mechanism');
      }
      this.sasl = mechanism.start(ctx);
    } else if (el.name !== 'response' || !this.sasl) {
      return this.saslFailure('malformed-request', 'no authentication in progress');
    }
    let step: SaslStep;
    try {
      step = await this.sasl.step(data);
    } catch (err) {
      if (!(err instanceof DirectoryUnavailable)) throw err;
      // Not the user's fault: no failed-login count, and the client may retry later (RFC 6120 §6.5.12).
      this.sasl = undefined;
      this.server.log.warn({ session: this.id, address: this.remoteAddress, err: err.message }, 'authentication impossible: directory unavailable');
      return this.saslFailure('temporary-auth-failure', 'the user directory is unavailable; try again later');
    }
    await this.saslStep(step);
  }

  private async saslStep(step: SaslStep): Promise<void> {
    if (step.kind === 'challenge') {
      this.send(new Element('challenge', { xmlns: NS.sasl }).t(step.data.toString('base64')));
      return;
    }
    this.sasl = undefined;
    if (step.kind === 'failure') {
      // Only wrong credentials count as guesses; protocol refusals (e.g. a channel-binding
      // downgrade flag) carry no username and do not lock anyone out.
      if (step.condition === 'not-authorized' && step.username !== undefined) {
        this.server.throttle.failure(this.remoteAddress, accountKey(step.username, this.host));
      }
      this.server.log.info({ session: this.id, address: this.remoteAddress, user: step.username, condition: step.condition },
        'authentication failed');
      return this.saslFailure(step.condition, step.text);
    }
    const local = prepareUsername(step.username, this.host);
    if (local === undefined) return this.saslFailure('not-authorized');
    const account = `${local}@${this.host}`;
    if (!this.server.throttle.check(this.remoteAddress, account).allowed) {
      return this.saslFailure('temporary-auth-failure', 'this account is temporarily locked after failed logins');
    }
    this.server.throttle.success(this.remoteAddress, account);
    const success = new Element('success', { xmlns: NS.sasl });
    if (step.data) success.t(step.data.toString('base64'));
    this.authenticated(local);
    this.send(success);
    this.framing.restartStream();
  }

  private saslFailure(condition: string, text?: string): void {
    const failure = new Element('failure', { xmlns: NS.sasl });
    failure.c(condition);
    if (text) failure.c('text', { 'xml:lang': 'en' }).t(text);
    this.send(failure);
    if (condition !== 'aborted' && ++this.saslFailures >= MAX_SASL_FAILURES) {
      this.close('policy-violation', 'too many failed authentication attempts');
    }
  }

  /** Marks the stream authenticated as `username` (SASL, or XEP-0078 through a module). */
  authenticated(username: string): void {
    this.username = username;
    this.state = 'authenticated';
    this.server.log.info({ session: this.id, user: `${username}@${this.host}`, address: this.remoteAddress, secure: this.secure },
      'authenticated');
  }

  private preAuthIq(iq: Element): Promise<void> | void {
    const handled = this.server.preAuthIq(this, iq);
    const settle = (done: boolean): void => {
      if (!done) this.send(errorReply(iq, { type: 'cancel', condition: 'service-unavailable' }));
    };
    if (handled instanceof Promise) return handled.then(settle);
    settle(handled);
  }

  // --- resource binding ----------------------------------------------------------------

  private bindOrSession(iq: Element): Promise<void> | void {
    const payload = payloadOf(iq);
    if (iq.attrs.type === 'set' && payload?.is('bind', NS.bind)) {
      return this.bind(iq, payload.getChildText('resource') ?? '');
    }
    if (isSessionRequest(iq)) return this.send(new Element('iq', { type: 'result', id: iq.attrs.id }));
    this.close('not-authorized', 'bind a resource first');
  }

  private async bind(iq: Element, requested: string): Promise<void> {
    const reply = (el: Element): void => this.send(el);
    let jid: Jid;
    try {
      jid = requested.trim() === '' ? this.generatedJid() : Jid.parse(`${this.username}@${this.host}/${requested}`);
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      return reply(errorReply(iq, { type: 'modify', condition: 'bad-request', text: 'invalid resource' }));
    }
    const error = this.bindTo(jid);
    if (error) return reply(errorReply(iq, { type: 'wait', condition: error }));
    const result = new Element('iq', { type: 'result', id: iq.attrs.id });
    result.c('bind', { xmlns: NS.bind }).c('jid').t(jid.toString());
    reply(result);
    await this.server.sessionBound(this);
  }

  /** Binds the session to `jid`; the older session with that full JID is replaced. */
  bindTo(jid: Jid): string | undefined {
    const { sessions } = this.server;
    const existing = sessions.get(jid);
    if (!existing && sessions.resourceCount(jid.bare) >= this.server.maxSessionsPerUser) return 'resource-constraint';
    this.jid = jid;
    this.state = 'bound';
    const replaced = sessions.add(this);
    replaced?.close('conflict', 'replaced by a new session with the same resource');
    return undefined;
  }

  private generatedJid(): Jid {
    return Jid.parse(`${this.username}@${this.host}/${randomBytes(6).toString('base64url')}`);
  }
}

/** Declares the namespaces a top-level element inherits from a TCP stream header. */
function qualify(el: Element): void {
  if (el.name.startsWith('stream:')) el.attrs['xmlns:stream'] ??= NS.stream;
  else if (el.attrs.xmlns === undefined && (el.name === 'message' || el.name === 'presence' || el.name === 'iq')) el.attrs.xmlns = NS.client;
}

/** The throttling key of an account: its prepared bare JID when the name is valid. */
function accountKey(username: string, host: string): string {
  // Always of this host: a name like "bob@other.example/x" must not lock another host's account.
  return `${prepareUsername(username, host) ?? username}@${host}`;
}

/** The RFC 3921 session iq: a no-op kept for old clients, before or after binding. */
function isSessionRequest(iq: Element): boolean {
  return iq.attrs.type === 'set' && payloadOf(iq)?.is('session', NS.session) === true;
}

function safeDomain(to: string): string | undefined {
  try {
    return Jid.parse(to).domain;
  } catch {
    return undefined;
  }
}

/** SASL payloads are base64; "=" is an empty response and no text is no response. */
function decodeSaslPayload(text: string): Buffer | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (trimmed === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw new Error('bad base64');
  return Buffer.from(trimmed, 'base64');
}
