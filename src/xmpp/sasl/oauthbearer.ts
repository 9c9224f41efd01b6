// OAUTHBEARER (RFC 7628) for webmail single sign-on: instead of a password the client presents
// a login token the webmail obtained from the hub's token API. The token is a bearer secret,
// so the mechanism is offered only where PLAIN is (over TLS unless the operator allows
// otherwise), and only on hosts that accept tokens (the session gives `consumeToken`).
import { Jid, JidError } from '../../core/jid.js';
import type { SaslContext, SaslExchange, SaslMechanism, SaslStep } from './mechanism.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const KVSEP = '\x01';
// RFC 7628 §3.1: key = 1*ALPHA; value = *(VCHAR / SP / HTAB / CR / LF).
const KVPAIR = /^([A-Za-z]+)=([\x21-\x7e \t\r\n]*)$/;
// The HTTP Authorization value of RFC 6750 §2.1: "Bearer" 1*SP b64token (scheme case-insensitive).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** RFC 7628 §3.2.2: the error the server sends, as a challenge, when the token is not accepted. */
const INVALID_TOKEN = Buffer.from(JSON.stringify({ status: 'invalid_token' }));

const malformed = (text: string): SaslStep => ({ kind: 'failure', condition: 'malformed-request', text });

interface ClientResponse {
  authzid: string;   // '' when absent
  token: string;
}

/** Parses `gs2-header kvsep *kvpair kvsep`; a string is the reason it is malformed. */
function parse(message: string): ClientResponse | string {
  const header = /^([^,]*),([^,]*),/.exec(message);
  if (!header) return 'expected a GS2 header';
  const [gs2, flag, authz] = header;
  if (flag !== 'n' && flag !== 'y') return 'channel binding is not supported';
  if (authz !== '' && !authz.startsWith('a=')) return 'invalid authzid';
  const authzid = authz === '' ? '' : decodeSaslname(authz.slice(2));
  if (authzid === undefined) return 'invalid authzid';

  const rest = message.slice(gs2.length);
  if (!rest.startsWith(KVSEP) || !rest.endsWith(KVSEP + KVSEP) || rest.length < 3) return 'expected key=value pairs between ^A separators';
  const fields = new Map<string, string>();
  for (const pair of rest.slice(1, -2).split(KVSEP)) {
    const kv = KVPAIR.exec(pair);
    if (!kv || fields.has(kv[1])) return 'invalid key=value pair';
    fields.set(kv[1], kv[2]);
  }
  const port = fields.get('port');
  if (port !== undefined && !/^\d+$/.test(port)) return 'invalid port';
  const auth = fields.get('auth');
  if (auth === undefined) return 'the "auth" key is required';
  const bearer = BEARER.exec(auth);
  if (!bearer) return 'expected "auth=Bearer <token>"';
  return { authzid, token: bearer[1] };
}

/** RFC 5801 saslname: "," and "=" travel as "=2C" and "=3D"; any other "=" is an error. */
function decodeSaslname(value: string): string | undefined {
  if (value === '' || /=(?!2C|3D)/.test(value)) return undefined;
  return value.replace(/=2C|=3D/g, (escape) => (escape === '=2C' ? ',' : '='));
}

/** The account the authzid names: `user@host` of this host, or just `user`; the prepared localpart. */
function accountOf(authzid: string, host: string): string | undefined {
  try {
    const jid = Jid.parse(authzid.includes('@') ? authzid : `${authzid}@${host}`);
    return jid.local && !jid.resource && jid.domain === host ? jid.local : undefined;
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

function exchange(ctx: SaslContext): SaslExchange {
  let phase: 'initial' | 'response' | 'refused' | 'done' = 'initial';
  let refusedUser = '';
  return {
    async step(data) {
      if (phase === 'initial' && data === null) {
        phase = 'response';
        return { kind: 'challenge', data: Buffer.alloc(0) };
      }
      const current = phase;
      phase = 'done';
      // RFC 7628 §3.2.3: after the error the client answers (with a lone ^A) and then fails.
      if (current === 'refused' && data !== null) return { kind: 'failure', condition: 'not-authorized', username: refusedUser };
      if (current === 'done' || current === 'refused' || data === null) return malformed('unexpected message');

      let message: string;
      try {
        message = utf8.decode(data);
      } catch {
        return malformed('invalid UTF-8');
      }
      const response = parse(message);
      if (typeof response === 'string') return malformed(response);
      if (response.authzid === '') return malformed('the authzid must name the user (a=user@host)');
      const username = accountOf(response.authzid, ctx.host);
      if (username === undefined) return { kind: 'failure', condition: 'invalid-authzid' };
      if (await (ctx.consumeToken?.(username, response.token) ?? false)) return { kind: 'success', username, authzid: response.authzid };
      phase = 'refused';
      refusedUser = username;
      return { kind: 'challenge', data: INVALID_TOKEN };
    },
  };
}

export function createOAuthBearer(opts: { allowInsecure: boolean }): SaslMechanism {
  return {
    name: 'OAUTHBEARER',
    available: (ctx) => ctx.consumeToken !== undefined && (ctx.secure || opts.allowInsecure),
    start: exchange,
  };
}
