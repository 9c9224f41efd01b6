// PLAIN (RFC 4616): authzid NUL authcid NUL passwd, checked against the account store.
import saslprep from 'saslprep';
import type { SaslContext, SaslExchange, SaslMechanism, SaslStep } from './mechanism.js';

const MAX_PART_BYTES = 1023;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const malformed = (text: string): SaslStep => ({ kind: 'failure', condition: 'malformed-request', text });

/** SASLprep as a query (unassigned code points allowed); null when the string is invalid or prepares to nothing. */
function prep(value: string): string | null {
  try {
    return saslprep(value, { allowUnassigned: true }) || null;
  } catch {
    return null;
  }
}

async function authenticate(ctx: SaslContext, data: Buffer): Promise<SaslStep> {
  let message: string;
  try {
    message = utf8.decode(data);
  } catch {
    return malformed('invalid UTF-8');
  }
  const parts = message.split('\0');
  if (parts.length !== 3) return malformed('expected authzid, authcid and password separated by NUL');
  if (parts.some((p) => Buffer.byteLength(p) > MAX_PART_BYTES)) return malformed('field too long');
  const [authzid, rawAuthcid, rawPassword] = parts;
  const authcid = prep(rawAuthcid);
  const password = prep(rawPassword);
  if (!authcid || !password) return malformed('empty or invalid username or password');
  // The authzid may only name the authenticating account itself.
  if (authzid !== '' && authzid !== `${authcid}@${ctx.host}`) {
    return { kind: 'failure', condition: 'invalid-authzid' };
  }
  if (!(await ctx.verifyPassword(authcid, password))) {
    return { kind: 'failure', condition: 'not-authorized', username: authcid };
  }
  return { kind: 'success', username: authcid, ...(authzid ? { authzid } : {}) };
}

function exchange(ctx: SaslContext): SaslExchange {
  let phase: 'initial' | 'response' | 'done' = 'initial';
  return {
    async step(data) {
      if (phase === 'initial' && data === null) {
        phase = 'response';
        return { kind: 'challenge', data: Buffer.alloc(0) };
      }
      const expected = phase !== 'done';
      phase = 'done';
      if (!expected || data === null) return malformed('unexpected message');
      return authenticate(ctx, data);
    },
  };
}

export function createPlain(opts: { allowInsecure: boolean }): SaslMechanism {
  return {
    name: 'PLAIN',
    available: (ctx) => ctx.secure || opts.allowInsecure,
    start: exchange,
  };
}
