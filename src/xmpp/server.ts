// The XMPP service of the hub: owns the client sessions and the feature modules, processes
// stanzas from local clients before they reach the router, and delivers signals that the
// router resolves to one of its virtual hosts.
import { randomBytes } from 'node:crypto';
import type { Config, HostConfig } from '../config/schema.js';
import { Jid, JidError } from '../core/jid.js';
import type { Logger } from '../core/log.js';
import type { Router, SignalTarget } from '../core/router.js';
import type { Signal } from '../core/signal.js';
import type { LoginTokens } from '../directory/login-tokens.js';
import type { Directory } from '../directory/port.js';
import type { Store } from '../store/ports.js';
import type { ClientSession } from './c2s/session.js';
import { StanzaError, directoryStanzaError, errorReply } from './errors.js';
import { Hooks } from './hooks.js';
import type { IqEvent, IqHandler, ModuleContext, SessionEvent, StanzaEvent, XmppModule } from './module.js';
import type { SaslContext, SaslMechanism } from './sasl/mechanism.js';
import { defaultMechanisms, offered } from './sasl/registry.js';
import { LoginThrottle } from './sasl/throttle.js';
import { SessionManager } from './sessions.js';
import { StanzaSignal, stanzaOf } from './stanza-signal.js';
import { Element, payloadOf } from './xml.js';

export interface XmppServerDeps {
  config: Config;
  log: Logger;
  store: Store;
  directory: Directory;
  router: Router;
  /** Webmail login tokens, accepted with OAUTHBEARER on hosts that have an `sso_api_key`. */
  tokens: LoginTokens;
}

type Identity = { category: string; type: string; name?: string };
type PendingRequest = { resolve: (el: Element) => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

/** A stanza error that arrived as the answer to a server request. */
export class IqErrorResponse extends Error {
  constructor(readonly stanza: Element) {
    super(`iq error from ${stanza.attrs.from ?? 'server'}`);
  }
}

export class XmppServer implements SignalTarget {
  readonly sessions = new SessionManager();
  /** Every open client stream, bound or not. */
  readonly connections = new Set<ClientSession>();
  readonly hooks = new Hooks<unknown>();
  readonly throttle: LoginThrottle;
  readonly rate: { stanzasPerSecond: number; burst: number };
  readonly maxSessionsPerUser: number;
  readonly defaultHost: string;
  readonly log: Logger;
  readonly directory: Directory;
  readonly tokens: LoginTokens;

  private readonly hosts = new Map<string, HostConfig>();
  private readonly mechanisms: SaslMechanism[];
  private readonly disco = {
    host: { features: new Set<string>(), identities: [] as Identity[] },
    account: { features: new Set<string>(), identities: [] as Identity[] },
  };
  /** Services listed in each host's disco#items (the gateways' domains). */
  private readonly services = new Map<string, Array<{ jid: string; name: string }>>();
  private readonly preAuth: Array<(s: ClientSession) => Element | undefined> = [];
  private readonly postAuth: Array<(s: ClientSession) => Element | undefined> = [];
  private readonly preAuthIqs = new Map<string, (s: ClientSession, iq: Element) => Promise<void> | void>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly tracing: boolean;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly deps: XmppServerDeps) {
    const { config, log } = deps;
    this.log = log;
    this.directory = deps.directory;
    this.tokens = deps.tokens;
    for (const host of config.hosts) this.hosts.set(host.domain, host);
    this.defaultHost = config.hosts[0]!.domain;
    this.mechanisms = defaultMechanisms({
      allowPlainInsecure: config.auth.allow_plain_without_tls, plus: true, scramIterations: config.auth.scram_iterations, tokenLogin: true });
    const t = config.auth.throttle;
    this.throttle = new LoginThrottle({ maxFailures: t.max_failures, windowSeconds: t.window_seconds, lockSeconds: t.lock_seconds });
    this.rate = { stanzasPerSecond: config.c2s.rate.stanzas_per_second, burst: config.c2s.rate.burst };
    this.maxSessionsPerUser = config.c2s.max_sessions_per_user;
    this.tracing = log.isLevelEnabled('trace');
    for (const domain of this.hosts.keys()) deps.router.register(domain, this);
  }

  /** Lists a service (a gateway's domain) in the host's disco#items (XEP-0030). */
  addService(host: string, jid: string, name: string): void {
    const list = this.services.get(host) ?? [];
    list.push({ jid, name });
    this.services.set(host, list);
  }

  hostConfig(domain: string): HostConfig | undefined {
    return this.hosts.get(domain);
  }

  async use(module: XmppModule): Promise<void> {
    await module.load(this.contextFor(module.name));
  }

  /** Protocol traces, at the lowest log level only. */
  trace(session: ClientSession, direction: 'in' | 'out', data: Element | string): void {
    if (!this.tracing) return;
    const text = typeof data === 'string' ? data : data.toString();
    // SASL payloads carry credentials: never in logs.
    const safe = /xmpp-sasl|jabber:iq:auth|jabber:iq:register/.test(text) ? '[authentication data]' : text;
    this.log.trace({ session: session.id, direction }, safe);
  }

  // --- negotiation hooks used by ClientSession -----------------------------------------------

  /** SCRAM only where the host's directory has SCRAM secrets (not with LDAP binds: PLAIN there). */
  offeredMechanisms(ctx: SaslContext): SaslMechanism[] {
    const scram = this.directory.supportsScram(ctx.host);
    return offered(this.mechanisms, ctx).filter((m) => scram || !m.name.startsWith('SCRAM'));
  }

  preAuthFeatures(session: ClientSession): Element[] {
    return this.preAuth.map((build) => build(session)).filter((el): el is Element => el !== undefined);
  }

  postAuthFeatures(session: ClientSession): Element[] {
    return this.postAuth.map((build) => build(session)).filter((el): el is Element => el !== undefined);
  }

  preAuthIq(session: ClientSession, iq: Element): boolean | Promise<boolean> {
    const handler = this.preAuthIqs.get(payloadOf(iq)?.attrs.xmlns ?? '');
    if (!handler) return false;
    const done = handler(session, iq);
    return done ? done.then(() => true) : true;
  }

  nonza(session: ClientSession, el: Element): boolean | Promise<boolean> {
    return this.hooks.fire(`nonza/${el.attrs.xmlns ?? ''}`, { stanza: el, from: session.jid!, to: session.jid!, session });
  }

  accept(session: ClientSession): void {
    this.connections.add(session);
  }

  async sessionBound(session: ClientSession): Promise<void> {
    this.log.info({ jid: session.jid!.toString(), session: session.id }, 'resource bound');
    await this.hooks.fire('session/bound', { session } satisfies SessionEvent);
  }

  sessionClosed(session: ClientSession): void {
    this.connections.delete(session);
    if (!session.jid) return;
    this.sessions.remove(session);
    const done = this.hooks.fire('session/closed', { session } satisfies SessionEvent);
    if (done instanceof Promise) done.catch((err: unknown) => this.log.error({ err }, 'session close handler failed'));
  }

  // --- stanzas from local clients ----------------------------------------------------------

  /** A stanza from a bound client: stamped, checked, offered to modules, then routed. */
  fromClient(session: ClientSession, stanza: Element): Promise<void> | void {
    const jid = session.jid!;
    const claimed = stanza.attrs.from;
    if (claimed !== undefined && claimed !== jid.toString() && claimed !== jid.bareString) {
      return session.close('invalid-from', `"from" must be ${jid.toString()}`);
    }
    stanza.attrs.from = jid.toString();
    let to: Jid;
    try {
      to = stanza.attrs.to === undefined ? jid.bare : Jid.parse(stanza.attrs.to);
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      if (stanza.attrs.type !== 'error') session.send(errorReply(stanza, { type: 'modify', condition: 'jid-malformed' }));
      return;
    }
    if (stanza.name === 'iq' && !validIq(stanza)) {
      if (stanza.attrs.type !== 'error' && stanza.attrs.type !== 'result') {
        session.send(errorReply(stanza, { type: 'modify', condition: 'bad-request' }));
      }
      return;
    }
    const event: StanzaEvent = { stanza, from: jid, to, session };
    const handled = this.hooks.fire(`outbound/${stanza.name}`, event);
    if (handled === true) return;
    if (handled === false) return this.routeFrom(jid, to, stanza);
    return handled.then((done) => {
      if (!done) this.routeFrom(jid, to, stanza);
    });
  }

  routeFrom(from: Jid, to: Jid, stanza: Element): void {
    this.deps.router.route(new StanzaSignal(from, to, stanza));
  }

  // --- delivery to local addresses ---------------------------------------------------------

  deliver(signal: Signal): Promise<void> | void {
    const stanza = stanzaOf(signal);
    const to = signal.to;
    const target = !to.local ? 'host' : to.resource ? 'full' : 'bare';
    const event: StanzaEvent = { stanza, from: signal.from, to };
    if (stanza.name === 'iq') return this.deliverIq(event, target);
    const handled = this.hooks.fire(`${stanza.name}/${target}`, event);
    if (handled === true) return;
    if (handled === false) return this.unhandled(event);
    return handled.then((done) => {
      if (!done) this.unhandled(event);
    });
  }

  private unhandled(event: StanzaEvent): void {
    if (event.stanza.name === 'message') this.bounce(event, new StanzaError('service-unavailable'));
  }

  private deliverIq(event: StanzaEvent, target: 'host' | 'bare' | 'full'): Promise<void> | void {
    const { stanza, to } = event;
    const type = stanza.attrs.type;
    if (type === 'result' || type === 'error') {
      if (target === 'full') return void this.sessions.get(to)?.send(stanza);
      return this.settleRequest(stanza);
    }
    if (target === 'full') {
      const handled = this.hooks.fire('iq/full', event);
      const forward = (done: boolean): void => {
        if (done) return;
        const session = this.sessions.get(to);
        if (session) session.send(stanza);
        else this.bounce(event, new StanzaError('service-unavailable'));
      };
      return handled instanceof Promise ? handled.then(forward) : forward(handled);
    }
    const payload = payloadOf(stanza)!;
    const iqEvent: IqEvent = { ...event, payload };
    const handled = this.hooks.fire(`iq-${type}/${target}/${payload.attrs.xmlns ?? ''}`, iqEvent);
    const fallback = (done: boolean): void => {
      if (!done) this.bounce(event, new StanzaError('service-unavailable'));
    };
    return handled instanceof Promise ? handled.then(fallback) : fallback(handled);
  }

  /** Answers a stanza with an error, unless it is an error itself. */
  bounce(event: StanzaEvent, error: StanzaError): void {
    const { stanza } = event;
    if (stanza.attrs.type === 'error' || (stanza.name === 'iq' && stanza.attrs.type === 'result')) return;
    this.routeFrom(event.to, event.from, errorReply(stanza, error.toSignalError(), error.appCondition));
  }

  private settleRequest(stanza: Element): void {
    const id = stanza.attrs.id;
    const pending = id !== undefined ? this.pending.get(id) : undefined;
    if (!pending) return;
    this.pending.delete(id!);
    clearTimeout(pending.timer);
    if (stanza.attrs.type === 'result') pending.resolve(stanza);
    else pending.reject(new IqErrorResponse(stanza));
  }

  request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    const id = (iq.attrs.id ??= `sb-${randomBytes(6).toString('base64url')}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('request timed out'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.routeFrom(Jid.parse(iq.attrs.from!), Jid.parse(iq.attrs.to!), iq);
    });
  }

  // --- liveness and shutdown ---------------------------------------------------------------

  /** Pings idle clients (XEP-0199) and drops those that do not answer or never authenticate. */
  startSweeper(): void {
    const { ping_interval: interval, ping_timeout: timeout } = this.deps.config.c2s;
    if (interval <= 0) return;
    const period = Math.max(1, Math.min(interval, timeout, 30)) * 1000;
    this.sweeper = setInterval(() => this.sweep(interval * 1000, timeout * 1000), period);
    this.sweeper.unref();
  }

  private sweep(interval: number, timeout: number): void {
    const now = Date.now();
    for (const session of this.connections) {
      const idle = now - session.lastActivity;
      if (!session.bound) {
        if (idle > timeout) session.close('connection-timeout', 'no authentication in time');
      } else if (session.pingId) {
        if (idle > interval + timeout) session.close('connection-timeout', 'no answer to ping');
      } else if (idle > interval) {
        session.pingId = `ping-${randomBytes(4).toString('hex')}`;
        const ping = new Element('iq', { type: 'get', id: session.pingId, from: session.host, to: session.jid!.toString() });
        ping.c('ping', { xmlns: 'urn:xmpp:ping' });
        session.send(ping);
      }
    }
  }

  /** Closes every stream with <system-shutdown/>. */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const session of [...this.connections]) session.close('system-shutdown', 'the server is shutting down');
    for (const { timer, reject } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error('server stopping'));
    }
    this.pending.clear();
  }

  // --- module contexts ---------------------------------------------------------------------

  private contextFor(name: string): ModuleContext {
    const server = this;
    const { config, store, directory } = this.deps;
    const log = this.log.child({ module: name });
    return {
      name,
      log,
      config,
      store,
      directory,
      sessions: this.sessions,
      loginThrottle: this.throttle,
      hosts: [...this.hosts.keys()],
      hostConfig: (domain) => this.hosts.get(domain),
      isLocalHost: (domain) => this.hosts.has(domain),
      feature(namespace, on = 'host') {
        server.disco[on].features.add(namespace);
      },
      identity(category, type, identityName) {
        server.disco.host.identities.push({ category, type, name: identityName });
      },
      streamFeature(when, build) {
        (when === 'pre-auth' ? server.preAuth : server.postAuth).push(build);
      },
      on: (event, handler, priority) => this.hooks.on(event, handler as (e: unknown) => boolean | void, priority),
      fire: (event, payload) => this.hooks.fire(event, payload),
      onIq: (type, target, namespace, handler) => this.hooks.on(`iq-${type}/${target}/${namespace}`,
        (event) => this.runIq(event as IqEvent, handler, log)),
      onPreAuthIq: (namespace, handler) => this.preAuthIqs.set(namespace, handler),
      route: (stanza) => this.routeFrom(Jid.parse(stanza.attrs.from!), Jid.parse(stanza.attrs.to!), stanza),
      routeFrom: (from, to, stanza) => this.routeFrom(from, to, stanza),
      bounce: (event, error) => this.bounce(event, error),
      request: (iq, timeoutMs) => this.request(iq, timeoutMs),
      session: (full) => this.sessions.get(full),
      discoItems: (host) => this.services.get(host) ?? [],
      discoInfo: (on) => ({ features: [...this.disco[on].features].sort(), identities: [...this.disco[on].identities] }),
    };
  }

  /** Runs an iq handler and routes its result or error back to the requester. */
  private runIq(event: IqEvent, handler: IqHandler, log: Logger): true | Promise<true> {
    const reply = (payload: Element | void): true => {
      const { stanza } = event;
      const result = new Element('iq', { type: 'result', id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from });
      if (payload) result.cnode(payload);
      this.routeFrom(event.to, event.from, result);
      return true;
    };
    const fail = (err: unknown): true => {
      err = directoryStanzaError(err) ?? err;
      if (!(err instanceof StanzaError)) {
        log.error({ err, namespace: event.payload.attrs.xmlns }, 'iq handler failed');
        err = new StanzaError('internal-server-error');
      }
      this.bounce(event, err as StanzaError);
      return true;
    };
    try {
      const out = handler(event);
      return out instanceof Promise ? out.then(reply, fail) : reply(out);
    } catch (err) {
      return fail(err);
    }
  }
}

/** RFC 6120 §8.2.3: an id, a known type, and exactly one child for get and set. */
function validIq(iq: Element): boolean {
  const { id, type } = iq.attrs;
  if (!id) return false;
  if (type === 'result' || type === 'error') return true;
  if (type !== 'get' && type !== 'set') return false;
  let elements = 0;
  for (const child of iq.children) if (typeof child !== 'string') elements++;
  return elements === 1;
}
