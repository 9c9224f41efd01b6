// What inbound mail means, by recipient: a copy of a user's mail (`user@<mail domain>` or
// `user@<domain>`) becomes a "mail arrived" headline if the user's rule allows it; a reply
// to a notification (`reply-<token>@<mail domain>`) becomes a chat from the user to the
// contact; `user+<tag>@<domain>` (when configured) becomes a chat to the user. Anything else
// is refused at RCPT with 550: the gateway never relays.
import type { HostConfig } from '../../src/config/schema.js';
import type { GatewayHost } from '../../src/core/gateway.js';
import { Jid, JidError } from '../../src/core/jid.js';
import { effectivePrefs, readPrefs, senderListed } from '../../src/core/notification-prefs.js';
import { Signal } from '../../src/core/signal.js';
import type { DeliveryVerdict, InboundMail, RecipientVerdict } from './inbound-server.js';
import { safeLine, snippet } from './mail-summary.js';
import { replyText } from './reply-text.js';
import type { ReplyAddresses } from './reply-address.js';
import { userMailAddress } from './user-mail.js';

type Route =
  | { kind: 'arrival'; user: Jid; host: HostConfig; mailDomain: string }
  | { kind: 'reply'; user: Jid; peer: Jid; host: HostConfig }
  | { kind: 'plus'; user: Jid; host: HostConfig; mailDomain: string };

/** The per-host facts routing needs. */
export interface RoutedHost {
  config: HostConfig;
  mailDomain: string;
}

const MAX_CHAT_LENGTH = 10_000;
/** How long a route accepted at RCPT is reused for the message's DATA. */
const REMEMBER_MS = 60_000;
const MAX_REMEMBERED = 10_000;

const UNKNOWN: RecipientVerdict = { accept: false, code: 550, message: 'No such user here' };
const OK: DeliveryVerdict = { ok: true };

export class InboundRoutes {
  /** Hosts by XMPP domain and by mail domain. */
  private readonly byDomain = new Map<string, RoutedHost>();
  private readonly byMailDomain = new Map<string, RoutedHost>();
  private readonly accepted = new Map<string, { route: Route; at: number }>();

  constructor(hosts: RoutedHost[], private readonly replies: ReplyAddresses, private readonly hub: GatewayHost) {
    for (const host of hosts) {
      this.byDomain.set(host.config.domain, host);
      this.byMailDomain.set(host.mailDomain, host);
    }
  }

  async checkRecipient(address: string): Promise<RecipientVerdict> {
    const route = await this.route(address);
    if (route) this.remember(address, route);
    return route ? { accept: true } : UNKNOWN;
  }

  async deliver(mail: InboundMail, recipients: string[]): Promise<DeliveryVerdict[]> {
    const verdicts: DeliveryVerdict[] = [];
    for (const recipient of recipients) {
      const route = this.recalled(recipient) ?? await this.route(recipient);
      verdicts.push(route ? await this.handle(route, mail) : { ok: false, code: 550, message: 'No such user here' });
    }
    return verdicts;
  }

  /** Routes accepted at RCPT, reused for the DATA that follows (no second directory lookup). */
  private remember(address: string, route: Route): void {
    if (this.accepted.size >= MAX_REMEMBERED) this.accepted.delete(this.accepted.keys().next().value!);
    this.accepted.set(address, { route, at: Date.now() });
  }

  private recalled(address: string): Route | undefined {
    const entry = this.accepted.get(address);
    this.accepted.delete(address);
    return entry && Date.now() - entry.at < REMEMBER_MS ? entry.route : undefined;
  }

  private async route(address: string): Promise<Route | undefined> {
    const at = address.lastIndexOf('@');
    if (at <= 0) return undefined;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    const viaMail = this.byMailDomain.get(domain);
    if (viaMail) {
      const target = await this.replies.resolve(local, domain);
      if (target) return { kind: 'reply', user: Jid.parse(target.user), peer: Jid.parse(target.peer), host: viaMail.config };
      const user = await this.existingUser(local, viaMail.config.domain);
      return user && { kind: 'arrival', user, host: viaMail.config, mailDomain: viaMail.mailDomain };
    }
    const host = this.byDomain.get(domain);
    if (!host) return undefined;
    const tag = host.config.mail.plus_tag;
    const plus = local.lastIndexOf('+');
    if (tag && plus > 0 && local.slice(plus + 1).toLowerCase() === tag.toLowerCase()) {
      const user = await this.existingUser(local.slice(0, plus), domain);
      return user && { kind: 'plus', user, host: host.config, mailDomain: host.mailDomain };
    }
    const user = await this.existingUser(local, domain);
    return user && { kind: 'arrival', user, host: host.config, mailDomain: host.mailDomain };
  }

  private async existingUser(local: string, domain: string): Promise<Jid | undefined> {
    if (/[/"\s]/.test(local)) return undefined;
    let user: Jid;
    try {
      user = Jid.parse(`${local}@${domain}`);
    } catch (err) {
      if (err instanceof JidError) return undefined;
      throw err;
    }
    return (await this.hub.directory.userExists(domain, user.local)) ? user : undefined;
  }

  private async handle(route: Route, mail: InboundMail): Promise<DeliveryVerdict> {
    switch (route.kind) {
      case 'arrival': return this.announce(route.user, route.host, route.mailDomain, mail);
      case 'reply': return this.reply(route.user, route.peer, mail);
      case 'plus': return this.forward(route.user, route.mailDomain, mail);
    }
  }

  /** A headline to the user's online resources; offline users get nothing (headlines are not stored). */
  private async announce(user: Jid, host: HostConfig, mailDomain: string, mail: InboundMail): Promise<DeliveryVerdict> {
    const sender = mail.from?.address ?? mail.envelopeFrom;
    if (!(await this.wanted(user, host, sender))) return OK;
    const from = mail.from ? `${safeLine(mail.from.name, 80)} <${safeLine(mail.from.address, 254)}>`.trim() : safeLine(mail.envelopeFrom || 'unknown sender', 254);
    const lines = [`New mail from ${from}`];
    if (mail.unreadable) {
      lines.push('(unreadable message: it could not be decoded)');
    } else {
      lines.push(`Subject: ${safeLine(mail.subject, 200) || '(no subject)'}`);
      const text = snippet(mail.text, host.mail.snippet_length);
      if (text) lines.push('', text);
    }
    this.hub.emit(new Signal('MESSAGE', Jid.parse(mailDomain), user, { type: 'headline', subject: 'New mail', body: lines.join('\n') }));
    return OK;
  }

  private async wanted(user: Jid, host: HostConfig, sender: string): Promise<boolean> {
    const prefs = effectivePrefs(await readPrefs(this.hub.store.kv, user.domain, user.local), host.notifications);
    switch (prefs.mailArrival) {
      case 'none': return false;
      case 'all': return true;
      case 'listed': return senderListed(sender, prefs.mailSenders);
      case 'contacts': return this.isContact(user, sender);
    }
  }

  /** A roster contact whose JID is the sender's address, or a local contact whose directory mail is. */
  private async isContact(user: Jid, sender: string): Promise<boolean> {
    const address = sender.toLowerCase();
    const { items } = await this.hub.store.rosters.get(user.domain, user.local);
    if (items.some((item) => item.jid.toLowerCase() === address)) return true;
    for (const item of items) {
      const contact = Jid.parse(item.jid);
      if (!contact.local || !this.byDomain.has(contact.domain)) continue;
      const attributes = await this.hub.directory.userAttributes(contact.domain, contact.local);
      if (attributes?.mail?.toLowerCase() === address) return true;
    }
    return false;
  }

  /** A reply to a notification: accepted only from the address the notifications go to. */
  private async reply(user: Jid, peer: Jid, mail: InboundMail): Promise<DeliveryVerdict> {
    if (mail.autoSubmitted) {
      this.hub.log.info({ user: user.bareString }, 'automatic reply to a notification ignored');
      return OK;
    }
    // Both the envelope and the From header must be the user's: either alone is easy to forge.
    const expected = (await userMailAddress(this.hub, user))?.toLowerCase();
    const fromUser = expected !== undefined && mail.from?.address.toLowerCase() === expected && mail.envelopeFrom.toLowerCase() === expected;
    if (!fromUser) {
      this.hub.log.warn({ user: user.bareString, from: mail.from?.address, envelope: mail.envelopeFrom }, 'reply by email refused: not from the user\'s address');
      return { ok: false, code: 550, message: 'Replies are accepted only from the address the notification was sent to' };
    }
    const body = replyText(mail.text).slice(0, MAX_CHAT_LENGTH);
    if (mail.unreadable || !body) {
      this.hub.log.info({ user: user.bareString }, 'reply by email had no readable new text');
      return OK;
    }
    this.hub.emit(new Signal('MESSAGE', user, peer, { type: 'chat', body }));
    this.hub.log.info({ user: user.bareString, peer: peer.bareString }, 'reply by email sent as a chat');
    return OK;
  }

  /** Mail to `user+tag@domain`: a chat to the user from the sender's address under the mail domain. */
  private async forward(user: Jid, mailDomain: string, mail: InboundMail): Promise<DeliveryVerdict> {
    const address = mail.from?.address ?? mail.envelopeFrom;
    let from: Jid;
    try {
      from = Jid.parse(`${escapeNode(address.toLowerCase())}@${mailDomain}`);
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      from = Jid.parse(mailDomain);
    }
    const subject = safeLine(mail.subject, 200);
    const text = mail.unreadable ? '(unreadable message: it could not be decoded)' : mail.text.trim().slice(0, MAX_CHAT_LENGTH);
    const body = subject ? `${subject}\n\n${text}` : text;
    if (body) this.hub.emit(new Signal('MESSAGE', from, user, { type: 'chat', body, ...(subject ? { subject } : {}) }));
    return OK;
  }

}

/** XEP-0106 JID escaping of a mail address's characters that a localpart cannot hold. */
function escapeNode(address: string): string {
  return address.replace(/[\\ "&'/:<>@]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
