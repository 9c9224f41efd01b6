// SCRAM credential derivation (RFC 5802 §3): passwords are kept only as salted keys.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import saslprep from 'saslprep';
import type { HashName, ScramCredential } from '../xmpp/sasl/mechanism.js';

/** Iteration count for new credentials when the configuration does not say otherwise. */
export const DEFAULT_SCRAM_ITERATIONS = 10000;
/** Length of SaltedPassword, StoredKey, ServerKey and ClientProof per hash. */
export const SCRAM_KEY_BYTES: Record<HashName, number> = { sha1: 20, sha256: 32 };

const pbkdf2Async = promisify(pbkdf2);

async function keys(prepped: string, hash: HashName, iterations: number, salt: Buffer): Promise<ScramCredential> {
  const salted = await pbkdf2Async(prepped, salt, iterations, SCRAM_KEY_BYTES[hash], hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  return {
    salt,
    iterations,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, salted).update('Server Key').digest(),
  };
}

/**
 * Derives the credential to store for a new password. Throws a RangeError when the password is
 * not a valid SASLprep "stored string" (prohibited or unassigned code points) or is empty.
 */
export async function deriveScram(password: string, hash: HashName, iterations: number, salt: Buffer = randomBytes(16)): Promise<ScramCredential> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`invalid SCRAM iteration count: ${iterations}`);
  let prepped: string;
  try {
    prepped = saslprep(password);
  } catch (cause) {
    throw new RangeError('password not allowed by SASLprep (RFC 4013)', { cause });
  }
  if (prepped === '') throw new RangeError('empty password');
  return keys(prepped, hash, iterations, salt);
}

/** Checks a clear-text password (PLAIN) against a stored credential. */
export async function verifyPasswordAgainst(cred: ScramCredential, hash: HashName, password: string): Promise<boolean> {
  let prepped: string;
  try {
    prepped = saslprep(password, { allowUnassigned: true });
  } catch {
    return false;
  }
  const { storedKey } = await keys(prepped, hash, cred.iterations, cred.salt);
  return storedKey.length === cred.storedKey.length && timingSafeEqual(storedKey, cred.storedKey);
}
