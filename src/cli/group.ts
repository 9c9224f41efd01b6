// switchboard group list|set|delete: shared roster groups made without editing the
// configuration file (those of the file and of LDAP are changed there).
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { withAdmin } from './hub-access.js';
import { table } from './table.js';

export async function groupList(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const domain = input.args[0];
  const { groups } = await withAdmin(config, (call) => call('group.list', domain === undefined ? {} : { domain }));
  if (groups.length === 0) {
    console.log('no shared groups');
    return 0;
  }
  const rows = groups.map((group) => [
    group.domain,
    group.name,
    group.members.join(', '),
    (group.displayed_groups ?? [group.name]).join(', '),
    group.source,
  ]);
  console.log(table([['DOMAIN', 'GROUP', 'MEMBERS', 'SEES', 'DEFINED IN'], ...rows]));
  return 0;
}

export async function groupSet(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const [domain, name] = [input.args[0]!, input.args[1]!];
  const description = input.option('description');
  const displayed = input.list('display');
  const result = await withAdmin(config, (call) => call('group.set', {
    domain,
    name,
    members: input.list('member'),
    ...(description === undefined ? {} : { description }),
    ...(displayed.length === 0 ? {} : { displayed_groups: displayed }),
  }));
  console.log(`${result.created ? 'created' : 'replaced'} the group ${result.name} of ${result.domain}`);
  return 0;
}

export async function groupDelete(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const result = await withAdmin(config, (call) => call('group.delete', { domain: input.args[0]!, name: input.args[1]! }));
  console.log(`deleted the group ${result.name} of ${result.domain}`);
  return 0;
}
