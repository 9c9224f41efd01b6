// Shared roster groups made with the admin commands (`switchboard group set|delete`), kept in
// the store as host-level documents, one per group. They are checked as configured ones are,
// and may not take the name of a configured group.
import { ConfigError } from '../config/load.js';
import type { HostConfig, SharedGroupConfig } from '../config/schema.js';
import type { KeyValueStore } from '../store/ports.js';
import { groupDefinition } from './shared-groups-config.js';
import type { GroupSource } from './shared-groups.js';

/** KeyValueStore name of the groups, keyed by group name. */
const STORE = 'shared-groups';
/** Host-level documents are kept under the empty username, which no account can have. */
const HOST = '';

/** A group as stored: its declaration without the name (the key). */
type StoredGroup = Omit<SharedGroupConfig, 'name'>;

/** The groups of one host made with the admin commands. */
export function storedGroups(domain: string, kv: KeyValueStore): GroupSource {
  return {
    label: `shared groups of ${domain} made with the admin commands`,
    load: async () => ({
      groups: (await listStoredGroups(domain, kv)).map((group) => groupDefinition(group, domain, `group "${group.name}"`)),
    }),
  };
}

export async function listStoredGroups(domain: string, kv: KeyValueStore): Promise<SharedGroupConfig[]> {
  const entries = await kv.entries<StoredGroup>(domain, HOST, STORE);
  return entries.map(([name, group]) => ({ name, ...group })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * Creates or replaces a group of `host`; true when it is new. A ConfigError says what is wrong
 * with it (a member that is not a username or bare JID, the name of a configured group).
 */
export async function saveStoredGroup(host: HostConfig, kv: KeyValueStore, group: SharedGroupConfig): Promise<boolean> {
  if (group.name === '') throw new ConfigError('a group needs a name');
  if (host.shared_groups.some((configured) => configured.name === group.name)) {
    throw new ConfigError(`"${group.name}" is a group of the configuration file of ${host.domain}; change it there`);
  }
  groupDefinition(group, host.domain, `group "${group.name}"`);
  const existed = (await kv.get(host.domain, HOST, STORE, group.name)) !== undefined;
  const { name, ...stored } = group;
  await kv.set(host.domain, HOST, STORE, stored satisfies StoredGroup, name);
  return !existed;
}

/** Deletes a group of `domain`; false when there is none of that name. */
export async function deleteStoredGroup(domain: string, kv: KeyValueStore, name: string): Promise<boolean> {
  if ((await kv.get(domain, HOST, STORE, name)) === undefined) return false;
  await kv.set(domain, HOST, STORE, undefined, name);
  return true;
}
