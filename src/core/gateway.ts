// The contract between the hub and a gateway to a foreign network (Haraka-like regularity:
// start, stop, deliver; the gateway emits signals and never sees XMPP).
import type { Logger } from './log.js';
import type { Signal } from './signal.js';

export interface GatewayHost {
  /** Hands a signal made by the gateway to the router. */
  emit(signal: Signal): void;
  log: Logger;
}

export interface Gateway {
  /** The address domain the gateway owns, e.g. `sms.example.org`. */
  readonly domain: string;
  start(host: GatewayHost): Promise<void>;
  stop(): Promise<void>;
  /** A signal addressed to the gateway's domain. */
  deliver(signal: Signal): void | Promise<void>;
}
