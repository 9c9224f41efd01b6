// The contract between the hub and a gateway to a foreign network (Haraka-like regularity:
// start, stop, deliver; the gateway emits signals and never sees XMPP).
import type { SecureContext } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { Directory } from '../directory/port.js';
import type { DeliveryQueue } from '../queue/port.js';
import type { Store } from '../store/ports.js';
import type { Jid } from './jid.js';
import type { Logger } from './log.js';
import type { NotificationChannel } from './offline-notifications.js';
import type { Signal } from './signal.js';

/** What a gateway may use of the hub. */
export interface GatewayHost {
  /** Hands a signal made by the gateway to the router. */
  emit(signal: Signal): void;
  log: Logger;
  config: Config;
  /** Users, their mail and mobile addresses (never LDAP or SQL directly). */
  directory: Directory;
  /** Per-user documents (preferences, rosters) the gateway reads or keeps. */
  store: Store;
  /** Durable deliveries: everything a gateway sends goes through here, never from the hot path. */
  queue: DeliveryQueue;
  /** Offers the gateway's network as a channel of offline notifications. */
  offerChannel(channel: NotificationChannel): void;
  /** Sees every MESSAGE signal the router routes (archives); must not block. */
  observeMessages(observer: (signal: Signal) => void): void;
  /** True when the user (bare JID) is a member of the host's shared roster group `group`. */
  isGroupMember(user: Jid, group: string): Promise<boolean>;
  /** The TLS context of a served domain (the hub's certificates), for the gateway's listeners. */
  tlsContext(servername: string | undefined): SecureContext;
}

/** What `switchboard status` shows of a gateway. */
export interface GatewayStatus {
  /** One line on the gateway's state, e.g. its relay and counters. */
  summary: string;
  listeners: Array<{ address: string; port: number; kind: string }>;
}

export interface Gateway {
  /** Short name for logs and status, e.g. `smtp`. */
  readonly name: string;
  /** The address domains the gateway owns, e.g. `sms.example.org`. */
  readonly domains: readonly string[];
  start(host: GatewayHost): Promise<void>;
  stop(): Promise<void>;
  /** A signal addressed to one of the gateway's domains. */
  deliver(signal: Signal): void | Promise<void>;
  status?(): GatewayStatus;
}
