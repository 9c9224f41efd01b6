// What a user may send by SMS: who may send at all, to which destinations, how fast, and how
// many a day (per user, per host, and offline notifications per user). Daily counts are kept
// in the key/value store so a restart does not reset them; the per-minute rate is in memory.
import type { HostSmsConfig } from '../../src/config/schema.js';
import type { GatewayHost } from '../../src/core/gateway.js';
import type { Jid } from '../../src/core/jid.js';
import type { SignalError } from '../../src/core/signal.js';
import { matchesPrefix } from './numbers.js';

const STORE = 'sms-usage';
const MINUTE = 60_000;

interface Usage {
  day: string;
  sent: number;
  notifications: number;
}

export class SendLimits {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly hub: GatewayHost) {}

  /** Why `user` may not send an SMS to `to` now; undefined when it may (and the send is counted). */
  async refuse(user: Jid, to: string, config: HostSmsConfig): Promise<SignalError | undefined> {
    if (!(await this.allowed(user, config))) return { type: 'cancel', condition: 'forbidden', text: 'You are not allowed to send SMS.' };
    if (!destinationAllowed(to, config)) return { type: 'cancel', condition: 'not-allowed', text: `SMS to ${to} are not allowed.` };
    if (!this.withinRate(user.bareString, config.user_rate)) {
      return { type: 'wait', condition: 'resource-constraint', text: `At most ${config.user_rate} SMS a minute: try again shortly.` };
    }
    const mine = await this.usage(user.domain, user.local);
    if (mine.sent >= config.user_daily_cap) return { type: 'cancel', condition: 'policy-violation', text: `Your daily limit of ${config.user_daily_cap} SMS is reached.` };
    const domain = await this.usage(user.domain, '');
    if (domain.sent >= config.domain_daily_cap) return { type: 'wait', condition: 'policy-violation', text: 'The daily SMS limit of your domain is reached.' };
    await this.count(user.domain, user.local, mine, 'sent');
    await this.count(user.domain, '', domain, 'sent');
    return undefined;
  }

  /** True (and counted) when the user may get one more offline notification by SMS today. */
  async notificationAllowed(user: Jid, config: HostSmsConfig): Promise<boolean> {
    const mine = await this.usage(user.domain, user.local);
    if (mine.notifications >= config.notification_daily_cap) return false;
    await this.count(user.domain, user.local, mine, 'notifications');
    return true;
  }

  private async allowed(user: Jid, config: HostSmsConfig): Promise<boolean> {
    switch (config.send_allowed) {
      case 'all': return true;
      case 'none': return false;
      case 'group': return config.send_group !== undefined && this.hub.isGroupMember(user, config.send_group);
    }
  }

  private withinRate(key: string, perMinute: number): boolean {
    const now = Date.now();
    const times = (this.recent.get(key) ?? []).filter((t) => now - t < MINUTE);
    if (times.length >= perMinute) {
      this.recent.set(key, times);
      return false;
    }
    times.push(now);
    this.recent.set(key, times);
    return true;
  }

  private async usage(host: string, username: string): Promise<Usage> {
    const today = new Date().toISOString().slice(0, 10);
    const stored = await this.hub.store.kv.get<Usage>(host, username, STORE);
    return stored?.day === today ? stored : { day: today, sent: 0, notifications: 0 };
  }

  private count(host: string, username: string, usage: Usage, field: 'sent' | 'notifications'): Promise<void> {
    return this.hub.store.kv.set(host, username, STORE, { ...usage, [field]: usage[field] + 1 });
  }
}

export function destinationAllowed(to: string, config: HostSmsConfig): boolean {
  if (matchesPrefix(to, config.deny_prefixes)) return false;
  return config.allow_prefixes.length === 0 || matchesPrefix(to, config.allow_prefixes);
}
