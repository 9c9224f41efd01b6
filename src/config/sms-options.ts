// Options of the SMS gateway (SMPP), declared like every other option (schema.ts imports them).
import { retrySection, type RetryConfig } from './retry-options.js';

export interface SmsConfig {
  smsc: SmscConfig[];
  window: number;
  throughput: number;
  enquire_link: number;
  response_timeout: number;
  reconnect: { min_delay: number; max_delay: number };
  concatenation: 'udh' | 'sar' | 'payload';
  registered_delivery: boolean;
  retry: RetryConfig;
}

export interface SmscConfig {
  host: string;
  port: number;
  system_id: string;
  password: string;
  system_type: string;
  bind: 'transceiver' | 'transmitter_receiver';
}

export interface HostSmsConfig {
  domain?: string;
  default_country?: string;
  sender?: string;
  send_allowed: 'all' | 'group' | 'none';
  send_group?: string;
  user_rate: number;
  user_daily_cap: number;
  domain_daily_cap: number;
  notification_daily_cap: number;
  allow_prefixes: string[];
  deny_prefixes: string[];
  presence_status: string;
  numbers: string[];
  keywords: Array<{ keyword: string; user: string }>;
  reply_window: number;
  help_text: string;
}

const e164Prefix = {
  type: 'string',
  pattern: '^\\+[0-9]{1,15}$',
  patternHint: 'a number prefix such as +1900',
  description: 'E.164 prefix.',
} as const;

export const smsSection = {
  type: 'object',
  description: 'The SMS gateway (docs/sms.md): chats with phone numbers over SMPP 3.4, offline chats as SMS. Absent: no SMS gateway.',
  required: ['smsc'],
  properties: {
    smsc: {
      type: 'array',
      minItems: 1,
      description: 'The SMSC connections, tried in order: the next one when a connection or bind fails (failover).',
      items: {
        type: 'object',
        description: 'An SMSC.',
        required: ['host', 'system_id'],
        properties: {
          host: { type: 'string', minLength: 1, description: 'Host name or address of the SMSC.' },
          port: { type: 'integer', minimum: 1, maximum: 65535, default: 2775, description: 'SMPP port.' },
          system_id: { type: 'string', minLength: 1, description: 'The ESME\'s system_id at the SMSC.' },
          password: { type: 'string', default: '', description: 'Bind password (better from the environment).' },
          system_type: { type: 'string', default: '', description: 'system_type sent in the bind, when the SMSC wants one.' },
          bind: {
            type: 'string',
            enum: ['transceiver', 'transmitter_receiver'],
            default: 'transceiver',
            description: '`transceiver`: one bind_transceiver; `transmitter_receiver`: a bind_transmitter and a bind_receiver.',
          },
        },
      },
    },
    window: { type: 'integer', minimum: 1, default: 10, description: 'submit_sm sent without an answer yet, at most (the SMSC\'s window).' },
    throughput: { type: 'number', minimum: 0, default: 50, description: 'Most submit_sm per second; 0 for no limit.' },
    enquire_link: { type: 'integer', minimum: 1, default: 30, description: 'Seconds between enquire_link keepalives on an idle link.' },
    response_timeout: { type: 'integer', minimum: 1, default: 30, description: 'Seconds to wait for an SMSC answer before the link counts as dead.' },
    reconnect: {
      type: 'object',
      description: 'Backoff between connection attempts after a failure.',
      properties: {
        min_delay: { type: 'number', exclusiveMinimum: 0, default: 1, description: 'Seconds before the first new attempt; doubled per failure.' },
        max_delay: { type: 'number', exclusiveMinimum: 0, default: 60, description: 'Longest delay between attempts, in seconds.' },
      },
    },
    concatenation: {
      type: 'string',
      enum: ['udh', 'sar', 'payload'],
      default: 'udh',
      description: 'How long texts are split: `udh` (concatenation header), `sar` (SAR TLVs) or `payload` (one message_payload TLV).',
    },
    registered_delivery: { type: 'boolean', default: true, description: 'Ask the SMSC for delivery receipts (they become XEP-0184 receipts).' },
    retry: retrySection('SMS the SMSC did not take (down, throttling)', 'an SMS', { attempts: 10, initial_delay: 5, max_delay: 600 }),
  },
} as const;

export const hostSmsSection = {
  type: 'object',
  description: 'How the SMS gateway serves this host.',
  properties: {
    domain: {
      type: 'string',
      pattern: '^[\\p{L}\\p{N}-]+(\\.[\\p{L}\\p{N}-]+)+$',
      patternHint: 'a domain name such as sms.example.org',
      description: 'The gateway\'s domain: phone numbers are `+40723555666@<domain>`. Default `sms.<domain>`.',
    },
    default_country: {
      type: 'string',
      pattern: '^[A-Z]{2}$',
      patternHint: 'an ISO 3166 country code such as RO',
      description: 'Country of numbers written without a country code (`0723 555 666`). Absent: numbers must start with `+`.',
    },
    sender: {
      type: 'string',
      pattern: '^(\\+?[0-9]{3,15}|[A-Za-z0-9 ]{1,11})$',
      patternHint: 'a number such as +40700000001, a short code, or an alphanumeric id of at most 11 characters',
      description: 'Source address of the host\'s SMS: a number, a short code or an alphanumeric sender id. Absent: users cannot send SMS.',
    },
    send_allowed: {
      type: 'string',
      enum: ['all', 'group', 'none'],
      default: 'all',
      description: 'Who may send SMS: every user, the members of `send_group`, or nobody (offline notifications are still sent).',
    },
    send_group: { type: 'string', minLength: 1, description: 'Shared roster group whose members may send SMS with `send_allowed: group`.' },
    user_rate: { type: 'integer', minimum: 1, default: 10, description: 'SMS a user may send per minute.' },
    user_daily_cap: { type: 'integer', minimum: 0, default: 100, description: 'SMS a user may send per day (UTC).' },
    domain_daily_cap: { type: 'integer', minimum: 0, default: 10000, description: 'SMS the whole host may send per day (UTC).' },
    notification_daily_cap: { type: 'integer', minimum: 0, default: 10, description: 'Offline notifications by SMS a user gets per day (UTC).' },
    allow_prefixes: {
      type: 'array',
      items: e164Prefix,
      default: [],
      description: 'Destinations allowed (E.164 prefixes such as `+40`); empty: every destination not denied.',
    },
    deny_prefixes: {
      type: 'array',
      items: e164Prefix,
      default: [],
      description: 'Destinations refused, e.g. premium-rate prefixes such as `+1900`.',
    },
    presence_status: { type: 'string', default: 'SMS', description: 'Status text phone contacts show (they are always available).' },
    numbers: {
      type: 'array',
      items: { type: 'string', pattern: '^\\+?[0-9]{3,15}$', patternHint: 'a number or short code', description: 'Number.' },
      default: [],
      description: 'Numbers and short codes on which the host receives SMS (the SMSC\'s destination_addr); the sender number is always one.',
    },
    keywords: {
      type: 'array',
      default: [],
      description: 'Inbound SMS starting with a keyword go to a user (when the sender has no recent conversation).',
      items: {
        type: 'object',
        description: 'A keyword route.',
        required: ['keyword', 'user'],
        properties: {
          keyword: { type: 'string', pattern: '^\\S+$', patternHint: 'one word', description: 'First word of the SMS (case-insensitive; removed).' },
          user: { type: 'string', minLength: 1, description: 'Username of the host who gets these SMS.' },
        },
      },
    },
    reply_window: { type: 'integer', minimum: 60, default: 604800, description: 'Seconds after a user\'s last SMS to a number during which that number\'s SMS go back to the user.' },
    help_text: {
      type: 'string',
      default: 'This number forwards replies to chat users. Your message could not be delivered: nobody wrote to you from here recently.',
      description: 'Answer to an SMS that cannot be routed to a user; empty: no answer.',
    },
  },
} as const;
