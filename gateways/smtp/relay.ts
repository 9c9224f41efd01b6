// Outbound mail: composed mails are queued (durable, retried) and handed to the configured
// relay with nodemailer. A 5xx answer dead-letters the mail at once; anything else (the relay
// down, 4xx, timeouts) retries with backoff. The Message-ID comes from the job id, so a mail
// resent after a crash mid-send can be recognised as the same one.
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { SmtpConfig } from '../../src/config/schema.js';
import type { Logger } from '../../src/core/log.js';
import { retryPolicy } from '../../src/queue/policy.js';
import { PermanentFailure, type DeliveryQueue, type Job } from '../../src/queue/port.js';

export const SMTP_DESTINATION = 'smtp';

/** A mail ready to send: everything needed, so the queued job stands alone. */
export interface OutboundMail {
  from: { name: string; address: string };
  to: string[];
  replyTo?: string;
  subject: string;
  text: string;
  html: string;
  /** Without angle brackets. */
  messageId: string;
  references?: string[];
  headers: Record<string, string>;
}

export class Relay {
  private readonly transport: Transporter;
  sent = 0;

  constructor(private readonly config: SmtpConfig, private readonly log: Logger) {
    const { relay } = config;
    const options: SMTPPool.Options = {
      pool: true,
      host: relay.host,
      port: relay.port,
      secure: relay.tls === 'implicit',
      requireTLS: relay.tls === 'required',
      ignoreTLS: relay.tls === 'none',
      maxConnections: relay.concurrency,
      connectionTimeout: relay.timeout * 1000,
      greetingTimeout: relay.timeout * 1000,
      socketTimeout: relay.timeout * 1000,
      tls: { rejectUnauthorized: relay.tls_verify, ...(relay.ca_file ? { ca: readFileSync(relay.ca_file) } : {}) },
      ...(relay.user ? { auth: { user: relay.user, pass: relay.password ?? '' } } : {}),
    };
    this.transport = nodemailer.createTransport(options);
  }

  /** Works the queue's mails through the relay. */
  start(queue: DeliveryQueue): void {
    const { relay, retry } = this.config;
    queue.process<OutboundMail>(SMTP_DESTINATION, (job) => this.send(job), retryPolicy(retry, relay.concurrency, relay.rate));
  }

  stop(): void {
    this.transport.close();
  }

  private async send(job: Job<OutboundMail>): Promise<void> {
    const mail = job.payload;
    try {
      const info = await this.transport.sendMail({
        from: mail.from,
        to: mail.to,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: `<${mail.messageId}>`,
        ...(mail.references?.length ? { references: mail.references.map((r) => `<${r}>`), inReplyTo: `<${mail.references.at(-1)}>` } : {}),
        headers: mail.headers,
        textEncoding: 'quoted-printable',
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      this.sent++;
      this.log.info({ job: job.id, to: mail.to, response: info.response }, 'mail handed to the relay');
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500 && code < 600) {
        throw new PermanentFailure(`the relay refused the mail: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  }
}
