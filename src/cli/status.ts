// switchboard status: what the running hub is doing.
import type { ListenerInfo } from './admin-api.js';
import { connectAdmin } from './admin-client.js';
import type { CommandInput } from './command.js';
import { loadCliConfig } from './config-file.js';
import { table } from './table.js';

export async function status(input: CommandInput): Promise<number> {
  const { config } = loadCliConfig(input.configFile);
  const client = await connectAdmin(config.admin.socket);
  if (!client) {
    console.log(`Switchboard is not running (no hub answers on ${config.admin.socket})`);
    return 1;
  }
  const { sessions, domains, listeners } = await client.call('status', {}).finally(() => client.close());
  console.log(`Switchboard is running: ${sessions.length} session${sessions.length === 1 ? '' : 's'} online`);
  for (const [domain, count] of Object.entries(domains)) console.log(`  ${domain}: ${count}`);
  if (sessions.length > 0) {
    const rows = sessions.map((s) => [s.jid, s.address, s.transport, s.tls ? 'yes' : 'no', s.since.replace(/\.\d+Z$/, 'Z')]);
    console.log(`\n${table([['JID', 'ADDRESS', 'TRANSPORT', 'TLS', 'SINCE'], ...rows])}`);
  }
  console.log(`\nListening: ${listeners.map(describe).join(', ')}`);
  return 0;
}

function describe({ address, port, kind }: ListenerInfo): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${host}:${port} (${KIND_NAMES[kind]})`;
}

const KIND_NAMES: Record<ListenerInfo['kind'], string> = {
  starttls: 'STARTTLS', 'direct-tls': 'direct TLS', http: 'HTTP', https: 'HTTPS',
};
