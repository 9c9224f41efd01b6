// Shared roster groups read from LDAP (ejabberd's mod_shared_roster_ldap): the group entries
// under a base (groupOfUniqueNames/uniqueMember and groupOfNames/member hold member DNs,
// posixGroup/memberUid holds usernames), matched against the host's users, read in one search
// of the host's user base so that each member's entry gives its username and display name.
// Members that are not users of the host (other entries, disabled users) are left out.
// Each group's members see each other; configured groups may display LDAP groups by name.
import type { Client } from 'ldapts';
import type { HostLdapConfig, LdapSharedGroupsConfig } from '../../config/schema.js';
import { userJid } from '../shared-groups-membership.js';
import type { GroupDefinition, GroupSource, SourceGroups } from '../shared-groups.js';
import { firstText, texts } from './entry.js';
import { and, anyUserFilter } from './filter.js';

/** Runs an operation on a connection bound as the service account (the LDAP pool). */
export interface LdapConnections {
  use<T>(operation: (client: Client) => Promise<T>): Promise<T>;
}

const PAGE_SIZE = 500;

interface User {
  jid: string;
  name?: string;
}

/** The LDAP groups of a host whose users are in LDAP (`ldap`: the host's `hosts[].ldap`). */
export function ldapGroups(domain: string, ldap: HostLdapConfig, config: LdapSharedGroupsConfig, pool: LdapConnections): GroupSource {
  return {
    label: `LDAP shared groups of ${domain}`,
    load: () => pool.use((client) => readGroups(client, domain, ldap, config)),
  };
}

async function readGroups(client: Client, domain: string, ldap: HostLdapConfig, config: LdapSharedGroupsConfig): Promise<SourceGroups> {
  const users = await readUsers(client, domain, ldap);
  const memberAttributes = [...config.member_dn_attributes, ...config.member_uid_attributes];
  const { searchEntries } = await client.search(config.base, {
    scope: config.scope,
    filter: config.filter,
    attributes: [config.name_attribute, config.description_attribute, ...memberAttributes],
    paged: { pageSize: PAGE_SIZE },
  });
  const groups: GroupDefinition[] = [];
  for (const entry of searchEntries) {
    const name = firstText(entry, [config.name_attribute]);
    if (!name) continue;
    const members = new Set<string>();
    const add = (user: User | undefined) => {
      if (user) members.add(user.jid);
    };
    for (const attribute of config.member_dn_attributes) {
      for (const dn of texts(entry, attribute)) add(users.byDn.get(normalizeDn(withoutUid(dn))));
    }
    for (const attribute of config.member_uid_attributes) {
      for (const uid of texts(entry, attribute)) add(users.byUid.get(uid.toLowerCase()));
    }
    const group: GroupDefinition = { host: domain, name, members: [...members], everyone: false };
    const description = firstText(entry, [config.description_attribute]);
    if (description !== undefined) group.description = description;
    groups.push(group);
  }
  // The names of every user, for the configured groups of the host too.
  const names = new Map<string, string>();
  for (const user of users.byUid.values()) if (user.name !== undefined) names.set(user.jid, user.name);
  return { groups, names };
}

/** Every user of the host (enabled ones only), by normalized DN and by lower-cased username. */
async function readUsers(client: Client, domain: string, ldap: HostLdapConfig): Promise<{ byDn: Map<string, User>; byUid: Map<string, User> }> {
  const { searchEntries } = await client.search(ldap.base, {
    scope: ldap.scope,
    filter: and(anyUserFilter(ldap.filter), ldap.enabled_filter),
    attributes: [ldap.uid_attribute, ...ldap.attributes.display_name],
    paged: { pageSize: PAGE_SIZE },
  });
  const byDn = new Map<string, User>();
  const byUid = new Map<string, User>();
  for (const entry of searchEntries) {
    const uid = firstText(entry, [ldap.uid_attribute]);
    const jid = uid === undefined ? undefined : userJid(uid, domain);
    if (!jid) continue;
    const user: User = { jid };
    const name = firstText(entry, ldap.attributes.display_name);
    if (name !== undefined) user.name = name;
    byDn.set(normalizeDn(entry.dn), user);
    byUid.set(uid!.toLowerCase(), user);
  }
  return { byDn, byUid };
}

/** A uniqueMember value may end with an optional unique identifier (`#'0101'B`, RFC 4517 §3.3.21). */
function withoutUid(value: string): string {
  return value.replace(/#'[01]*'B$/, '');
}

/** A DN for comparison: RDNs trimmed, case folded (the usual naming attributes ignore case). */
function normalizeDn(dn: string): string {
  return splitDn(dn).map((rdn) => rdn.trim().replace(/\s*=\s*/, '=')).join(',').toLowerCase();
}

/** Splits at the commas that separate RDNs (not escaped ones, RFC 4514 §2.4). */
function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[++i]!;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}
