// The SMTP gateway: offline chats become emails (the "email" notification channel), with a
// reply address that turns replies into chats; mail that the MTA copies to the hub becomes
// "mail arrived" headlines; conversations can be archived by email. Outbound mail goes
// through the durable queue to the relay; inbound mail comes over SMTP or LMTP. The gateway
// owns each host's mail domain (`mail.<domain>`), the JID its headlines come from.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config, HostConfig } from '../../src/config/schema.js';
import type { Gateway, GatewayHost, GatewayStatus } from '../../src/core/gateway.js';
import type { Jid } from '../../src/core/jid.js';
import type { NotificationChannel, OfflineNotification } from '../../src/core/offline-notifications.js';
import { errorReply, type Signal } from '../../src/core/signal.js';
import { ConversationArchive } from './archive.js';
import { digestMail, identityOf, type MailIdentity } from './compose.js';
import { InboundMailServer } from './inbound-server.js';
import { InboundRoutes } from './inbound-routes.js';
import { Relay, SMTP_DESTINATION } from './relay.js';
import { ReplyAddresses } from './reply-address.js';
import { userMailAddress } from './user-mail.js';

interface MailHost {
  config: HostConfig;
  identity: MailIdentity;
}

export class SmtpGateway implements Gateway {
  readonly name = 'smtp';
  readonly domains: readonly string[];
  private readonly hosts = new Map<string, MailHost>();
  private hub: GatewayHost | undefined;
  private replies: ReplyAddresses | undefined;
  private relay: Relay | undefined;
  private archive: ConversationArchive | undefined;
  private inbound: InboundMailServer | undefined;

  constructor(private readonly config: Config) {
    for (const host of config.hosts) {
      this.hosts.set(host.domain, { config: host, identity: identityOf(host.domain, host.mail, webClientUrl(config, host.domain)) });
      checkTimeZone(host);
    }
    this.domains = [...this.hosts.values()].map((h) => h.identity.mailDomain);
  }

  /** The inbound listener's addresses (port 0 in tests), once started. */
  get inboundAddresses(): Array<{ address: string; port: number }> {
    return this.inbound?.addresses ?? [];
  }

  /** Mails handed to the relay; mails received, unreadable and refused (this process). */
  get stats(): { sent: number; received: number; rejected: number; unreadable: number } {
    return { sent: this.relay?.sent ?? 0, ...(this.inbound?.stats ?? { received: 0, rejected: 0, unreadable: 0 }) };
  }

  status(): GatewayStatus {
    const { relay, inbound } = this.config.smtp!;
    const stats = this.stats;
    return {
      summary: `relay ${relay.host}:${relay.port}, ${stats.sent} mails sent; ${stats.received} received (${stats.unreadable} unreadable), ${stats.rejected} refused`,
      listeners: this.inboundAddresses.map((bound) => ({ ...bound, kind: inbound.protocol.toUpperCase() })),
    };
  }

  async start(hub: GatewayHost): Promise<void> {
    const smtp = this.config.smtp!;
    this.hub = hub;
    this.replies = new ReplyAddresses(await loadSecret(smtp.secret_file), hub.store.kv);
    this.relay = new Relay(smtp, hub.log);
    this.relay.start(hub.queue);
    hub.offerChannel(this.emailChannel);
    const hosts = [...this.hosts.values()];
    this.archive = new ConversationArchive(hosts.map((h) => ({
      domain: h.config.domain, identity: h.identity, addresses: h.config.mail.archive_addresses, intervalMs: h.config.mail.archive_interval * 1000,
    })), hub);
    this.archive.start();
    const { inbound } = smtp;
    if (inbound.port === null) return;
    const routes = new InboundRoutes(hosts.map((h) => ({ config: h.config, mailDomain: h.identity.mailDomain })), this.replies, hub);
    this.inbound = new InboundMailServer({
      interfaces: inbound.interfaces,
      port: inbound.port,
      protocol: inbound.protocol,
      maxSize: inbound.max_size,
      hostname: inbound.hostname ?? this.domains[0]!,
      tls: { context: (servername) => hub.tlsContext(servername) },
      log: hub.log.child({ listener: inbound.protocol }),
      checkRecipient: (address) => routes.checkRecipient(address),
      deliver: (mail, recipients) => routes.deliver(mail, recipients),
    });
    await this.inbound.start();
  }

  async stop(): Promise<void> {
    await this.inbound?.stop();
    await this.archive?.stop();
    this.relay?.stop();
    this.hub = undefined;
  }

  /** The mail domains are not chat partners: requests to them get service-unavailable. */
  deliver(signal: Signal): void {
    if (!this.hub || signal.isError) return;
    const { type } = signal.content;
    if (signal.kind === 'MESSAGE' || (signal.kind === 'INFO' && (type === 'get' || type === 'set'))) {
      this.hub.emit(errorReply(signal, { type: 'cancel', condition: 'service-unavailable', text: 'This address announces mail; it does not take messages.' }));
    }
  }

  private readonly emailChannel: NotificationChannel = {
    name: 'email',
    notify: (notification) => this.notify(notification),
  };

  private async notify(notification: OfflineNotification): Promise<void> {
    const hub = this.hub!;
    const host = this.hosts.get(notification.user.domain);
    if (!host) return;
    const to = await userMailAddress(hub, notification.user);
    if (!to) {
      hub.log.warn({ user: notification.user.bareString }, 'email notification skipped: the user has no mail address');
      return;
    }
    const { user, peer } = notification;
    const replies = this.replies!;
    const replyTo = host.config.mail.reply_by_email ? await replies.address(host.identity.mailDomain, user, peer) : undefined;
    const mail = digestMail(host.identity, {
      notification, to, peerName: await this.nameOf(user, peer), conversation: replies.token(user, peer), ...(replyTo ? { replyTo } : {}),
    });
    await hub.queue.add(SMTP_DESTINATION, `notify ${notification.id}`, mail);
  }

  /** How the user knows the contact: the roster name, else the directory's name, else the address. */
  private async nameOf(user: Jid, peer: Jid): Promise<string> {
    const hub = this.hub!;
    const { items } = await hub.store.rosters.get(user.domain, user.local);
    const named = items.find((item) => item.jid === peer.bareString)?.name;
    if (named) return named;
    if (peer.local && this.hosts.has(peer.domain)) {
      const attributes = await hub.directory.userAttributes(peer.domain, peer.local).catch(() => null);
      if (attributes?.displayName) return attributes.displayName;
    }
    return peer.local ?? peer.bareString;
  }
}

/** The web client's address as the hub serves it, for links in emails. */
function webClientUrl(config: Config, domain: string): string | undefined {
  const { http } = config;
  if (!http.web_client.enabled) return undefined;
  if (http.tls_port !== null) return `https://${domain}${http.tls_port === 443 ? '' : `:${http.tls_port}`}/chat/`;
  if (http.port !== null) return `http://${domain}${http.port === 80 ? '' : `:${http.port}`}/chat/`;
  return undefined;
}

function checkTimeZone(host: HostConfig): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: host.mail.timezone });
  } catch {
    throw new Error(`hosts[${host.domain}].mail.timezone: "${host.mail.timezone}" is not an IANA time zone such as Europe/Bucharest`);
  }
}

/** The reply-address key: read, or made once and kept (mode 0600). */
async function loadSecret(path: string): Promise<Buffer> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (text.length >= 32) return Buffer.from(text);
    throw new Error(`${path}: the SMTP gateway's secret is shorter than 32 characters`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('hex');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return Buffer.from((await readFile(path, 'utf8')).trim());
}
