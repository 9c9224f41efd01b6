// switchboard check: everything that can be verified before starting.
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { checkCertificates } from './check-certs.js';
import { checkDirectory } from './check-directory.js';
import { checkDns } from './check-dns.js';
import { checkPorts } from './check-ports.js';
import { loadCliConfig } from './config-file.js';
import { Report } from './report.js';

export async function check(file: string): Promise<number> {
  const report = new Report();
  report.section('Configuration');
  let loaded: LoadedConfig;
  try {
    loaded = loadCliConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.message.split('\n')) report.error(problem);
    return report.finish();
  }
  const domains = loaded.config.hosts.map((h) => h.domain).join(', ');
  report.ok(`${file} is valid (hosts: ${domains})`);

  report.section('Certificates');
  await checkCertificates(loaded, report);
  report.section('Ports');
  await checkPorts(loaded.config, report);
  report.section('DNS');
  await checkDns(loaded.config, report);
  report.section('Directory');
  await checkDirectory(loaded.config, report);
  return report.finish();
}
