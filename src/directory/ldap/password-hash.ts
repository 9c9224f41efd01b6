// Password values kept in LDAP entries, for the auth mode "hash": RFC 2307 style
// `{SCHEME}base64` in userPassword (salted and plain SHA-1/SHA-2, MD5), and RFC 5803 SCRAM
// secrets (`SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey`, usually in authPassword).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HashName, ScramCredential } from '../../xmpp/sasl/mechanism.js';
import { SCRAM_KEY_BYTES, verifyPasswordAgainst } from '../scram.js';

/** Digest algorithm and digest length of each `{SCHEME}`; salted schemes append the salt to the digest. */
const SCHEMES: Record<string, { algorithm: string; bytes: number; salted: boolean }> = {
  SHA: { algorithm: 'sha1', bytes: 20, salted: false },
  SSHA: { algorithm: 'sha1', bytes: 20, salted: true },
  SHA256: { algorithm: 'sha256', bytes: 32, salted: false },
  SSHA256: { algorithm: 'sha256', bytes: 32, salted: true },
  SHA384: { algorithm: 'sha384', bytes: 48, salted: false },
  SSHA384: { algorithm: 'sha384', bytes: 48, salted: true },
  SHA512: { algorithm: 'sha512', bytes: 64, salted: false },
  SSHA512: { algorithm: 'sha512', bytes: 64, salted: true },
  MD5: { algorithm: 'md5', bytes: 16, salted: false },
  SMD5: { algorithm: 'md5', bytes: 16, salted: true },
};

const SCRAM_NAMES: Record<string, HashName> = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256' };

/** The RFC 5803 SCRAM secret for `hash` among the values, if any. */
export function scramSecret(values: string[], hash: HashName): ScramCredential | null {
  for (const value of values) {
    const parsed = parseScram(value);
    if (parsed?.hash === hash) return parsed.credential;
  }
  return null;
}

/** True when the password matches one of the stored values (unknown schemes never match). */
export async function matchesStoredPassword(values: string[], password: string): Promise<boolean> {
  for (const value of values) {
    const scram = parseScram(value);
    if (scram ? await verifyPasswordAgainst(scram.credential, scram.hash, password) : matchesScheme(value, password)) return true;
  }
  return false;
}

function matchesScheme(value: string, password: string): boolean {
  const match = /^\{([A-Z0-9-]+)\}(.+)$/i.exec(value.trim());
  const scheme = match && SCHEMES[match[1]!.toUpperCase()];
  if (!scheme) return false;
  const stored = Buffer.from(match[2]!, 'base64');
  if (scheme.salted ? stored.length <= scheme.bytes : stored.length !== scheme.bytes) return false;
  const salt = stored.subarray(scheme.bytes);
  const digest = createHash(scheme.algorithm).update(password, 'utf8').update(salt).digest();
  return timingSafeEqual(digest, stored.subarray(0, scheme.bytes));
}

/** RFC 5803 §3: `SCRAM-SHA-256$<iteration count>:<salt>$<StoredKey>:<ServerKey>`, base64 parts. */
function parseScram(value: string): { hash: HashName; credential: ScramCredential } | null {
  const match = /^(SCRAM-SHA-1|SCRAM-SHA-256)\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/i.exec(value.trim());
  if (!match) return null;
  const iterations = Number(match[2]);
  const hash = SCRAM_NAMES[match[1]!.toUpperCase()]!;
  const storedKey = Buffer.from(match[4]!, 'base64');
  const serverKey = Buffer.from(match[5]!, 'base64');
  const bytes = SCRAM_KEY_BYTES[hash];
  if (!Number.isSafeInteger(iterations) || iterations < 1 || storedKey.length !== bytes || serverKey.length !== bytes) return null;
  return { hash, credential: { iterations, salt: Buffer.from(match[3]!, 'base64'), storedKey, serverKey } };
}
