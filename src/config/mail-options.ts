// Options of the delivery queue, the offline notification policy and the SMTP gateway,
// declared like every other option (schema.ts imports them).
import type { MailArrivalRule, OfflineChannel } from '../core/notification-prefs.js';
import { retrySection, type RetryConfig } from './retry-options.js';

export interface SmtpConfig {
  relay: SmtpRelayConfig;
  retry: RetryConfig;
  inbound: { interfaces: string[]; port: number | null; protocol: 'smtp' | 'lmtp'; max_size: number; hostname?: string };
  secret_file: string;
}

export interface SmtpRelayConfig {
  host: string;
  port: number;
  tls: 'opportunistic' | 'required' | 'implicit' | 'none';
  tls_verify: boolean;
  ca_file?: string;
  user?: string;
  password?: string;
  concurrency: number;
  rate: number;
  timeout: number;
}

export interface NotificationsConfig {
  offline: OfflineChannel;
  delay: number;
  digest_window: number;
  mail_arrival: MailArrivalRule;
}

export interface HostMailConfig {
  domain?: string;
  from?: string;
  sender_suffix: string;
  reply_by_email: boolean;
  plus_tag?: string;
  archive_addresses: string[];
  archive_interval: number;
  web_client_url?: string;
  timezone: string;
  snippet_length: number;
}

const mailAddress = {
  type: 'string',
  pattern: '^[^\\s@<>]+@[^\\s@<>]+$',
  patternHint: 'a mail address such as im-notify@example.org',
  description: 'Mail address.',
} as const;

export const queueOption = {
  type: 'string',
  default: 'embedded',
  pattern: '^(embedded|rediss?://\\S+)$',
  patternHint: '`embedded` or a Redis URL such as redis://127.0.0.1:6379',
  description:
    'The durable delivery queue of the gateways: `embedded` (in `<data_dir>/queue.sqlite`, no outside service) or a Redis URL (bullmq) shared by a cluster.',
} as const;

export const smtpSection = {
  type: 'object',
  description: 'The SMTP gateway (docs/mail.md): offline chats as email, mail arrivals as IM, replies by email. Absent: no mail gateway.',
  required: ['relay'],
  properties: {
    relay: {
      type: 'object',
      description: 'The mail relay (MTA) outbound mail is handed to.',
      required: ['host'],
      properties: {
        host: { type: 'string', minLength: 1, description: 'Host name or address of the relay.' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 25, description: 'Port of the relay (587 for submission, 465 with `tls: implicit`).' },
        tls: {
          type: 'string',
          enum: ['opportunistic', 'required', 'implicit', 'none'],
          default: 'opportunistic',
          description: '`opportunistic`: STARTTLS when offered; `required`: STARTTLS or fail; `implicit`: TLS from the start (port 465); `none`: never.',
        },
        tls_verify: { type: 'boolean', default: true, description: 'Verify the relay\'s certificate.' },
        ca_file: { type: 'string', path: true, description: 'PEM file of the CA that signed the relay\'s certificate, if not a public one.' },
        user: { type: 'string', minLength: 1, description: 'User name for SMTP AUTH at the relay.' },
        password: { type: 'string', description: 'Password for SMTP AUTH at the relay.' },
        concurrency: { type: 'integer', minimum: 1, default: 4, description: 'Mails sent to the relay at once.' },
        rate: { type: 'number', minimum: 0, default: 50, description: 'Most mails started per second; 0 for no limit.' },
        timeout: { type: 'integer', minimum: 1, default: 60, description: 'Seconds before a silent relay connection is given up (the mail is retried).' },
      },
    },
    retry: retrySection('mail the relay did not take', 'a mail', { attempts: 12, initial_delay: 30, max_delay: 3600 }),
    inbound: {
      type: 'object',
      description: 'The listener the MTA hands mail to: copies of users\' mail (arrival notifications) and replies to notification emails.',
      properties: {
        interfaces: {
          type: 'array',
          items: { type: 'string', minLength: 1, description: 'Address.' },
          default: ['127.0.0.1'],
          description: 'Addresses to listen on (loopback when the MTA runs on the same machine).',
        },
        port: {
          type: ['integer', 'null'],
          minimum: 0,
          maximum: 65535,
          default: 2525,
          description: 'Port of the inbound listener; `null` disables it.',
        },
        protocol: { type: 'string', enum: ['smtp', 'lmtp'], default: 'smtp', description: 'SMTP (with STARTTLS) or LMTP (RFC 2033).' },
        max_size: { type: 'integer', minimum: 1024, default: 26214400, description: 'Largest mail accepted, in bytes (larger ones get 552).' },
        hostname: { type: 'string', minLength: 1, description: 'Name in the greeting; default: the first host\'s mail domain.' },
      },
    },
    secret_file: {
      type: 'string',
      path: true,
      dataDirDefault: 'smtp-secret',
      description: 'Key signing the reply addresses of notification emails; made at the first start when missing. Keep it across restarts and cluster nodes.',
    },
  },
} as const;

export const notificationsSection = {
  type: 'object',
  description: 'Offline notifications: what a user who is offline is sent when a chat arrives (users change theirs with an ad-hoc command or `switchboard notify`).',
  properties: {
    offline: {
      type: 'string',
      enum: ['none', 'email', 'sms', 'both'],
      default: 'email',
      description: 'Default channel for chats that reach a user who is offline.',
    },
    delay: { type: 'integer', minimum: 0, default: 120, description: 'Seconds after the first message of a conversation before it is notified.' },
    digest_window: {
      type: 'integer',
      minimum: 0,
      default: 900,
      description: 'Seconds after a notification during which further messages of the conversation wait to join the next one.',
    },
    mail_arrival: {
      type: 'string',
      enum: ['all', 'contacts', 'listed', 'none'],
      default: 'all',
      description: 'Default rule for IM notifications of arriving mail: `all`, only from roster `contacts`, only from `listed` senders, or `none`.',
    },
  },
} as const;

export const hostMailSection = {
  type: 'object',
  description: 'How the SMTP gateway serves this host.',
  properties: {
    domain: {
      type: 'string',
      pattern: '^[\\p{L}\\p{N}-]+(\\.[\\p{L}\\p{N}-]+)+$',
      patternHint: 'a domain name such as mail.example.org',
      description: 'The gateway\'s address: the JID that announces mail, and the mail domain of reply addresses. Default `mail.<domain>`.',
    },
    from: { ...mailAddress, description: 'Sender of notification emails. Default `im-notify@<domain>`.' },
    sender_suffix: { type: 'string', default: 'via IM', description: 'Added to the sender\'s name in the From header (`"Alice Smith via IM"`).' },
    reply_by_email: { type: 'boolean', default: true, description: 'Give notification emails a reply address that turns replies into chats.' },
    plus_tag: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]+$',
      patternHint: 'a tag such as im',
      description: 'When set, mail to `user+<tag>@<domain>` reaches the user as a chat message.',
    },
    archive_addresses: {
      type: 'array',
      items: mailAddress,
      default: [],
      description: 'Addresses that receive every conversation of the host\'s users as email digests.',
    },
    archive_interval: { type: 'integer', minimum: 10, default: 900, description: 'Seconds of a conversation collected into one archive email.' },
    web_client_url: { type: 'string', pattern: '^https?://\\S+$', patternHint: 'a URL', description: 'Link to the web client in notification emails. Default: the hub\'s `/chat/` page.' },
    timezone: { type: 'string', minLength: 1, default: 'UTC', description: 'IANA time zone of the times shown in emails, e.g. `Europe/Bucharest`.' },
    snippet_length: { type: 'integer', minimum: 20, maximum: 1000, default: 160, description: 'Characters of a mail\'s text shown in its arrival notification.' },
  },
} as const;
