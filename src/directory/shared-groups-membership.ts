// Who sees whom through shared roster groups, at one moment: an immutable index built from
// the groups every source defined. A user sees the members of each group displayed by a
// group the user belongs to (by default a group displays itself, so its members see each
// other); seeing is one-way unless a group of the contact displays a group of the user.
import { createHash } from 'node:crypto';
import { Jid, JidError } from '../core/jid.js';

/** A group as a source defines it. */
export interface GroupDefinition {
  /** The virtual host the group belongs to; `displayed` names groups of the same host. */
  host: string;
  /** Unique within the host; the roster group name its members are shown under. */
  name: string;
  description?: string;
  /** Prepared bare JIDs. */
  members: string[];
  /** Every user of `host` is a member (`@all@`). */
  everyone: boolean;
  /** Names of the groups whose members this group's members see; absent: the group itself. */
  displayed?: string[];
}

/** A contact a user sees through shared groups. */
export interface SharedContact {
  /** Prepared bare JID. */
  jid: string;
  /** The display name the directory gives the contact, if any. */
  name?: string;
  /** The names of the groups the contact is seen through, sorted. */
  groups: string[];
  /** The contact sees the user too, so presence flows both ways. */
  mutual: boolean;
}

class Group {
  readonly displays: Group[] = [];
  readonly displayedBy: Group[] = [];

  constructor(
    readonly id: number,
    readonly definition: GroupDefinition,
    readonly members: ReadonlySet<string>,
    /** Every user of the host, for `@all@` groups: who the group lists. */
    private readonly hostUsers: readonly string[],
  ) {}

  has(jid: string): boolean {
    return this.members.has(jid) || (this.definition.everyone && domainOf(jid) === this.definition.host);
  }

  /** The members to list (for `@all@`, the host's users known when the membership was built). */
  *listed(): Iterable<string> {
    yield* this.members;
    if (this.definition.everyone) yield* this.hostUsers;
  }
}

export class Membership {
  /** Changes whenever anything that can change a roster changes. */
  readonly fingerprint: string;
  private readonly groups: Group[] = [];
  private readonly byMember = new Map<string, Group[]>();
  private readonly everyoneGroups = new Map<string, Group[]>();
  /** Contacts (bare JID → group names) by the set of groups a user belongs to. */
  private readonly byGroupSet = new Map<string, Map<string, string[]>>();
  private readonly versions = new Map<string, string>();

  /**
   * `hostUsers`: every user of each host with an `@all@` group (bare JIDs);
   * `names`: display names by bare JID; `warn` hears about displayed groups that do not exist.
   */
  constructor(
    definitions: readonly GroupDefinition[],
    hostUsers: ReadonlyMap<string, readonly string[]>,
    private readonly names: ReadonlyMap<string, string>,
    warn: (message: string) => void = () => {},
  ) {
    const byName = new Map<string, Group>();
    for (const definition of definitions) {
      const key = `${definition.host}\0${definition.name}`;
      if (byName.has(key)) {
        warn(`shared group "${definition.name}" of ${definition.host} is defined twice; the first definition is used`);
        continue;
      }
      const group = new Group(this.groups.length, definition, new Set(definition.members), hostUsers.get(definition.host) ?? []);
      byName.set(key, group);
      this.groups.push(group);
      for (const member of group.members) append(this.byMember, member, group);
      if (definition.everyone) append(this.everyoneGroups, definition.host, group);
    }
    for (const group of this.groups) {
      const { host, name, displayed = [name] } = group.definition;
      for (const shown of new Set(displayed)) {
        const target = byName.get(`${host}\0${shown}`);
        if (!target) {
          warn(`shared group "${name}" of ${host} displays "${shown}", which does not exist`);
          continue;
        }
        group.displays.push(target);
        target.displayedBy.push(group);
      }
    }
    this.fingerprint = fingerprintOf(this.groups, names);
  }

  /** The contacts `user` (a bare JID) sees, by bare JID. */
  contactsOf(user: string): Map<string, SharedContact> {
    const result = new Map<string, SharedContact>();
    for (const [jid, groups] of this.seenBy(this.groupsOf(user))) {
      if (jid === user) continue;
      const contact: SharedContact = { jid, groups, mutual: this.sees(jid, user) };
      const name = this.names.get(jid);
      if (name !== undefined) contact.name = name;
      result.set(jid, contact);
    }
    return result;
  }

  /** `contact` as `user` sees it (both bare JIDs), or undefined when the user does not see it. */
  contactOf(user: string, contact: string): SharedContact | undefined {
    if (user === contact) return undefined;
    const groups = new Set<string>();
    for (const group of this.groupsOf(user)) {
      for (const shown of group.displays) if (shown.has(contact)) groups.add(shown.definition.name);
    }
    if (groups.size === 0) return undefined;
    const result: SharedContact = { jid: contact, groups: [...groups].sort(), mutual: this.sees(contact, user) };
    const name = this.names.get(contact);
    if (name !== undefined) result.name = name;
    return result;
  }

  /** True when `viewer` sees `contact` (both bare JIDs) through a shared group. */
  sees(viewer: string, contact: string): boolean {
    if (viewer === contact) return false;
    for (const group of this.groupsOf(viewer)) {
      for (const shown of group.displays) if (shown.has(contact)) return true;
    }
    return false;
  }

  /** The users who see `user`: where its presence goes. */
  watchersOf(user: string): Set<string> {
    const result = new Set<string>();
    for (const group of this.groupsOf(user)) {
      for (const viewers of group.displayedBy) for (const jid of viewers.listed()) result.add(jid);
    }
    result.delete(user);
    return result;
  }

  /** A digest of what `user` sees; undefined when the user sees nobody. */
  versionOf(user: string): string | undefined {
    let version = this.versions.get(user);
    if (version !== undefined) return version || undefined;
    const contacts = [...this.contactsOf(user).values()].sort((a, b) => (a.jid < b.jid ? -1 : 1));
    version = contacts.length === 0 ? '' : digest(JSON.stringify(contacts.map((c) => [c.jid, c.name, c.groups, c.mutual])));
    this.versions.set(user, version);
    return version || undefined;
  }

  /** True when `user` (a bare JID) is a member of the host's group `name`. */
  isMember(user: string, name: string): boolean {
    const host = domainOf(user);
    return this.groupsOf(user).some((group) => group.definition.host === host && group.definition.name === name);
  }

  private groupsOf(user: string): Group[] {
    const explicit = this.byMember.get(user) ?? [];
    const everyone = this.everyoneGroups.get(domainOf(user));
    if (!everyone) return explicit;
    return [...new Set([...explicit, ...everyone])].sort((a, b) => a.id - b.id);
  }

  /** Everyone seen through a set of groups, with the group names; memoized, since many users share a set. */
  private seenBy(groups: Group[]): Map<string, string[]> {
    if (groups.length === 0) return new Map();
    const key = groups.map((g) => g.id).join(',');
    let seen = this.byGroupSet.get(key);
    if (seen) return seen;
    seen = new Map();
    for (const group of groups) {
      for (const shown of group.displays) {
        for (const jid of shown.listed()) {
          const names = seen.get(jid);
          if (!names) seen.set(jid, [shown.definition.name]);
          else if (!names.includes(shown.definition.name)) names.push(shown.definition.name);
        }
      }
    }
    for (const names of seen.values()) names.sort();
    this.byGroupSet.set(key, seen);
    return seen;
  }
}

/** The prepared bare JID of a username of `domain`; undefined when the username cannot be one. */
export function userJid(username: string, domain: string): string | undefined {
  try {
    const jid = Jid.parse(`${username}@${domain}`);
    return jid.local && jid.isBare && jid.domain === domain ? jid.bareString : undefined;
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

/** The domain of a bare JID string. */
function domainOf(jid: string): string {
  return jid.slice(jid.indexOf('@') + 1);
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function fingerprintOf(groups: readonly Group[], names: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const group of groups) {
    const { host, name, everyone } = group.definition;
    hash.update(JSON.stringify([host, name, everyone, group.displays.map((g) => g.id), [...group.listed()].sort()]));
  }
  hash.update(JSON.stringify([...names].sort()));
  return hash.digest('base64url');
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}
