// The composition root: builds the store, directory, router, XMPP service and gateways
// from a loaded configuration, and starts and stops them in order.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { HostDirectories } from '../directory/hosts.js';
import { DirectoryRefresh, type OnlineUsers } from '../directory/ldap/refresh.js';
import { LoginTokens } from '../directory/login-tokens.js';
import { sharedGroupsOf, type SharedGroups } from '../directory/shared-groups.js';
import { SmsGateway } from '../../gateways/sms/index.js';
import { SmtpGateway } from '../../gateways/smtp/index.js';
import { createQueue } from '../queue/index.js';
import type { DeliveryQueue } from '../queue/port.js';
import type { Store } from '../store/ports.js';
import { SqliteStore } from '../store/sqlite.js';
import { WebServer } from '../http/web-server.js';
import { C2sListener, TlsContexts, type HostCertificate } from '../xmpp/c2s/tcp.js';
import { defaultModules } from '../xmpp/modules/index.js';
import { connectNotifier } from '../xmpp/notification-events.js';
import { XmppServer } from '../xmpp/server.js';
import type { Gateway } from './gateway.js';
import { Jid } from './jid.js';
import type { Logger } from './log.js';
import { OfflineNotifier } from './offline-notifications.js';
import { Router } from './router.js';

/** How gateways are named in disco#items. */
const GATEWAY_NAMES: Record<string, string> = { smtp: 'Mail', sms: 'SMS' };

export interface HubOptions {
  config: Config;
  log: Logger;
  certificates: Map<string, HostCertificate>;
  /** Gateways besides those the configuration enables (tests, the echo gateway). */
  gateways?: Gateway[];
}

export class Hub {
  readonly router: Router;
  readonly store: Store;
  readonly directory: HostDirectories;
  readonly tokens: LoginTokens;
  readonly xmpp: XmppServer;
  readonly c2s: C2sListener;
  readonly web: WebServer;
  readonly queue: DeliveryQueue;
  readonly notifier: OfflineNotifier;
  readonly gateways: Gateway[];
  private readonly tlsContexts: TlsContexts;
  private groups: SharedGroups | undefined;
  private readonly refresh: DirectoryRefresh;
  private started = false;

  constructor(private readonly options: HubOptions) {
    const { config, log } = options;
    this.store = new SqliteStore(config.storage.path);
    this.directory = HostDirectories.create(config, this.store.accounts, log);
    this.router = new Router(log.child({ component: 'router' }));
    this.tokens = new LoginTokens(config.http.sso.token_ttl);
    this.xmpp = new XmppServer({ config, log: log.child({ component: 'xmpp' }), store: this.store, directory: this.directory, router: this.router, tokens: this.tokens });
    const tlsContexts = (this.tlsContexts = new TlsContexts(options.certificates, config.hosts[0]!.domain));
    this.c2s = new C2sListener(this.xmpp, config.c2s, tlsContexts, log.child({ component: 'c2s' }));
    this.web = new WebServer({ config, xmpp: this.xmpp, tokens: this.tokens, tlsContexts, log: log.child({ component: 'http' }) });
    this.queue = createQueue(config.queue, { path: join(config.data_dir, 'queue.sqlite'), log: log.child({ component: 'queue' }) });
    this.notifier = new OfflineNotifier({
      hostConfig: (domain) => this.xmpp.hostConfig(domain),
      store: this.store,
      queue: this.queue,
      log: log.child({ component: 'notify' }),
      isOnline: (user) => this.xmpp.sessions.highestPriority(user).length > 0,
    });
    this.gateways = [
      ...(options.gateways ?? []),
      ...(config.smtp ? [new SmtpGateway(config)] : []),
      ...(config.sms ? [new SmsGateway(config)] : []),
    ];
    this.refresh = new DirectoryRefresh(this.directory.ldapHosts(), onlineUsers(this.xmpp),
      (config.ldap?.refresh_interval ?? 0) * 1000, log.child({ component: 'ldap' }));
  }

  /** Shared roster groups as the gateways see them (read when first asked). */
  private sharedGroups(): SharedGroups {
    return (this.groups ??= sharedGroupsOf(this.config, this.directory, this.store.kv, this.options.log.child({ component: 'groups' })));
  }

  get config(): Config {
    return this.options.config;
  }

  async start(): Promise<void> {
    const { log } = this.options;
    for (const module of defaultModules) await this.xmpp.use(module);
    connectNotifier(this.xmpp, this.notifier);
    for (const gateway of this.gateways) {
      for (const domain of gateway.domains) {
        this.router.register(domain, gateway);
        const host = this.config.hosts.find((h) => domain.endsWith(`.${h.domain}`));
        if (host) this.xmpp.addService(host.domain, domain, GATEWAY_NAMES[gateway.name] ?? gateway.name);
      }
      await gateway.start({
        emit: (signal) => this.router.route(signal),
        log: log.child({ gateway: gateway.name }),
        config: this.config,
        directory: this.directory,
        store: this.store,
        queue: this.queue,
        offerChannel: (channel) => this.notifier.offer(channel),
        observeMessages: (observer) => this.router.observeMessages(observer),
        isGroupMember: async (user, group) => (await this.sharedGroups().membership()).isMember(user.bareString, group),
        tlsContext: (servername) => this.tlsContexts.context(servername ?? this.tlsContexts.defaultDomain)!,
      });
    }
    this.notifier.start();
    await this.c2s.start();
    await this.web.start();
    this.xmpp.startSweeper();
    this.refresh.start();
    this.started = true;
    log.info({ hosts: this.config.hosts.map((h) => h.domain) }, 'Switchboard is running');
  }

  /** Closes every stream with <system-shutdown/>, stops gateways and flushes the store. */
  async stop(): Promise<void> {
    if (!this.started) {
      await this.queue.close();
      await this.directory.close();
      return this.store.close();
    }
    this.started = false;
    await this.refresh.stop();
    this.xmpp.stop();
    await this.c2s.stop();
    await this.web.stop();
    for (const gateway of this.gateways) {
      await gateway.stop();
      for (const domain of gateway.domains) this.router.unregister(domain);
    }
    await this.queue.close();
    await this.directory.close();
    await this.store.close();
    this.options.log.info('Switchboard stopped');
  }
}

/** The sessions as the directory refresh sees them. */
function onlineUsers(xmpp: XmppServer): OnlineUsers {
  return {
    usernames(host) {
      const names = new Set<string>();
      for (const session of xmpp.sessions.all()) if (session.host === host) names.add(session.username);
      return [...names];
    },
    disconnect(host, username) {
      const sessions = [...xmpp.sessions.resources(Jid.parse(`${username}@${host}`))];
      for (const session of sessions) session.close('not-authorized', 'the account was removed or disabled in the directory');
      return sessions.length;
    },
  };
}
