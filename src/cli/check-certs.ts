// Certificate checks: the configured files, or the self-signed certificate kept in the data
// directory. Read only: unlike `start`, nothing is generated.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCertificateFiles, ConfigError, type LoadedConfig } from '../config/load.js';
import type { Report } from './report.js';

const DAY_MS = 24 * 3600 * 1000;
const EXPIRY_WARNING_DAYS = 30;

export async function checkCertificates(loaded: LoadedConfig, report: Report): Promise<void> {
  try {
    checkCertificateFiles(loaded);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.message.split('\n')) report.error(problem);
  }
  const { data_dir: dataDir, hosts } = loaded.config;
  for (const { domain, certificate } of hosts) {
    const generated = !certificate;
    const files = certificate ?? { cert: join(dataDir, 'certs', `${domain}.crt`), key: join(dataDir, 'certs', `${domain}.key`) };
    const pems = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]).catch(() => undefined);
    if (pems) inspect(domain, files.cert, pems[0], pems[1], report, generated);
    else if (generated) {
      report.warn(
        `${domain}: no certificate configured; a self-signed one will be generated in ${join(dataDir, 'certs')} at start`,
        'Clients will have to accept it explicitly. Configure hosts[].certificate for a real one.',
      );
    } // else unreadable configured files, reported above
  }
}

/** `generated`: a self-signed certificate of ours, which `start` renews when unusable. */
function inspect(domain: string, file: string, certPem: string, keyPem: string, report: Report, generated: boolean): void {
  const { cert, problems } = examine(domain, file, certPem, keyPem);
  for (const [text, ...details] of problems) {
    if (generated) report.warn(text, ...details, 'It will be regenerated at the next start.');
    else report.error(text, ...details);
  }
  if (!cert || problems.length > 0) return;
  const validTo = new Date(cert.validTo);
  report.ok(`${domain}: ${file} covers ${domain}, valid until ${day(validTo)}`);
  const daysLeft = Math.floor((validTo.getTime() - Date.now()) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS) report.warn(`${domain}: ${file} expires in ${daysLeft} days`);
  if (cert.issuer === cert.subject && cert.verify(cert.publicKey)) {
    report.warn(`${domain}: the certificate is self-signed: clients will warn about it or refuse it`);
  }
}

/** Each problem is a line of text and its details. */
function examine(domain: string, file: string, certPem: string, keyPem: string): { cert?: X509Certificate; problems: string[][] } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return { problems: [[`${domain}: ${file} is not a PEM certificate (${(err as Error).message})`]] };
  }
  const problems: string[][] = [];
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) problems.push([`${domain}: the private key does not belong to ${file}`]);
  } catch (err) {
    problems.push([`${domain}: the private key of ${file} is unusable (${(err as Error).message})`]);
  }
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now) problems.push([`${domain}: ${file} is not valid before ${day(new Date(cert.validFrom))}`]);
  if (Date.parse(cert.validTo) < now) problems.push([`${domain}: ${file} expired on ${day(new Date(cert.validTo))}`]);
  if (cert.checkHost(domain) === undefined) {
    const names = cert.subjectAltName ?? cert.subject.replaceAll('\n', ', ');
    problems.push([`${domain}: ${file} does not cover ${domain}`, `It is for: ${names}`]);
  }
  return { cert, problems };
}

const day = (date: Date): string => date.toISOString().slice(0, 10);
