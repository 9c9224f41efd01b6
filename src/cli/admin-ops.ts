// What the admin commands do. The same code serves the running hub (behind its admin socket,
// where it also closes sessions and lets the roster module push changes) and the CLI when
// the hub is stopped (directly on the store, and on the delivery queue for the queue commands).
import { join } from 'node:path';
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Hub } from '../core/hub.js';
import type { Jid } from '../core/jid.js';
import { createLogger } from '../core/log.js';
import {
  MAIL_ARRIVAL_RULES, OFFLINE_CHANNELS, effectivePrefs, isMailAddress, isPhoneNumber, isSenderEntry, readPrefs, writePrefs, type NotificationPrefs,
} from '../core/notification-prefs.js';
import { DirectoryReadOnly, DirectoryUnavailable, type Directory } from '../directory/port.js';
import { deleteStoredGroup, listStoredGroups, saveStoredGroup } from '../directory/shared-groups-stored.js';
import { createQueue } from '../queue/index.js';
import type { DeliveryQueue } from '../queue/port.js';
import type { RosterItem, Store, Subscription } from '../store/ports.js';
import type { ClientSession } from '../xmpp/c2s/session.js';
import type { SessionEvent } from '../xmpp/module.js';
import type { AdminApi, AdminCommand, ListenerInfo, NotifyInfo, SessionInfo, SharedGroupInfo } from './admin-api.js';
import { CliError } from './errors.js';
import { accountJid, hostDomain, parseJid } from './jids.js';

export interface AdminTarget {
  config: Config;
  store: Store;
  directory: Directory;
  /** The running hub, when the commands run inside it. */
  hub?: Hub;
}

export const SUBSCRIPTIONS: readonly Subscription[] = ['both', 'to', 'from', 'none'];

type Handlers = { [C in AdminCommand]: (args: Args) => Promise<AdminApi[C]['result']> };

export class AdminOps {
  private readonly boundAt = new WeakMap<ClientSession, Date>();

  /** With a hub, call this before it starts, so that every session's bind time is known. */
  constructor(private readonly target: AdminTarget) {
    target.hub?.xmpp.hooks.on('session/bound', (event) => {
      this.boundAt.set((event as SessionEvent).session, new Date());
    }, 1000);
  }

  /** Runs a command whose name and arguments come from outside (the admin socket). */
  async run(cmd: string, args: unknown): Promise<unknown> {
    if (!Object.hasOwn(this.handlers, cmd)) throw new CliError(`unknown admin command "${cmd}"`);
    return this.handlers[cmd as AdminCommand](new Args(args)).catch(directoryFailure);
  }

  call<C extends AdminCommand>(cmd: C, args: AdminApi[C]['args']): Promise<AdminApi[C]['result']> {
    return this.handlers[cmd](new Args(args)).catch(directoryFailure) as Promise<AdminApi[C]['result']>;
  }

  private readonly handlers: Handlers = {
    'user.add': async (args) => {
      const jid = this.account(args.string('jid'));
      const created = await withPassword(() => this.target.directory.createUser(jid.domain, jid.local, args.string('password')));
      if (!created) throw new CliError(`${jid} already exists`);
      return { jid: jid.toString() };
    },

    'user.delete': async (args) => {
      const jid = this.account(args.string('jid'));
      if (!(await this.target.directory.deleteUser(jid.domain, jid.local))) throw new CliError(`no such user ${jid}`);
      const sessions = [...(this.target.hub?.xmpp.sessions.resources(jid) ?? [])];
      for (const session of sessions) session.close('not-authorized', 'account deleted');
      return { jid: jid.toString(), sessionsClosed: sessions.length };
    },

    'user.passwd': async (args) => {
      const jid = this.account(args.string('jid'));
      const changed = await withPassword(() => this.target.directory.setPassword(jid.domain, jid.local, args.string('password')));
      if (!changed) throw new CliError(`no such user ${jid}`);
      return { jid: jid.toString() };
    },

    'user.list': async (args) => {
      const domain = args.optionalString('domain');
      const domains = domain === undefined ? this.target.config.hosts.map((h) => h.domain) : [hostDomain(this.target.config, domain)];
      const users: string[] = [];
      for (const d of domains) for (const user of await this.target.directory.listUsers(d)) users.push(`${user}@${d}`);
      return { users };
    },

    'roster.list': async (args) => {
      const jid = await this.existingAccount(args.string('jid'));
      return this.target.store.rosters.get(jid.domain, jid.local);
    },

    'roster.add': async (args) => {
      const jid = await this.existingAccount(args.string('jid'));
      const contact = parseJid(args.string('contact'));
      if (contact.resource) throw new CliError(`the contact must be a bare JID, without "/${contact.resource}"`);
      const subscription = args.string('subscription') as Subscription;
      if (!SUBSCRIPTIONS.includes(subscription)) {
        throw new CliError(`subscription must be one of ${SUBSCRIPTIONS.join(', ')}, not "${subscription}"`);
      }
      const name = args.optionalString('name');
      const item: RosterItem = {
        jid: contact.toString(),
        ...(name ? { name } : {}),
        subscription,
        groups: [...new Set(args.strings('groups'))],
      };
      // The roster module stores the item and pushes it to the user's online resources.
      const handled = await this.target.hub?.xmpp.hooks.fire('roster/admin-set', { user: jid, item });
      if (!handled) await this.target.store.rosters.put(jid.domain, jid.local, item);
      return { jid: jid.toString(), item };
    },

    'group.list': async (args) => {
      const domain = args.optionalString('domain');
      const hosts = this.target.config.hosts.filter((host) => domain === undefined || host.domain === hostDomain(this.target.config, domain));
      const groups: SharedGroupInfo[] = [];
      for (const host of hosts) {
        for (const group of host.shared_groups) groups.push({ domain: host.domain, ...group, source: 'configuration' });
        for (const group of await listStoredGroups(host.domain, this.target.store.kv)) groups.push({ domain: host.domain, ...group, source: 'admin' });
      }
      return { groups };
    },

    'group.set': async (args) => {
      const domain = hostDomain(this.target.config, args.string('domain'));
      const host = this.target.config.hosts.find((h) => h.domain === domain)!;
      const description = args.optionalString('description');
      const displayed = args.optionalStrings('displayed_groups');
      const group = {
        name: args.string('name'),
        members: [...new Set(args.strings('members'))],
        ...(description === undefined ? {} : { description }),
        ...(displayed === undefined ? {} : { displayed_groups: [...new Set(displayed)] }),
      };
      const created = await saveStoredGroup(host, this.target.store.kv, group).catch(configFailure);
      await this.groupsChanged();
      return { domain, name: group.name, created };
    },

    'group.delete': async (args) => {
      const domain = hostDomain(this.target.config, args.string('domain'));
      const name = args.string('name');
      if (!(await deleteStoredGroup(domain, this.target.store.kv, name))) {
        const configured = this.target.config.hosts.find((h) => h.domain === domain)!.shared_groups.some((g) => g.name === name);
        throw new CliError(configured ? `"${name}" is a group of the configuration file; remove it there` : `no group "${name}" on ${domain}`);
      }
      await this.groupsChanged();
      return { domain, name };
    },

    'notify.get': async (args) => {
      const jid = await this.existingAccount(args.string('jid'));
      return this.notifyInfo(jid);
    },

    'notify.set': async (args) => {
      const jid = await this.existingAccount(args.string('jid'));
      const { kv } = this.target.store;
      const prefs: NotificationPrefs = args.optionalBoolean('reset') ? {} : await readPrefs(kv, jid.domain, jid.local);
      const offline = args.optionalString('offline');
      if (offline !== undefined) prefs.offline = choice('offline', OFFLINE_CHANNELS, offline);
      const email = args.optionalString('email');
      if (email !== undefined) prefs.email = email === '' ? undefined : checked(email, isMailAddress, 'a mail address');
      const mobile = args.optionalString('mobile');
      if (mobile !== undefined) prefs.mobile = mobile === '' ? undefined : checked(mobile, isPhoneNumber, 'a phone number');
      const arrival = args.optionalString('mail_arrival');
      if (arrival !== undefined) prefs.mail_arrival = choice('mail_arrival', MAIL_ARRIVAL_RULES, arrival);
      const senders = args.optionalStrings('mail_senders');
      if (senders !== undefined) {
        prefs.mail_senders = senders.map((s) => s.trim()).filter((s) => s !== '').map((s) => checked(s, isSenderEntry, 'a mail address or @domain'));
      }
      await writePrefs(kv, jid.domain, jid.local, prefs);
      return this.notifyInfo(jid);
    },

    'queue.status': () => this.withQueue(async (queue) => ({ kind: queue.kind, destinations: await queue.counts() })),

    'queue.dead': (args) => this.withQueue(async (queue) => ({ jobs: await queue.deadLetters(args.optionalString('destination')) })),

    'queue.retry': (args) => this.withDeadLetter(args, (queue, destination, id) => queue.retry(destination, id)),

    'queue.discard': (args) => this.withDeadLetter(args, (queue, destination, id) => queue.discard(destination, id)),

    status: async () => {
      const { hub, config } = this.target;
      if (!hub) throw new CliError('Switchboard is not running');
      const sessions: SessionInfo[] = [];
      const domains = Object.fromEntries(config.hosts.map((h) => [h.domain, 0]));
      for (const session of hub.xmpp.sessions.all()) {
        const jid = session.jid!;
        sessions.push({
          jid: jid.toString(),
          address: session.remoteAddress,
          tls: session.secure,
          transport: session.transport,
          since: (this.boundAt.get(session) ?? new Date()).toISOString(),
        });
        domains[jid.domain] = (domains[jid.domain] ?? 0) + 1;
      }
      const gateways = hub.gateways.map((gateway) => ({
        name: gateway.name, domains: [...gateway.domains], summary: gateway.status?.().summary ?? '',
      }));
      return { sessions, domains, listeners: listeners(hub), gateways, queue: { kind: hub.queue.kind, destinations: await hub.queue.counts() } };
    },
  };

  /** The running hub applies a group change at once (roster pushes, presence). */
  private async groupsChanged(): Promise<void> {
    await this.target.hub?.xmpp.hooks.fire('shared-groups/changed', {});
  }

  private async notifyInfo(jid: Jid): Promise<NotifyInfo> {
    const stored = await readPrefs(this.target.store.kv, jid.domain, jid.local);
    const host = this.target.config.hosts.find((h) => h.domain === jid.domain)!;
    return { jid: jid.toString(), stored, effective: effectivePrefs(stored, host.notifications) };
  }

  /**
   * Runs a queue command on the running hub's queue; with the hub stopped, on the configured
   * queue opened for this command alone (the other commands never open it).
   */
  private async withQueue<T>(use: (queue: DeliveryQueue) => Promise<T>): Promise<T> {
    if (this.target.hub) return use(this.target.hub.queue);
    const { config } = this.target;
    const log = createLogger({ level: 'error', format: 'json' }, process.stderr);
    const queue = createQueue(config.queue, { path: join(config.data_dir, 'queue.sqlite'), log });
    try {
      return await use(queue);
    } finally {
      await queue.close();
    }
  }

  private withDeadLetter(
    args: Args, act: (queue: DeliveryQueue, destination: string, id: string) => Promise<boolean>,
  ): Promise<{ destination: string; id: string }> {
    const destination = args.string('destination');
    const id = args.string('id');
    return this.withQueue(async (queue) => {
      if (!(await act(queue, destination, id))) throw new CliError(`no dead letter "${id}" for ${destination}`);
      return { destination, id };
    });
  }

  private account(text: string) {
    return accountJid(this.target.config, text);
  }

  private async existingAccount(text: string) {
    const jid = this.account(text);
    if (!(await this.target.directory.userExists(jid.domain, jid.local))) throw new CliError(`no such user ${jid}`);
    return jid;
  }
}

/** The listeners with their actual ports: per interface, STARTTLS then direct TLS, then HTTP and HTTPS. */
function listeners(hub: Hub): ListenerInfo[] {
  const { interfaces, direct_tls_port: directTls } = hub.config.c2s;
  const ports = hub.c2s.ports();
  const result: ListenerInfo[] = [];
  for (const address of interfaces) {
    result.push({ address, port: ports[result.length]!, kind: 'starttls' });
    if (directTls !== null) result.push({ address, port: ports[result.length]!, kind: 'direct-tls' });
  }
  const gateways = hub.gateways.flatMap((gateway) => gateway.status?.().listeners ?? []);
  return [...result, ...hub.web.listener.bound(), ...gateways];
}

/** A group that cannot be saved is the operator's mistake. */
function configFailure(err: unknown): never {
  if (err instanceof ConfigError) throw new CliError(err.message);
  throw err;
}

function choice<V extends string>(name: string, allowed: readonly V[], value: string): V {
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${name} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as V;
}

function checked(value: string, valid: (value: string) => boolean, what: string): string {
  if (!valid(value)) throw new CliError(`"${value}" is not ${what}`);
  return value;
}

/** An entry of the mail senders list: an address, or @domain. */

/** LDAP-managed hosts and directory outages are the operator's to know, not internal errors. */
function directoryFailure(err: unknown): never {
  if (err instanceof DirectoryReadOnly || err instanceof DirectoryUnavailable) throw new CliError(err.message);
  throw err;
}

// The directory refuses unusable passwords (empty, not SASLprep) with a RangeError.
async function withPassword(change: () => Promise<boolean>): Promise<boolean> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(`password refused: ${err.message}`);
    throw err;
  }
}

/** Arguments of a command, checked, since over the socket they are whatever JSON was sent. */
class Args {
  private readonly raw: Record<string, unknown>;

  constructor(raw: unknown) {
    this.raw = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  }

  string(name: string): string {
    const value = this.raw[name];
    if (typeof value !== 'string') throw new CliError(`argument "${name}" must be a string`);
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.raw[name];
    if (value !== undefined && typeof value !== 'boolean') throw new CliError(`argument "${name}" must be true or false`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.raw[name] === undefined ? undefined : this.string(name);
  }

  optionalStrings(name: string): string[] | undefined {
    return this.raw[name] === undefined ? undefined : this.strings(name);
  }

  strings(name: string): string[] {
    const value = this.raw[name] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new CliError(`argument "${name}" must be a list of strings`);
    }
    return value;
  }
}
