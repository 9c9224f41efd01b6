// Reply routing: which user an SMS from a number belongs to. Each SMS a user sends to a number
// (and each notification sent to a user's mobile) records the route; an SMS from that number
// within the host's reply window goes back to that user (for a notification: from the user to
// the contact who wrote). Kept in the key/value store under the gateway's domain.
import type { KeyValueStore } from '../../src/store/ports.js';

const STORE = 'sms-route';

export interface SmsRoute {
  /** Bare JID of the user. */
  user: string;
  /** For a notification sent to the user's own mobile: the contact a reply goes to. */
  peer?: string;
  at: number;
}

export class ReplyRoutes {
  constructor(private readonly kv: KeyValueStore) {}

  remember(smsDomain: string, number: string, route: Omit<SmsRoute, 'at'>): Promise<void> {
    return this.kv.set(smsDomain, '', STORE, { ...route, at: Date.now() }, number);
  }

  async find(smsDomain: string, number: string, windowSeconds: number): Promise<SmsRoute | undefined> {
    const route = await this.kv.get<SmsRoute>(smsDomain, '', STORE, number);
    return route && Date.now() - route.at <= windowSeconds * 1000 ? route : undefined;
  }
}
