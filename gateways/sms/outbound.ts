// Outbound SMS: every SMS is a durable queue job, split into parts (GSM 03.38 or UCS-2, UDH,
// SAR or message_payload) and submitted through the SMPP link. The SMSC's message ids are
// remembered so that delivery receipts find the XMPP message they answer. A part submitted
// before a crash or a lost response may be submitted again on retry (at-least-once).
import type { HostSmsConfig, SmsConfig } from '../../src/config/schema.js';
import type { GatewayHost } from '../../src/core/gateway.js';
import { Jid } from '../../src/core/jid.js';
import { Signal } from '../../src/core/signal.js';
import { retryPolicy } from '../../src/queue/policy.js';
import { PermanentFailure, type Job } from '../../src/queue/port.js';
import { splitSms } from './encoding.js';
import { smppDestination, smppSource } from './numbers.js';
import { explainStatus, SmppError, type SmppLink } from './smpp-link.js';

export const SMS_DESTINATION = 'sms';

export interface SmsJob {
  host: string;
  /** E.164 destination. */
  to: string;
  text: string;
  /** The full JID that sent it (chats), for receipts and errors; absent for notifications. */
  from?: string;
  /** The XMPP message id. */
  id?: string;
  /** The sender asked for a receipt (XEP-0184). */
  receipt?: boolean;
}

/** What a delivery receipt answers: kept per SMSC message id. */
export interface PendingReceipt {
  from: string;
  to: string;
  id?: string;
  receipt: boolean;
  parts: number;
  delivered: number;
  at: number;
}

export const RECEIPTS = 'sms-receipt';

export interface OutboundHost {
  config: HostSmsConfig;
  smsDomain: string;
}

export class SmsSender {
  private reference = Math.floor(Math.random() * 256);
  submitted = 0;

  constructor(
    private readonly config: SmsConfig,
    private readonly hosts: Map<string, OutboundHost>,
    private readonly link: SmppLink,
    private readonly hub: GatewayHost,
  ) {}

  start(): void {
    const { retry, window } = this.config;
    // No rate here: the link paces submit_sm itself.
    this.hub.queue.process<SmsJob>(SMS_DESTINATION, (job) => this.send(job), retryPolicy(retry, window, 0));
  }

  private async send(job: Job<SmsJob>): Promise<void> {
    const sms = job.payload;
    const host = this.hosts.get(sms.host);
    if (!host?.config.sender) throw new PermanentFailure(`no SMS sender configured for ${sms.host}`);
    const source = smppSource(host.config.sender);
    const destination = smppDestination(sms.to);
    this.reference = (this.reference + 1) % 256;
    const { parts } = splitSms(sms.text, this.config.concatenation, this.reference);
    const ids: string[] = [];
    try {
      for (const part of parts) {
        ids.push(await this.link.submit({
          source_addr: source.addr, source_addr_ton: source.ton, source_addr_npi: source.npi,
          destination_addr: destination.addr, dest_addr_ton: destination.ton, dest_addr_npi: destination.npi,
          registered_delivery: this.config.registered_delivery && sms.from ? 1 : 0,
          ...part,
        }));
      }
    } catch (err) {
      const last = job.attempt >= this.config.retry.attempts;
      if (err instanceof SmppError && (!err.temporary || last)) this.failed(sms, host, explainStatus(err.status));
      else if (last) this.failed(sms, host, 'the SMS centre could not be reached');
      if (err instanceof SmppError && !err.temporary) throw new PermanentFailure(`${err.statusName}: ${explainStatus(err.status)}`, { cause: err });
      throw err;
    }
    this.submitted++;
    if (sms.from && this.config.registered_delivery) {
      const pending: PendingReceipt = { from: sms.from, to: sms.to, ...(sms.id ? { id: sms.id } : {}), receipt: sms.receipt === true, parts: ids.length, delivered: 0, at: Date.now() };
      for (const id of ids) await this.hub.store.kv.set(host.smsDomain, '', RECEIPTS, pending, id);
    }
  }

  /** Tells the sender the SMS did not go out. */
  private failed(sms: SmsJob, host: OutboundHost, why: string): void {
    if (!sms.from) return;
    this.hub.emit(new Signal('MESSAGE', Jid.parse(`${sms.to}@${host.smsDomain}`), Jid.parse(sms.from), {
      type: 'error', ...(sms.id ? { id: sms.id } : {}), error: { type: 'cancel', condition: 'service-unavailable', text: `The SMS was not sent: ${why}.` },
    }));
  }
}
