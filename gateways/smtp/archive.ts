// Archive by email: the conversations of a host's users are collected as they are routed and
// mailed as digests to the host's archive addresses, one mail per conversation and interval.
// Messages are collected in memory until the interval ends (or a conversation reaches
// MAX_MESSAGES, or the hub stops); then the digest is a durable queue job. A crash loses
// at most the current interval's messages, which the archive never had.
import type { GatewayHost } from '../../src/core/gateway.js';
import type { Signal } from '../../src/core/signal.js';
import { archiveMail, type ArchivedMessage, type MailIdentity } from './compose.js';
import { SMTP_DESTINATION } from './relay.js';

const MAX_MESSAGES = 500;
const MAX_BODY = 10_000;

export interface ArchivedHost {
  domain: string;
  identity: MailIdentity;
  addresses: string[];
  intervalMs: number;
}

interface Collected {
  host: ArchivedHost;
  participants: [string, string];
  messages: ArchivedMessage[];
  timer: NodeJS.Timeout;
}

export class ConversationArchive {
  private readonly hosts = new Map<string, ArchivedHost>();
  private readonly open = new Map<string, Collected>();
  private stopped = false;

  constructor(hosts: ArchivedHost[], private readonly hub: GatewayHost) {
    for (const host of hosts) if (host.addresses.length > 0) this.hosts.set(host.domain, host);
  }

  start(): void {
    if (this.hosts.size > 0) this.hub.observeMessages((signal) => this.observe(signal));
  }

  /** Mails what was collected so far. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.open.keys()].map((key) => this.flush(key)));
  }

  private observe(signal: Signal): void {
    if (this.stopped) return;
    const { type, body } = signal.content;
    if ((type !== 'chat' && type !== 'normal') || !body) return;
    const from = signal.from.bareString;
    const to = signal.to.bareString;
    // A conversation between two hosts with archives goes to the sender's.
    const host = this.hosts.get(signal.from.domain) ?? this.hosts.get(signal.to.domain);
    if (!host || !signal.to.local) return;
    const participants: [string, string] = from < to ? [from, to] : [to, from];
    const key = `${host.domain}\n${participants.join('\n')}`;
    let collected = this.open.get(key);
    if (!collected) {
      const timer = setTimeout(() => void this.flush(key), host.intervalMs);
      timer.unref();
      collected = { host, participants, messages: [], timer };
      this.open.set(key, collected);
    }
    collected.messages.push({ from, to, body: body.slice(0, MAX_BODY), stamp: Date.now() });
    if (collected.messages.length >= MAX_MESSAGES) void this.flush(key);
  }

  private async flush(key: string): Promise<void> {
    const collected = this.open.get(key);
    if (!collected) return;
    this.open.delete(key);
    clearTimeout(collected.timer);
    const { host, participants, messages } = collected;
    const id = `${key}\n${messages[0]!.stamp}`;
    const mail = archiveMail(host.identity, host.addresses, participants, messages, id);
    try {
      await this.hub.queue.add(SMTP_DESTINATION, `archive ${mail.messageId}`, mail);
    } catch (err) {
      this.hub.log.error({ err, conversation: participants }, 'queueing an archive email failed');
    }
  }
}
