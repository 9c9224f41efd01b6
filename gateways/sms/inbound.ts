// Inbound SMPP: a delivery receipt becomes an XEP-0184 receipt (or a message error) for the
// XMPP sender; an SMS becomes a chat from `+number@sms.<domain>` to the user it belongs to
// (reply routing, then keywords), or, unroutable, a log line and the host's help text.
import type { HostSmsConfig } from '../../src/config/schema.js';
import type { GatewayHost } from '../../src/core/gateway.js';
import { Jid } from '../../src/core/jid.js';
import { Signal } from '../../src/core/signal.js';
import { decodeSms, Reassembler } from './encoding.js';
import { fromSmppAddress } from './numbers.js';
import { SMS_DESTINATION, RECEIPTS, type PendingReceipt, type SmsJob } from './outbound.js';
import { explainReceipt, parseReceipt, type DeliveryReceipt } from './receipt.js';
import type { ReplyRoutes } from './routes.js';

export interface InboundHost {
  domain: string;
  smsDomain: string;
  config: HostSmsConfig;
}

const ESME_ROK = 0;
/** Inbound SMS per sender number and minute beyond which a flood is dropped (and logged). */
const FLOOD_PER_MINUTE = 30;

export class SmsInbound {
  private readonly reassembler = new Reassembler(10 * 60_000, 10_000);
  private readonly recent = new Map<string, number[]>();
  received = 0;
  unroutable = 0;

  constructor(private readonly hosts: InboundHost[], private readonly routes: ReplyRoutes, private readonly hub: GatewayHost) {}

  async deliver(pdu: Record<string, unknown>): Promise<number> {
    const receipt = parseReceipt(pdu);
    if (receipt) {
      await this.receipt(receipt);
      return ESME_ROK;
    }
    const host = this.hostFor(String(pdu.destination_addr ?? ''));
    const source = host && fromSmppAddress(String(pdu.source_addr ?? ''), Number(pdu.source_addr_ton ?? 0), host.config.default_country ?? '');
    if (!host || !source) {
      this.hub.log.warn({ source: pdu.source_addr, destination: pdu.destination_addr }, 'inbound SMS for no host of ours, or from an unusable number: dropped');
      return ESME_ROK;
    }
    if (this.flooding(source)) {
      this.hub.log.warn({ source }, 'inbound SMS flood: dropped');
      return ESME_ROK;
    }
    const part = decodeSms(pdu);
    const whole = part.unreadable ? '(unreadable SMS: unknown encoding)' : this.reassembler.add(source, part);
    if (whole === undefined) return ESME_ROK; // more parts to come
    this.received++;
    await this.route(host, source, whole);
    return ESME_ROK;
  }

  private async route(host: InboundHost, number: string, text: string): Promise<void> {
    const from = Jid.parse(`${number}@${host.smsDomain}`);
    const route = await this.routes.find(host.smsDomain, number, host.config.reply_window);
    if (route?.peer) {
      // A reply from the user's own mobile to an offline notification: a chat from the user.
      this.hub.emit(new Signal('MESSAGE', Jid.parse(route.user), Jid.parse(route.peer), { type: 'chat', body: text }));
      return;
    }
    if (route) {
      this.hub.emit(new Signal('MESSAGE', from, Jid.parse(route.user), { type: 'chat', body: text }));
      return;
    }
    const [first = '', ...rest] = text.trim().split(/\s+/u);
    const keyword = host.config.keywords.find((k) => k.keyword.toLowerCase() === first.toLowerCase());
    if (keyword) {
      const user = Jid.parse(`${keyword.user}@${host.domain}`);
      await this.routes.remember(host.smsDomain, number, { user: user.bareString });
      this.hub.emit(new Signal('MESSAGE', from, user, { type: 'chat', body: rest.join(' ') || text }));
      return;
    }
    this.unroutable++;
    this.hub.log.warn({ source: number, host: host.domain }, 'inbound SMS matches no conversation or keyword: answered with the help text');
    if (host.config.help_text && host.config.sender) {
      await this.hub.queue.add<SmsJob>(SMS_DESTINATION, `help ${number} ${Date.now()}`, { host: host.domain, to: number, text: host.config.help_text });
    }
  }

  private async receipt(receipt: DeliveryReceipt): Promise<void> {
    for (const host of this.hosts) {
      const pending = await this.hub.store.kv.get<PendingReceipt>(host.smsDomain, '', RECEIPTS, receipt.messageId);
      if (!pending) continue;
      if (receipt.state === 'pending') return;
      const contact = Jid.parse(`${pending.to}@${host.smsDomain}`);
      const sender = Jid.parse(pending.from);
      await this.hub.store.kv.set(host.smsDomain, '', RECEIPTS, undefined, receipt.messageId);
      if (receipt.state === 'failed') {
        this.hub.emit(new Signal('MESSAGE', contact, sender, {
          type: 'error', ...(pending.id ? { id: pending.id } : {}), error: { type: 'cancel', condition: 'recipient-unavailable', text: explainReceipt(receipt) },
        }));
      } else if (pending.receipt && pending.id && pending.parts === 1) {
        this.hub.emit(new Signal('MESSAGE', contact, sender, { type: 'normal', receiptFor: pending.id }));
      } else if (pending.receipt && pending.id) {
        await this.partDelivered(host.smsDomain, pending, contact, sender);
      }
      return;
    }
    this.hub.log.debug({ id: receipt.messageId }, 'delivery receipt for no SMS we remember');
  }

  /** A long SMS is delivered when every part is: the receipt is sent with the last one. */
  private async partDelivered(smsDomain: string, pending: PendingReceipt, contact: Jid, sender: Jid): Promise<void> {
    const key = `parts ${pending.from} ${pending.id}`;
    const delivered = ((await this.hub.store.kv.get<number>(smsDomain, '', RECEIPTS, key)) ?? 0) + 1;
    if (delivered < pending.parts) return this.hub.store.kv.set(smsDomain, '', RECEIPTS, delivered, key);
    await this.hub.store.kv.set(smsDomain, '', RECEIPTS, undefined, key);
    this.hub.emit(new Signal('MESSAGE', contact, sender, { type: 'normal', receiptFor: pending.id! }));
  }

  /** The host that owns the number an SMS was sent to (its numbers or sender); the only host if there is one. */
  private hostFor(destination: string): InboundHost | undefined {
    const digits = destination.replace(/^\+/, '');
    const owner = this.hosts.find((h) => [...h.config.numbers, h.config.sender ?? ''].some((n) => n.replace(/^\+/, '') === digits));
    return owner ?? (this.hosts.length === 1 ? this.hosts[0] : undefined);
  }

  private flooding(source: string): boolean {
    const now = Date.now();
    const times = (this.recent.get(source) ?? []).filter((t) => now - t < 60_000);
    times.push(now);
    this.recent.set(source, times);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
    return times.length > FLOOD_PER_MINUTE;
  }
}
