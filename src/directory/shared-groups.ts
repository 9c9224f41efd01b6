// Shared roster groups (ejabberd's mod_shared_roster and mod_shared_roster_ldap, Prosody's
// mod_groups): groups from the configuration, from the admin commands and from LDAP,
// combined into one Membership that
// answers which contacts a user gets and who sees whom. The membership is computed once and
// kept; it is read again from the sources at the refresh interval, and listeners hear of each
// change (the XMPP layer then pushes roster changes and presence to online users).
import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { KeyValueStore } from '../store/ports.js';
import { HostDirectories } from './hosts.js';
import { ldapGroups } from './ldap/groups.js';
import type { Directory } from './port.js';
import { configuredGroups } from './shared-groups-config.js';
import { Membership, userJid, type GroupDefinition } from './shared-groups-membership.js';
import { storedGroups } from './shared-groups-stored.js';

export type { GroupDefinition, SharedContact } from './shared-groups-membership.js';
export { Membership } from './shared-groups-membership.js';

/** What a source read: its groups, and display names of members it knows (by bare JID). */
export interface SourceGroups {
  groups: GroupDefinition[];
  names?: ReadonlyMap<string, string>;
}

export interface GroupSource {
  /** For logs, e.g. "configuration of example.org" or "LDAP groups of example.org". */
  readonly label: string;
  /** Reads the groups afresh; rejects when the source cannot be read. */
  load(): Promise<SourceGroups>;
}

export interface SharedGroupsOptions {
  sources: GroupSource[];
  /** Every user of a host, as usernames (for `@all@` groups). */
  listUsers(host: string): Promise<string[]>;
  /** Seconds between two readings of the sources; 0 reads them once only. */
  refreshSeconds: number;
  log: Logger;
}

/** Seconds between two readings of the sources when there is no `ldap.refresh_interval`. */
const DEFAULT_REFRESH_SECONDS = 300;

/**
 * The shared groups of every host: those in its configuration, those made with the admin
 * commands (in `kv`), and those read from LDAP (through the directory's service-account
 * pool) where `ldap_shared_groups` is set.
 */
export function sharedGroupsOf(config: Config, directory: Directory, kv: KeyValueStore, log: Logger): SharedGroups {
  const sources: GroupSource[] = [];
  config.hosts.forEach((host, index) => {
    if (host.shared_groups.length > 0) sources.push(configuredGroups(host, index));
    sources.push(storedGroups(host.domain, kv));
    if (!host.ldap_shared_groups) return;
    const pool = directory instanceof HostDirectories ? directory.ldapPools?.search : undefined;
    if (host.directory !== 'ldap' || !host.ldap || !pool) {
      throw new ConfigError(`hosts[${index}].ldap_shared_groups: needs "directory: ldap" on the host (and the top-level ldap section)`);
    }
    sources.push(ldapGroups(host.domain, host.ldap, host.ldap_shared_groups, pool));
  });
  return new SharedGroups({
    sources,
    listUsers: (host) => directory.listUsers(host),
    refreshSeconds: config.ldap?.refresh_interval ?? DEFAULT_REFRESH_SECONDS,
    log,
  });
}

export type MembershipListener = (before: Membership, after: Membership) => void | Promise<void>;

const EMPTY = new Membership([], new Map(), new Map());

export class SharedGroups {
  private current = EMPTY;
  private loadedAt: number | undefined;
  private refreshing: Promise<Membership> | undefined;
  /** The last groups each source gave, kept while it cannot be read. */
  private readonly lastRead = new Map<GroupSource, SourceGroups>();
  /** The last user list read for each host with an `@all@` group. */
  private readonly lastUsers = new Map<string, string[]>();
  private readonly listeners: MembershipListener[] = [];
  /** Listeners run one change at a time, in order. */
  private notified: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** The configuration problems last logged, so that each reading does not repeat them. */
  private problems = '';

  constructor(private readonly options: SharedGroupsOptions) {}

  /**
   * The current membership; read first if it never was, or if it is older than two refresh
   * intervals (the periodic refresh stops while nobody is online).
   */
  membership(): Membership | Promise<Membership> {
    const { refreshSeconds } = this.options;
    const stale = this.loadedAt === undefined || (refreshSeconds > 0 && Date.now() - this.loadedAt > 2 * refreshSeconds * 1000);
    return stale ? this.refresh() : this.current;
  }

  /**
   * Called with the previous and new membership after each reading that changed something.
   * Listeners run after the reading has settled, so they may wait for tasks that read the membership.
   */
  onChange(listener: MembershipListener): void {
    this.listeners.push(listener);
  }

  /** Reads every source again (one reading at a time) and tells the listeners what changed. */
  refresh(): Promise<Membership> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Reads the sources after a change made here: after the reading under way, if any, which may have missed it. */
  reload(): Promise<Membership> {
    return (this.refreshing ?? Promise.resolve()).catch(() => {}).then(() => this.refresh());
  }

  /** Refreshes at the configured interval until `stopRefreshing`. */
  startRefreshing(): void {
    if (this.timer || this.options.refreshSeconds <= 0) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.options.log.error({ err }, 'shared groups refresh failed'));
    }, this.options.refreshSeconds * 1000);
    this.timer.unref();
  }

  stopRefreshing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<Membership> {
    const { log } = this.options;
    const results = await Promise.all(this.options.sources.map(async (source) => {
      try {
        const read = await source.load();
        this.lastRead.set(source, read);
        return read;
      } catch (err) {
        const last = this.lastRead.get(source);
        log.warn({ err, source: source.label }, last ? 'cannot read shared groups; keeping the last ones read' : 'cannot read shared groups');
        return last ?? { groups: [] };
      }
    }));
    const groups = results.flatMap((r) => r.groups);
    const names = new Map<string, string>();
    for (const result of results) for (const [jid, name] of result.names ?? []) if (!names.has(jid)) names.set(jid, name);
    const problems: string[] = [];
    const next = new Membership(groups, await this.hostUsers(groups), names, (message) => problems.push(message));
    if (problems.join('\n') !== this.problems) for (const problem of problems) log.warn(problem);
    this.problems = problems.join('\n');
    const before = this.current;
    this.current = next;
    const first = this.loadedAt === undefined;
    this.loadedAt = Date.now();
    if (!first && before.fingerprint !== next.fingerprint) {
      log.info('shared groups changed');
      this.notified = this.notified.then(async () => {
        for (const listener of this.listeners) await listener(before, next);
      }).catch((err: unknown) => log.error({ err }, 'applying a shared groups change failed'));
    }
    return next;
  }

  /** The users of each host that has an `@all@` group, as bare JIDs. */
  private async hostUsers(groups: GroupDefinition[]): Promise<Map<string, string[]>> {
    const hosts = new Set(groups.filter((g) => g.everyone).map((g) => g.host));
    const result = new Map<string, string[]>();
    for (const host of hosts) {
      try {
        const users = (await this.options.listUsers(host)).map((username) => userJid(username, host));
        this.lastUsers.set(host, users.filter((jid): jid is string => jid !== undefined));
      } catch (err) {
        this.options.log.warn({ err, host }, 'cannot list the users of a host for its @all@ shared groups; keeping the last list');
      }
      result.set(host, this.lastUsers.get(host) ?? []);
    }
    return result;
  }
}

