// switchboard user add|delete|passwd|list
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { withAdmin } from './hub-access.js';
import { accountJid } from './jids.js';
import { readPassword } from './password.js';

export async function userAdd(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const password = input.option('password') ?? (await readPassword(`Password for ${jid}: `));
  const result = await withAdmin(config, (call) => call('user.add', { jid, password }));
  console.log(`created ${result.jid}`);
  return 0;
}

export async function userDelete(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const result = await withAdmin(config, (call) => call('user.delete', { jid }));
  const closed = result.sessionsClosed;
  console.log(`deleted ${result.jid}${closed > 0 ? ` (closed ${closed} session${closed === 1 ? '' : 's'})` : ''}`);
  return 0;
}

export async function userPasswd(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const password = input.option('password') ?? (await readPassword(`New password for ${jid}: `));
  const result = await withAdmin(config, (call) => call('user.passwd', { jid, password }));
  console.log(`changed the password of ${result.jid}`);
  return 0;
}

export async function userList(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const domain = input.args[0];
  const { users } = await withAdmin(config, (call) => call('user.list', domain === undefined ? {} : { domain }));
  for (const user of users) console.log(user);
  return 0;
}
