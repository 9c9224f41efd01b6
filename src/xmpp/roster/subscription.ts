// The presence subscription state machine of RFC 6121 §3 and Appendix A, with
// pre-approvals (§3.4), as pure functions: the modules apply the resulting state and
// perform the side effects (routing, delivery, roster pushes, presence).
import type { Subscription } from '../../store/ports.js';

/** What one account knows about one contact. */
export interface SubscriptionState {
  subscription: Subscription;
  /** Our request to the contact awaits an answer ("Pending Out"). */
  ask: boolean;
  /** The contact's request awaits our answer ("Pending In"). */
  pendingIn: boolean;
  /** We approved the contact's future request in advance (§3.4). */
  approved: boolean;
}

export type SubscriptionStanza = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

export interface Transition {
  state: SubscriptionState;
  /** Outbound: route the stanza to the contact. Inbound: deliver it to the account's resources. */
  forward: boolean;
  /** Inbound "subscribe" only: answer "subscribed" on the account's behalf (§3.1.3, §3.4). */
  autoReply: boolean;
}

const SUBSCRIPTION_STANZAS: readonly SubscriptionStanza[] = ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'];

export function isSubscriptionStanza(type: string | undefined): type is SubscriptionStanza {
  return SUBSCRIPTION_STANZAS.includes(type as SubscriptionStanza);
}

/** The account receives the contact's presence. */
export const hasTo = (s: Subscription): boolean => s === 'to' || s === 'both';
/** The contact receives the account's presence. */
export const hasFrom = (s: Subscription): boolean => s === 'from' || s === 'both';

function subscription(to: boolean, from: boolean): Subscription {
  if (to) return from ? 'both' : 'to';
  return from ? 'from' : 'none';
}

function result(state: SubscriptionState, forward: boolean, autoReply = false): Transition {
  return { state, forward, autoReply };
}

/** A stanza the account sends to the contact (Appendix A.2). */
export function outbound(state: SubscriptionState, type: SubscriptionStanza): Transition {
  const to = hasTo(state.subscription);
  const from = hasFrom(state.subscription);
  switch (type) {
    // Requests and cancellations are always routed, so the contact's server can resync.
    case 'subscribe':
      return result({ ...state, ask: !to }, true);
    case 'unsubscribe':
      return result({ ...state, subscription: subscription(false, from), ask: false }, true);
    case 'subscribed':
      if (state.pendingIn) return result({ ...state, subscription: subscription(to, true), pendingIn: false, approved: false }, true);
      // Nothing to approve yet: remember the approval instead of routing it (§3.4.1).
      return result(from ? state : { ...state, approved: true }, false);
    case 'unsubscribed':
      if (from || state.pendingIn) {
        return result({ ...state, subscription: subscription(to, false), pendingIn: false, approved: false }, true);
      }
      return result({ ...state, approved: false }, false);
  }
}

/** A stanza the contact sent to the account (Appendix A.3). */
export function inbound(state: SubscriptionState, type: SubscriptionStanza): Transition {
  const to = hasTo(state.subscription);
  const from = hasFrom(state.subscription);
  switch (type) {
    case 'subscribe':
      if (from) return result(state, false, true);
      if (state.approved) return result({ ...state, subscription: subscription(to, true), approved: false }, false, true);
      if (state.pendingIn) return result(state, false);
      return result({ ...state, pendingIn: true }, true);
    case 'unsubscribe':
      if (!from && !state.pendingIn) return result(state, false);
      return result({ ...state, subscription: subscription(to, false), pendingIn: false }, true);
    case 'subscribed':
      if (!state.ask) return result(state, false);
      return result({ ...state, subscription: subscription(true, from), ask: false }, true);
    case 'unsubscribed':
      if (!to && !state.ask) return result(state, false);
      return result({ ...state, subscription: subscription(false, from), ask: false }, true);
  }
}
