// switchboard roster list|add
import type { Subscription } from '../store/ports.js';
import { SUBSCRIPTIONS } from './admin-ops.js';
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { UsageError } from './errors.js';
import { withAdmin } from './hub-access.js';
import { accountJid, parseJid } from './jids.js';
import { table } from './table.js';

export async function rosterList(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const { items } = await withAdmin(config, (call) => call('roster.list', { jid }));
  if (items.length === 0) {
    console.log(`the roster of ${jid} is empty`);
    return 0;
  }
  const rows = items.map((item) => [
    item.jid,
    item.subscription + (item.ask ? ' (asked)' : ''),
    item.name ?? '',
    item.groups.join(', '),
  ]);
  console.log(table([['CONTACT', 'SUBSCRIPTION', 'NAME', 'GROUPS'], ...rows]));
  return 0;
}

export async function rosterAdd(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const contact = parseJid(input.args[1]!).toString();
  const subscription = (input.option('subscription') ?? 'none') as Subscription;
  if (!SUBSCRIPTIONS.includes(subscription)) {
    throw new UsageError(`--subscription must be one of ${SUBSCRIPTIONS.join(', ')}, not "${subscription}"`);
  }
  const name = input.option('name');
  const args = { jid, contact, subscription, groups: input.list('group'), ...(name === undefined ? {} : { name }) };
  const { item } = await withAdmin(config, (call) => call('roster.add', args));
  console.log(`added ${item.jid} to the roster of ${jid} (subscription: ${item.subscription})`);
  return 0;
}
