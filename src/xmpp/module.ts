// What a feature module sees of the server (Prosody's module API): it declares its disco
// features, hooks the exact events it handles, and reaches the rest only through this.
import type { Config, HostConfig } from '../config/schema.js';
import type { Jid } from '../core/jid.js';
import type { Logger } from '../core/log.js';
import type { Directory } from '../directory/port.js';
import type { Store } from '../store/ports.js';
import type { ClientSession } from './c2s/session.js';
import type { StanzaError } from './errors.js';
import type { HookHandler } from './hooks.js';
import type { LoginThrottle } from './sasl/throttle.js';
import type { SessionManager } from './sessions.js';
import type { Element } from './xml.js';

export interface StanzaEvent {
  stanza: Element;
  from: Jid;
  /** The addressee; the sender's bare JID when a client's stanza had no "to". */
  to: Jid;
  /** The local client session the stanza came from (outbound events only). */
  session?: ClientSession;
}

export interface IqEvent extends StanzaEvent {
  /** The iq's single child element. */
  payload: Element;
}

export interface SessionEvent {
  session: ClientSession;
}

/** An iq handler's answer: the result's child element, or nothing for an empty result. */
export type IqHandler = (event: IqEvent) => Element | void | Promise<Element | void>;

/**
 * Event names:
 * - `outbound/message|presence|iq`: a stanza from a local client, before routing (return true to consume it);
 * - `message/full|bare|host`, `presence/full|bare|host`, `iq/full`: a stanza delivered to a local address;
 * - `iq-get|iq-set/bare|host/<namespace>`: use `onIq` instead;
 * - `session/bound`, `session/closed` (SessionEvent); `presence/initial` (StanzaEvent with session);
 * - `message/offline`: a message for a user with no available resource (return true once stored);
 * - `nonza/<namespace>` (StanzaEvent with session): a non-stanza element on a bound stream.
 */
export interface ModuleContext {
  readonly name: string;
  readonly log: Logger;
  readonly config: Config;
  readonly store: Store;
  readonly directory: Directory;
  readonly sessions: SessionManager;
  /** The failed-login throttle SASL uses, for other ways of logging in (XEP-0078). */
  readonly loginThrottle: LoginThrottle;
  hostConfig(domain: string): HostConfig | undefined;
  isLocalHost(domain: string): boolean;
  readonly hosts: readonly string[];

  /** Advertises a disco#info feature on the server or on user accounts. */
  feature(namespace: string, on?: 'host' | 'account'): void;
  identity(category: string, type: string, name?: string): void;
  /** Adds to the stream features offered before or after authentication. */
  streamFeature(when: 'pre-auth' | 'post-auth', build: (session: ClientSession) => Element | undefined): void;

  on<E = StanzaEvent>(event: string, handler: HookHandler<E>, priority?: number): void;
  /** Fires an event for other modules (e.g. `presence/initial`). */
  fire<E>(event: string, payload: E): boolean | Promise<boolean>;
  /** Handles iq get/set for a namespace addressed to the server or to an account. */
  onIq(type: 'get' | 'set', target: 'host' | 'bare', namespace: string, handler: IqHandler): void;
  /** Handles an iq before authentication (in-band registration, legacy auth). */
  onPreAuthIq(namespace: string, handler: (session: ClientSession, iq: Element) => Promise<void> | void): void;

  /** Routes a stanza whose "from" and "to" are set, as the server. */
  route(stanza: Element): void;
  /** Routes a stanza with explicit addresses (attributes left as they are). */
  routeFrom(from: Jid, to: Jid, stanza: Element): void;
  /** Answers a stanza with an error (never an error to an error). */
  bounce(event: StanzaEvent, error: StanzaError): void;
  /** Sends an iq and resolves with the result (rejects with the error stanza or on timeout). */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  /** The session of a full JID, if bound here. */
  session(full: Jid): ClientSession | undefined;
  /** Current disco#info features and identities of the server or of accounts. */
  /** Services of the host (gateways) for its disco#items. */
  discoItems(host: string): ReadonlyArray<{ jid: string; name: string }>;
  discoInfo(on: 'host' | 'account'): { features: string[]; identities: Array<{ category: string; type: string; name?: string }> };
}

export interface XmppModule {
  readonly name: string;
  load(ctx: ModuleContext): void | Promise<void>;
}
