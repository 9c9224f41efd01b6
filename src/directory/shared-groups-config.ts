// Shared roster groups declared in the configuration (`hosts[].shared_groups`), and the
// checking of a group's declaration that groups made with the admin commands go through too.
import { ConfigError } from '../config/load.js';
import type { HostConfig, SharedGroupConfig } from '../config/schema.js';
import { Jid, JidError } from '../core/jid.js';
import type { GroupDefinition, GroupSource, SourceGroups } from './shared-groups.js';

/** The member that stands for every user of the host. */
const EVERYONE = '@all@';

/** The configured groups of one host (`index`: its place in `hosts`, for error messages). */
export function configuredGroups(host: HostConfig, index: number): GroupSource {
  const groups = host.shared_groups.map((group, g) => groupDefinition(group, host.domain, `hosts[${index}].shared_groups[${g}]`));
  const names = new Set<string>();
  groups.forEach(({ name }, g) => {
    if (names.has(name)) throw new ConfigError(`hosts[${index}].shared_groups[${g}].name: "${name}" is already the name of another group`);
    names.add(name);
  });
  const read: SourceGroups = { groups };
  return { label: `configured shared groups of ${host.domain}`, load: () => Promise.resolve(read) };
}

/**
 * A declared group of `domain` as a definition, its members prepared; a ConfigError names
 * `path` and the first member that is not a username, bare JID or `@all@`.
 */
export function groupDefinition(group: SharedGroupConfig, domain: string, path: string): GroupDefinition {
  const members = new Set<string>();
  let everyone = false;
  group.members.forEach((member, m) => {
    if (member === EVERYONE) everyone = true;
    else members.add(memberJid(member, domain, `${path}.members[${m}]`));
  });
  const definition: GroupDefinition = { host: domain, name: group.name, members: [...members], everyone };
  if (group.description !== undefined) definition.description = group.description;
  if (group.displayed_groups !== undefined) definition.displayed = group.displayed_groups;
  return definition;
}

/** A username of the host or a bare JID, prepared. */
function memberJid(member: string, domain: string, path: string): string {
  let jid: Jid;
  try {
    jid = Jid.parse(member.includes('@') ? member : `${member}@${domain}`);
  } catch (err) {
    if (err instanceof JidError) throw new ConfigError(`${path}: "${member}" is not a username or bare JID: ${err.message}`);
    throw err;
  }
  if (!jid.local || !jid.isBare) throw new ConfigError(`${path}: "${member}" is not a username or bare JID (like alice@${domain})`);
  return jid.bareString;
}
