// Port checks: can every configured XMPP and HTTP port be bound, unless a hub already holds them.
import net from 'node:net';
import type { Config } from '../config/schema.js';
import { hubRunning } from './admin-client.js';
import type { Report } from './report.js';

export async function checkPorts(config: Config, report: Report): Promise<void> {
  if (await hubRunning(config.admin.socket)) {
    report.ok(`a Switchboard hub is running (${config.admin.socket} answers): the ports are its own`);
    return;
  }
  const { c2s, http } = config;
  const wanted = [
    ...c2s.interfaces.map((address) => [address, [[c2s.port, 'STARTTLS'], [c2s.direct_tls_port, 'direct TLS']]] as const),
    ...http.interfaces.map((address) => [address, [[http.port, 'HTTP'], [http.tls_port, 'HTTPS']]] as const),
  ];
  for (const [address, ports] of wanted) {
    for (const [number, kind] of ports) {
      if (number === null) continue;
      const where = `${address.includes(':') ? `[${address}]` : address}:${number === 0 ? 'any' : number} (${kind})`;
      const problem = await bindProblem(address, number);
      if (problem === undefined) report.ok(`${where} can be bound`);
      else report.error(`${where}: ${problem}`);
    }
  }
}

async function bindProblem(host: string, port: number): Promise<string | undefined> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    return undefined;
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'EADDRINUSE') return 'already in use by another program';
    if (code === 'EACCES') return 'permission denied: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability';
    if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine`;
    return message;
  }
}
