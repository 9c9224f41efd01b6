// Mails the gateway writes: the digest of chats a user missed while offline, and archive
// digests of conversations. Text and HTML parts, UTF-8, times in the host's time zone, and
// X-IM-* headers plus a per-conversation References root so mail clients filter and thread.
import { createHash } from 'node:crypto';
import type { HostMailConfig } from '../../src/config/schema.js';
import type { OfflineNotification } from '../../src/core/offline-notifications.js';
import { safeLine } from './mail-summary.js';
import type { OutboundMail } from './relay.js';

/** Where and how a host's mails are written (its configuration with defaults resolved). */
export interface MailIdentity {
  /** The gateway's domain: Message-IDs, reply addresses. */
  mailDomain: string;
  from: string;
  senderSuffix: string;
  timezone: string;
  webClientUrl?: string;
}

export interface DigestInput {
  notification: OfflineNotification;
  to: string;
  peerName: string;
  /** Reply address of the conversation, when replies by email are on. */
  replyTo?: string;
  /** The conversation's token (threads its emails). */
  conversation: string;
}

export function identityOf(domain: string, mail: HostMailConfig, webClientUrl: string | undefined): MailIdentity {
  const url = mail.web_client_url ?? webClientUrl;
  return {
    mailDomain: mail.domain ?? `mail.${domain}`,
    from: mail.from ?? `im-notify@${domain}`,
    senderSuffix: mail.sender_suffix,
    timezone: mail.timezone,
    ...(url ? { webClientUrl: url } : {}),
  };
}

/** The email telling a user what a contact wrote while the user was offline. */
export function digestMail(identity: MailIdentity, input: DigestInput): OutboundMail {
  const { notification, peerName } = input;
  const name = safeLine(peerName, 64);
  const count = notification.messages.length + notification.more;
  const peer = notification.peer.bareString;
  const when = timeFormat(identity.timezone);
  const lines = notification.messages.map((m) => ({ time: when.format(m.stamp), body: m.body }));
  const more = notification.more > 0 ? `(${notification.more} more ${notification.more === 1 ? 'message' : 'messages'} in your chat client)` : '';
  const answer = input.replyTo ? `Reply to this email to answer ${name}` : `Answer ${name} in your chat client`;
  const link = identity.webClientUrl ? `, or open the chat: ${identity.webClientUrl}` : '.';
  const footer = `You get this email because ${notification.user.bareString} was offline. Turn these emails off with the "Notification settings" command of your chat client.`;

  const text = [
    `${name} (${peer}) wrote to you while you were offline:`,
    '',
    ...lines.map((l) => `[${l.time}] ${indent(l.body)}`),
    ...(more ? ['', more] : []),
    '',
    `${answer}${link}`,
    '',
    '-- ',
    footer,
    '',
  ].join('\n');

  const html = page([
    `<p>${escape(name)} (${escape(peer)}) wrote to you while you were offline:</p>`,
    '<table role="presentation" cellpadding="4">',
    ...lines.map((l) => `<tr><td style="color:#666;white-space:nowrap;vertical-align:top">${escape(l.time)}</td><td dir="auto" style="white-space:pre-wrap">${escape(l.body)}</td></tr>`),
    '</table>',
    ...(more ? [`<p>${escape(more)}</p>`] : []),
    `<p>${escape(answer)}${identity.webClientUrl ? `, or <a href="${escape(identity.webClientUrl)}">open the chat</a>.` : '.'}</p>`,
    `<p style="color:#666;font-size:small">${escape(footer)}</p>`,
  ]);

  return {
    from: { name: `${name} ${identity.senderSuffix}`.trim(), address: identity.from },
    to: [input.to],
    ...(input.replyTo ? { replyTo: input.replyTo } : {}),
    subject: count === 1 ? `Message from ${name}` : `${count} messages from ${name}`,
    text,
    html,
    messageId: `${digestOf(`notify ${notification.id}`)}@${identity.mailDomain}`,
    references: [`conversation.${input.conversation}@${identity.mailDomain}`],
    headers: {
      'X-IM-From': peer,
      'X-IM-To': notification.user.bareString,
      'X-IM-Thread': notification.messages.find((m) => m.thread)?.thread ?? input.conversation,
      'Auto-Submitted': 'auto-generated',
    },
  };
}

export interface ArchivedMessage {
  from: string;
  to: string;
  body: string;
  stamp: number;
}

/** A conversation's transcript for the host's archive addresses. */
export function archiveMail(identity: MailIdentity, to: string[], participants: [string, string], messages: ArchivedMessage[], id: string): OutboundMail {
  const when = timeFormat(identity.timezone);
  const first = messages[0]!;
  const title = `IM conversation: ${participants[0]} and ${participants[1]}, ${when.format(first.stamp)}`;
  const text = [title, '', ...messages.map((m) => `[${when.format(m.stamp)}] ${m.from}: ${indent(m.body)}`), ''].join('\n');
  const html = page([
    `<p>${escape(title)}</p>`,
    '<table role="presentation" cellpadding="4">',
    ...messages.map((m) => `<tr><td style="color:#666;white-space:nowrap;vertical-align:top">${escape(when.format(m.stamp))}</td><td style="vertical-align:top">${escape(m.from)}</td><td dir="auto" style="white-space:pre-wrap">${escape(m.body)}</td></tr>`),
    '</table>',
  ]);
  const conversation = digestOf(`${participants[0]}\n${participants[1]}`);
  return {
    from: { name: 'IM archive', address: identity.from },
    to,
    subject: title,
    text,
    html,
    messageId: `${digestOf(`archive ${id}`)}@${identity.mailDomain}`,
    references: [`archive.${conversation}@${identity.mailDomain}`],
    headers: {
      'X-IM-From': participants[0],
      'X-IM-To': participants[1],
      'X-IM-Thread': conversation,
      'Auto-Submitted': 'auto-generated',
    },
  };
}

function timeFormat(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
}

/** Continuation lines of a multi-line message, indented under its first line. */
function indent(body: string): string {
  return body.replace(/\r?\n/g, '\n    ');
}

function page(body: string[]): string {
  return ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">', ...body, '</body></html>'].join('\n');
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
