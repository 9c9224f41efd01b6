import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../core/log.js';
import { checkCertificateFiles, ConfigError, type LoadedConfig } from './load.js';

export interface HostCertificate {
  /** PEM, including any intermediate certificates from the file. */
  cert: string;
  key: string;
  selfSigned: boolean;
}

const VALIDITY_DAYS = 3650;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * The certificate of every host, by domain: the configured files, else a self-signed
 * certificate kept in `<data_dir>/certs` (generated when missing, expiring or unusable).
 */
export async function ensureCertificates(loaded: LoadedConfig, log: Logger): Promise<Map<string, HostCertificate>> {
  checkCertificateFiles(loaded);
  const certs = new Map<string, HostCertificate>();
  for (const [index, host] of loaded.config.hosts.entries()) {
    const cert = host.certificate
      ? await readConfigured(loaded, index, log)
      : await selfSigned(loaded.config.data_dir, host.domain, log);
    certs.set(host.domain, cert);
  }
  return certs;
}

async function readConfigured({ config, locate }: LoadedConfig, index: number, log: Logger): Promise<HostCertificate> {
  const { domain, certificate } = config.hosts[index];
  const files = certificate!;
  const [cert, key] = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
  const fail = (kind: 'cert' | 'key', problem: string): ConfigError => {
    const path = `hosts[${index}].certificate.${kind}`;
    return new ConfigError(`${locate(path)}: ${path}: ${files[kind]} ${problem}`);
  };

  let x509: X509Certificate;
  let privateKey: KeyObject;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw fail('cert', `is not a PEM certificate (${(err as Error).message})`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw fail('key', `is not an unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw fail('key', `does not belong to the certificate ${files.cert}`);

  if (x509.checkHost(domain) === undefined) {
    log.warn(
      { domain, cert: files.cert, names: x509.subjectAltName },
      `certificate for ${domain} does not cover that domain: clients will reject it`,
    );
  }
  if (Date.parse(x509.validTo) < Date.now()) {
    log.warn({ domain, cert: files.cert, validTo: x509.validTo }, `certificate for ${domain} has expired`);
  }
  return { cert, key, selfSigned: false };
}

async function selfSigned(dataDir: string, domain: string, log: Logger): Promise<HostCertificate> {
  const dir = join(dataDir, 'certs');
  const certFile = join(dir, `${domain}.crt`);
  const keyFile = join(dir, `${domain}.key`);
  let pair = await readReusable(certFile, keyFile, domain);
  if (!pair) {
    await generate(dir, domain, certFile, keyFile);
    log.info({ domain, cert: certFile, key: keyFile }, `generated a self-signed certificate for ${domain}`);
    pair = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  }
  log.warn(
    { domain, cert: certFile },
    `using a self-signed certificate for ${domain}: clients will have to accept an untrusted certificate. ` +
      `To use a real one, set certificate: { cert, key } on this host to PEM files covering ${domain} ` +
      '(see docs/configuration.md)',
  );
  return { ...pair, selfSigned: true };
}

async function readReusable(
  certFile: string,
  keyFile: string,
  domain: string,
): Promise<Pick<HostCertificate, 'cert' | 'key'> | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const x509 = new X509Certificate(cert);
    const usable =
      x509.checkPrivateKey(createPrivateKey(key)) &&
      x509.checkHost(domain) !== undefined &&
      Date.parse(x509.validTo) > Date.now() + RENEW_BEFORE_MS;
    return usable ? { cert, key } : undefined;
  } catch {
    return undefined; // corrupt: regenerate
  }
}

// openssl writes into a private temporary directory; the files are then renamed into place.
async function generate(dir: string, domain: string, certFile: string, keyFile: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(dir, `.${domain}-`));
  const tmpCert = join(tmp, 'cert.pem');
  const tmpKey = join(tmp, 'key.pem');
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-nodes', '-sha256',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-days', String(VALIDITY_DAYS),
      '-subj', `/CN=${domain}`,
      '-addext', `subjectAltName=DNS:${domain},DNS:*.${domain}`,
      '-keyout', tmpKey, '-out', tmpCert,
    ]);
    await chmod(tmpKey, 0o600);
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
  } catch (err) {
    const { syscall, stderr, message } = err as NodeJS.ErrnoException & { stderr?: string };
    const reason = syscall === 'spawn openssl' ? 'the openssl command is not installed' : stderr?.trim() || message;
    throw new Error(`cannot generate a self-signed certificate for ${domain}: ${reason}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
