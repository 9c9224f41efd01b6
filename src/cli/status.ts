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
  const { sessions, domains, listeners, gateways, queue } = await client.call('status', {}).finally(() => client.close());
  console.log(`Switchboard is running: ${sessions.length} session${sessions.length === 1 ? '' : 's'} online`);
  for (const [domain, count] of Object.entries(domains)) console.log(`  ${domain}: ${count}`);
  if (sessions.length > 0) {
    const rows = sessions.map((s) => [s.jid, s.address, s.transport, s.tls ? 'yes' : 'no', s.since.replace(/\.\d+Z$/, 'Z')]);
    console.log(`\n${table([['JID', 'ADDRESS', 'TRANSPORT', 'TLS', 'SINCE'], ...rows])}`);
  }
  console.log(`\nListening: ${listeners.map(describe).join(', ')}`);
  for (const gateway of gateways) console.log(`Gateway ${gateway.name} (${gateway.domains.join(', ')}): ${gateway.summary}`);
  const depth = queue.destinations.map((d) => `${d.destination} ${d.waiting + d.delayed + d.active} pending, ${d.dead} dead`);
  console.log(`Delivery queue (${queue.kind}): ${depth.length > 0 ? depth.join('; ') : 'empty'}`);
  return 0;
}

function describe({ address, port, kind }: ListenerInfo): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${host}:${port} (${KIND_NAMES[kind] ?? kind})`;
}

const KIND_NAMES: Record<string, string> = {
  starttls: 'STARTTLS', 'direct-tls': 'direct TLS', http: 'HTTP', https: 'HTTPS',
};
