// The SMS gateway: phone numbers are contacts (`+40723555666@sms.example.org`). Chats to them
// become SMS over SMPP 3.4 (through the durable queue and one SMPP link with failover), SMS
// from them become chats, delivery receipts become XEP-0184 receipts, and users who chose SMS
// get offline notifications on their mobile. The gateway owns `sms.<domain>` per host, always
// shows numbers as available, and answers disco (gateway/sms) and XEP-0100 prompts.
import type { Config, HostSmsConfig } from '../../src/config/schema.js';
import type { Gateway, GatewayHost, GatewayStatus } from '../../src/core/gateway.js';
import { Jid } from '../../src/core/jid.js';
import { readPrefs } from '../../src/core/notification-prefs.js';
import type { NotificationChannel, OfflineNotification } from '../../src/core/offline-notifications.js';
import { errorReply, Signal, type SignalError } from '../../src/core/signal.js';
import { SmsInbound, type InboundHost } from './inbound.js';
import { SendLimits } from './limits.js';
import { normalizeNumber } from './numbers.js';
import { SMS_DESTINATION, SmsSender, type OutboundHost, type SmsJob } from './outbound.js';
import { ReplyRoutes } from './routes.js';
import { SmppLink } from './smpp-link.js';

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_GATEWAY = 'jabber:iq:gateway';
/** Longest notification SMS: one GSM part. */
const NOTIFICATION_LENGTH = 160;

interface SmsHost extends OutboundHost, InboundHost {}

export class SmsGateway implements Gateway {
  readonly name = 'sms';
  readonly domains: readonly string[];
  private readonly hosts = new Map<string, SmsHost>();
  private readonly bySmsDomain = new Map<string, SmsHost>();
  private hub: GatewayHost | undefined;
  private link: SmppLink | undefined;
  private sender: SmsSender | undefined;
  private inbound: SmsInbound | undefined;
  private routes: ReplyRoutes | undefined;
  private limits: SendLimits | undefined;

  constructor(private readonly config: Config) {
    for (const host of config.hosts) {
      const smsHost: SmsHost = { domain: host.domain, smsDomain: host.sms.domain ?? `sms.${host.domain}`, config: host.sms };
      this.hosts.set(host.domain, smsHost);
      this.bySmsDomain.set(smsHost.smsDomain, smsHost);
    }
    this.domains = [...this.bySmsDomain.keys()];
  }

  async start(hub: GatewayHost): Promise<void> {
    const sms = this.config.sms!;
    this.hub = hub;
    this.routes = new ReplyRoutes(hub.store.kv);
    this.limits = new SendLimits(hub);
    this.inbound = new SmsInbound([...this.hosts.values()], this.routes, hub);
    this.link = new SmppLink({
      endpoints: sms.smsc.map((s) => ({ host: s.host, port: s.port, systemId: s.system_id, password: s.password, systemType: s.system_type, bind: s.bind })),
      window: sms.window,
      throughput: sms.throughput,
      enquireLinkSeconds: sms.enquire_link,
      responseTimeoutSeconds: sms.response_timeout,
      reconnect: { minDelayMs: sms.reconnect.min_delay * 1000, maxDelayMs: sms.reconnect.max_delay * 1000 },
      log: hub.log.child({ link: 'smpp' }),
    }, (pdu) => this.inbound!.deliver(pdu));
    this.sender = new SmsSender(sms, this.hosts, this.link, hub);
    this.link.start();
    this.sender.start();
    hub.offerChannel(this.smsChannel);
  }

  async stop(): Promise<void> {
    await this.link?.stop();
    this.hub = undefined;
  }

  status(): GatewayStatus {
    const link = this.link;
    const stats = link?.stats;
    const where = link?.endpoint ?? this.config.sms!.smsc.map((s) => `${s.host}:${s.port}`).join(', ');
    return {
      summary: `SMSC ${where} ${link?.state ?? 'down'}; ${this.sender?.submitted ?? 0} SMS sent, ${stats?.throttled ?? 0} throttled, `
        + `${this.inbound?.received ?? 0} received (${this.inbound?.unroutable ?? 0} unroutable), ${stats?.reconnects ?? 0} reconnects`,
      listeners: [],
    };
  }

  deliver(signal: Signal): Promise<void> | void {
    const hub = this.hub;
    const host = this.bySmsDomain.get(signal.to.domain);
    if (!hub || !host || signal.isError) return;
    switch (signal.kind) {
      case 'MESSAGE': return this.outbound(signal, host);
      case 'SUBSCRIBE': return this.subscription(signal, host);
      case 'INFO': return this.query(signal, host);
      case 'NOTIFY': return;
    }
  }

  /** A chat to a number: checked, then queued as an SMS. */
  private async outbound(signal: Signal, host: SmsHost): Promise<void> {
    const { content } = signal;
    if (content.type === 'groupchat' || content.type === 'headline' || content.body === undefined || content.body.trim() === '') return;
    const to = this.numberOf(signal.to, host);
    if (!to) return this.refuse(signal, { type: 'modify', condition: 'jid-malformed', text: `${signal.to.local} is not a phone number.` });
    const user = signal.from.bare;
    if (user.domain !== host.domain || !host.config.sender) {
      return this.refuse(signal, { type: 'cancel', condition: 'not-allowed', text: 'SMS can be sent only by users of this domain.' });
    }
    const refusal = await this.limits!.refuse(user, to, host.config);
    if (refusal) return this.refuse(signal, refusal);
    await this.routes!.remember(host.smsDomain, to, { user: user.bareString });
    const job: SmsJob = {
      host: host.domain, to, text: content.body, from: signal.from.toString(),
      ...(content.id ? { id: content.id } : {}), receipt: content.receiptRequest === true,
    };
    await this.hub!.queue.add(SMS_DESTINATION, `chat ${signal.from.toString()} ${content.id ?? ''} ${Date.now()}`, job);
  }

  /** Numbers accept every subscription and are always available. */
  private subscription(signal: Signal, host: SmsHost): void {
    const hub = this.hub!;
    const contact = signal.to.bare;
    if (!this.numberOf(contact, host) && contact.local) return;
    const available = (to: Jid) => new Signal('NOTIFY', contact, to, { type: 'available', status: host.config.presence_status });
    switch (signal.content.type) {
      case 'subscribe':
        hub.emit(new Signal('SUBSCRIBE', contact, signal.from.bare, { type: 'subscribed' }));
        hub.emit(available(signal.from.bare));
        return;
      case 'probe':
        hub.emit(available(signal.from));
        return;
      case 'unsubscribe':
        hub.emit(new Signal('SUBSCRIBE', contact, signal.from.bare, { type: 'unsubscribed' }));
        hub.emit(new Signal('NOTIFY', contact, signal.from.bare, { type: 'unavailable' }));
    }
  }

  /** disco#info (gateway/sms), disco#items and XEP-0100's prompt; anything else is not served. */
  private query(signal: Signal, host: SmsHost): void {
    const hub = this.hub!;
    const { type, id, namespace, gateway } = signal.content;
    if (type !== 'get' && type !== 'set') return;
    const answer = (content: Partial<Signal['content']>) =>
      hub.emit(new Signal('INFO', signal.to, signal.from, { type: 'result', ...(id ? { id } : {}), ...(namespace ? { namespace } : {}), ...content }));
    if (namespace === NS_DISCO_INFO && type === 'get') {
      return answer({
        discoInfo: signal.to.local
          ? { identities: [{ category: 'client', type: 'phone' }], features: [NS_DISCO_INFO, 'urn:xmpp:receipts'] }
          : { identities: [{ category: 'gateway', type: 'sms', name: 'SMS' }], features: [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_GATEWAY, 'urn:xmpp:receipts'] },
      });
    }
    if (namespace === NS_DISCO_ITEMS && type === 'get') return answer({});
    if (namespace === NS_GATEWAY && type === 'get') {
      return answer({ gateway: { desc: 'Enter the phone number of the contact, with its country code (+40...).', prompt: 'Phone number' } });
    }
    if (namespace === NS_GATEWAY && type === 'set' && gateway?.prompt !== undefined) {
      const number = normalizeNumber(gateway.prompt, host.config.default_country ?? '');
      if (!number) return this.refuse(signal, { type: 'modify', condition: 'not-acceptable', text: `${gateway.prompt} is not a phone number.` });
      return answer({ gateway: { jid: `${number}@${host.smsDomain}` } });
    }
    this.refuse(signal, { type: 'cancel', condition: 'service-unavailable' });
  }

  private numberOf(jid: Jid, host: SmsHost): string | null {
    return jid.local ? normalizeNumber(jid.local, host.config.default_country ?? '') : null;
  }

  private refuse(signal: Signal, error: SignalError): void {
    this.hub!.log.info({ from: signal.from.toString(), to: signal.to.toString(), condition: error.condition }, `SMS refused: ${error.text ?? error.condition}`);
    this.hub!.emit(errorReply(signal, error));
  }

  private readonly smsChannel: NotificationChannel = {
    name: 'sms',
    notify: (notification) => this.notify(notification),
  };

  /** "Alice: see you at 5 (+2 more) — reply to answer" to the user's mobile, within the daily cap. */
  private async notify(notification: OfflineNotification): Promise<void> {
    const hub = this.hub!;
    const host = this.hosts.get(notification.user.domain);
    if (!host?.config.sender) return;
    const { user, peer } = notification;
    const mobile = await this.mobileOf(user, host.config);
    if (!mobile) {
      hub.log.warn({ user: user.bareString }, 'SMS notification skipped: the user has no mobile number');
      return;
    }
    if (!(await this.limits!.notificationAllowed(user, host.config))) {
      hub.log.info({ user: user.bareString }, 'SMS notification skipped: daily cap reached');
      return;
    }
    await this.routes!.remember(host.smsDomain, mobile, { user: user.bareString, peer: peer.bareString });
    await hub.queue.add<SmsJob>(SMS_DESTINATION, `notify ${notification.id}`, { host: host.domain, to: mobile, text: notificationText(notification) });
  }

  private async mobileOf(user: Jid, config: HostSmsConfig): Promise<string | null> {
    const hub = this.hub!;
    const attributes = await hub.directory.userAttributes(user.domain, user.local);
    const raw = attributes?.mobile ?? (await readPrefs(hub.store.kv, user.domain, user.local)).mobile;
    return raw ? normalizeNumber(raw, config.default_country ?? '') : null;
  }
}

function notificationText(notification: OfflineNotification): string {
  const name = notification.peer.local ?? notification.peer.domain;
  const count = notification.messages.length + notification.more;
  const suffix = `${count > 1 ? ` (+${count - 1} more)` : ''} - reply to answer`;
  const body = notification.messages[0]!.body.replace(/\s+/gu, ' ');
  const room = NOTIFICATION_LENGTH - name.length - 2 - suffix.length;
  const text = body.length > room ? `${body.slice(0, Math.max(0, room - 3))}...` : body;
  return `${name}: ${text}${suffix}`;
}
