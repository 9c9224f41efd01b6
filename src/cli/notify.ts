// switchboard notify show|set|reset: a user's notification preferences
// (core/notification-prefs.ts), which users change themselves with an ad-hoc command.
import { MAIL_ARRIVAL_RULES, OFFLINE_CHANNELS, type MailArrivalRule, type OfflineChannel } from '../core/notification-prefs.js';
import type { NotifyInfo, NotifySetArgs } from './admin-api.js';
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { UsageError } from './errors.js';
import { withAdmin } from './hub-access.js';
import { accountJid } from './jids.js';

export async function notifyShow(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  print(await withAdmin(config, (call) => call('notify.get', { jid })));
  return 0;
}

export async function notifySet(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  const offline = input.option('offline');
  const email = input.option('email');
  const mobile = input.option('mobile');
  const arrival = input.option('mail-arrival');
  const senders = input.list('mail-sender');
  if (offline === undefined && email === undefined && mobile === undefined && arrival === undefined && senders.length === 0) {
    throw new UsageError('nothing to set: give --offline, --email, --mobile, --mail-arrival or --mail-sender');
  }
  const args: NotifySetArgs = {
    jid,
    ...(offline === undefined ? {} : { offline: choice('--offline', OFFLINE_CHANNELS, offline) }),
    ...(email === undefined ? {} : { email }),
    ...(mobile === undefined ? {} : { mobile }),
    ...(arrival === undefined ? {} : { mail_arrival: choice('--mail-arrival', MAIL_ARRIVAL_RULES, arrival) }),
    ...(senders.length === 0 ? {} : { mail_senders: senders }),
  };
  print(await withAdmin(config, (call) => call('notify.set', args)));
  return 0;
}

export async function notifyReset(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const jid = accountJid(config, input.args[0]!).toString();
  print(await withAdmin(config, (call) => call('notify.set', { jid, reset: true })));
  return 0;
}

function choice<V extends OfflineChannel | MailArrivalRule>(option: string, allowed: readonly V[], value: string): V {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${option} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as V;
}

/** The effective preferences, marking those that follow the host's defaults. */
function print({ jid, stored, effective }: NotifyInfo): void {
  const byDefault = (set: unknown) => (set === undefined ? ' (host default)' : '');
  console.log(`notification settings of ${jid}`);
  console.log(`  offline:       ${effective.offline}${byDefault(stored.offline)}`);
  console.log(`  email:         ${effective.email ?? "none (the directory's address only)"}`);
  console.log(`  mobile:        ${effective.mobile ?? "none (the directory's number only)"}`);
  console.log(`  mail arrival:  ${effective.mailArrival}${byDefault(stored.mail_arrival)}`);
  console.log(`  mail senders:  ${effective.mailSenders.join(', ') || 'none'}`);
}
