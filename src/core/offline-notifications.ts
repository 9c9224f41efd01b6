// The offline notification policy (DESIGN.md, "Offline notification routing"): a chat that
// reaches a user with no available resource is stored by the XMPP layer, then handed here.
// Per conversation (user, peer), the first message schedules a digest after `delay`; further
// messages join it; after a notification, messages wait until `digest_window` has passed
// since it, so a burst becomes one email. The digest is a durable queue job; when it runs it
// keeps only the messages still waiting in offline storage, so a user who came back and
// read them is not notified. Channels (email, SMS) are offered by the gateways.
import type { HostConfig } from '../config/schema.js';
import type { DeliveryQueue, Job } from '../queue/port.js';
import type { Store } from '../store/ports.js';
import { Jid } from './jid.js';
import type { Logger } from './log.js';
import { effectivePrefs, readPrefs, type OfflineChannel } from './notification-prefs.js';

/** A message waiting in offline storage, as the policy keeps it. */
export interface PendingMessage {
  body: string;
  /** Its offline storage stamp (ms): how the digest finds out whether it was read. */
  stamp: number;
  thread?: string;
}

export interface OfflineNotification {
  /** Stable for one digest, across retries and restarts: channels derive their job ids from it. */
  id: string;
  /** The bare JID of the user who was offline. */
  user: Jid;
  /** The bare JID of the contact who wrote. */
  peer: Jid;
  /** Oldest first. */
  messages: PendingMessage[];
  /** Messages beyond those listed (the digest keeps at most MAX_MESSAGES). */
  more: number;
}

export interface NotificationChannel {
  readonly name: 'email' | 'sms';
  /** Hands the notification on (usually as the channel's own idempotent queue job). */
  notify(notification: OfflineNotification): Promise<void>;
}

export interface OfflineMessageEvent {
  from: Jid;
  /** The local user the message was stored for. */
  to: Jid;
  type: string;
  body?: string;
  thread?: string;
  stamp: number;
}

/** The digest state of one conversation, in the key/value store. */
interface Conversation {
  messages: PendingMessage[];
  more: number;
  /** The digest job scheduled for these messages. */
  job?: string;
  /** When the last notification was sent (ms). */
  sentAt?: number;
  seq: number;
}

interface DigestJob {
  host: string;
  user: string;
  peer: string;
}

const STORE = 'offline-notify';
export const DIGEST_DESTINATION = 'notify';
const MAX_MESSAGES = 20;
const MAX_BODY = 2000;

export interface OfflineNotifierDeps {
  hostConfig(domain: string): HostConfig | undefined;
  store: Store;
  queue: DeliveryQueue;
  log: Logger;
  /** True when the user has an available resource now (messages then go to it, not offline). */
  isOnline(user: Jid): boolean;
}

export class OfflineNotifier {
  private readonly channels = new Map<string, NotificationChannel>();
  /** Per-user chains: a conversation's state is read and written by one step at a time. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly deps: OfflineNotifierDeps) {}

  offer(channel: NotificationChannel): void {
    this.channels.set(channel.name, channel);
  }

  /** Starts working digest jobs (those left by a previous run too). */
  start(): void {
    this.deps.queue.process<DigestJob>(DIGEST_DESTINATION, (job) => this.runDigest(job), {
      concurrency: 8, ratePerSecond: 0, attempts: 10, backoff: { initialMs: 5_000, maxMs: 600_000 },
    });
  }

  /** A message was stored offline. Chats and normal messages with a body are considered. */
  messageStored(event: OfflineMessageEvent): Promise<void> {
    const body = event.body?.trim();
    if ((event.type !== 'chat' && event.type !== 'normal') || !body) return Promise.resolve();
    const user = event.to.bare;
    const peer = event.from.bare;
    if (peer.equals(user)) return Promise.resolve();
    const host = this.deps.hostConfig(user.domain);
    if (!host) return Promise.resolve();
    return this.serialize(user, async () => {
      if (channelsOf(await this.channelPreference(user, host)).length === 0) return;
      const conversation = await this.load(user, peer);
      if (conversation.messages.length < MAX_MESSAGES) {
        conversation.messages.push({ body: body.slice(0, MAX_BODY), stamp: event.stamp, ...(event.thread ? { thread: event.thread } : {}) });
      } else {
        conversation.more++;
      }
      if (!conversation.job) {
        const now = Date.now();
        const runAt = Math.max(now + host.notifications.delay * 1000, (conversation.sentAt ?? 0) + host.notifications.digest_window * 1000);
        conversation.seq++;
        conversation.job = `${user.bareString} ${peer.bareString} ${conversation.seq}`;
        await this.deps.queue.add<DigestJob>(DIGEST_DESTINATION, conversation.job,
          { host: user.domain, user: user.local, peer: peer.bareString }, { delayMs: runAt - now });
      }
      await this.save(user, peer, conversation);
    });
  }

  /** The user is back: pending digests are dropped (the offline messages are being delivered). */
  userOnline(user: Jid): Promise<void> {
    return this.serialize(user.bare, async () => {
      const { kv } = this.deps.store;
      for (const [peer, conversation] of await kv.entries<Conversation>(user.domain, user.local, STORE)) {
        if (conversation.job) await this.deps.queue.cancel(DIGEST_DESTINATION, conversation.job);
        if (conversation.messages.length === 0 && conversation.job === undefined) continue;
        await kv.set(user.domain, user.local, STORE, { ...conversation, messages: [], more: 0, job: undefined }, peer);
      }
    });
  }

  private async runDigest(job: Job<DigestJob>): Promise<void> {
    const user = Jid.of(job.payload.user, job.payload.host);
    const peer = Jid.parse(job.payload.peer);
    await this.serialize(user, async () => {
      const conversation = await this.load(user, peer);
      if (conversation.job !== job.id) return; // superseded or cancelled
      const host = this.deps.hostConfig(user.domain);
      const channels = host && !this.deps.isOnline(user) ? channelsOf(await this.channelPreference(user, host)) : [];
      const waiting = new Set((await this.deps.store.offline.list(user.domain, user.local)).map((m) => m.stamp));
      const unread = conversation.messages.filter((m) => waiting.has(m.stamp));
      if (unread.length > 0 && channels.length > 0) {
        const notification: OfflineNotification = { id: job.id, user, peer, messages: unread, more: conversation.more };
        for (const name of channels) {
          const channel = this.channels.get(name);
          if (channel) await channel.notify(notification);
          else this.deps.log.warn({ user: user.bareString, channel: name }, 'no gateway offers this notification channel');
        }
        conversation.sentAt = Date.now();
      } else {
        this.deps.log.debug({ user: user.bareString, peer: peer.bareString }, 'offline notification dropped: messages read or notifications off');
      }
      await this.save(user, peer, { ...conversation, messages: [], more: 0, job: undefined });
    });
  }

  private async channelPreference(user: Jid, host: HostConfig): Promise<OfflineChannel> {
    const stored = await readPrefs(this.deps.store.kv, user.domain, user.local);
    return effectivePrefs(stored, host.notifications).offline;
  }

  private async load(user: Jid, peer: Jid): Promise<Conversation> {
    const stored = await this.deps.store.kv.get<Conversation>(user.domain, user.local, STORE, peer.bareString);
    return stored ?? { messages: [], more: 0, seq: 0 };
  }

  private save(user: Jid, peer: Jid, conversation: Conversation): Promise<void> {
    const idle = conversation.messages.length === 0 && !conversation.job && conversation.sentAt === undefined;
    return this.deps.store.kv.set(user.domain, user.local, STORE, idle ? undefined : conversation, peer.bareString);
  }

  private serialize(user: Jid, step: () => Promise<void>): Promise<void> {
    const key = user.bareString;
    const next = (this.chains.get(key) ?? Promise.resolve()).then(step);
    const settled = next.catch(() => undefined);
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return next;
  }
}

function channelsOf(preference: OfflineChannel): Array<'email' | 'sms'> {
  switch (preference) {
    case 'none': return [];
    case 'both': return ['email', 'sms'];
    default: return [preference];
  }
}
