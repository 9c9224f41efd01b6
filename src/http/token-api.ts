// POST /api/v1/token: a webmail backend that has authenticated its user asks for a login
// token, which the web client then presents with SASL OAUTHBEARER. Server to server: the
// caller proves itself with the host's `sso_api_key` as a bearer key, so the route has no CORS
// and the key never reaches a browser.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostConfig } from '../config/schema.js';
import { Jid, JidError } from '../core/jid.js';
import type { Logger } from '../core/log.js';
import type { LoginTokens } from '../directory/login-tokens.js';
import { DirectoryUnavailable, type Directory } from '../directory/port.js';
import type { LoginThrottle } from '../xmpp/sasl/throttle.js';
import { readBody, sendJson, type HttpApp, type RequestContext } from './app.js';

export const TOKEN_PATH = '/api/v1/token';
/** A JID is at most 3071 octets (RFC 7622); anything much larger is not a token request. */
const MAX_BODY_BYTES = 4096;

export interface TokenApiOptions {
  /** The hosts, the accounts, and the failed-login throttle the wrong keys count against. */
  xmpp: {
    hostConfig(domain: string): HostConfig | undefined;
    readonly directory: Directory;
    readonly throttle: LoginThrottle;
  };
  tokens: LoginTokens;
  log: Logger;
}

export function registerTokenApi(app: HttpApp, options: TokenApiOptions): void {
  app.route({ path: TOKEN_PATH, methods: ['POST'], cors: false, handler: (req, res, ctx) => issue(req, res, ctx, options) });
}

async function issue(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, options: TokenApiOptions): Promise<void> {
  const { xmpp, tokens, log } = options;
  const address = ctx.client.address;
  const fail = (status: number, error: string): void => sendJson(res, status, { error });
  const unauthorized = (error: string): void => {
    res.setHeader('WWW-Authenticate', 'Bearer realm="switchboard"');
    fail(401, error);
  };

  const throttled = xmpp.throttle.check(address);
  if (!throttled.allowed) {
    res.setHeader('Retry-After', String(throttled.retryAfterSeconds));
    return fail(429, 'too many failed requests from this address');
  }
  const key = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (key === undefined) return unauthorized('an "Authorization: Bearer <key>" header is required');
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return fail(415, 'the body must be application/json');
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) return fail(413, 'request body too large');
  const jid = requestedJid(body);
  if (jid === undefined) return fail(400, 'the body must be {"jid": "user@host"} with a bare JID');

  const host = xmpp.hostConfig(jid.domain);
  if (!host) return fail(404, `${jid.domain} is not a host of this server`);
  if (host.sso_api_key === undefined) return fail(403, `single sign-on is not enabled for ${jid.domain}`);
  if (!sameSecret(key, host.sso_api_key)) {
    xmpp.throttle.failure(address);
    log.warn({ address, host: jid.domain }, 'token request with a wrong API key');
    return unauthorized('wrong API key');
  }
  let exists: boolean;
  try {
    exists = await xmpp.directory.userExists(jid.domain, jid.local);
  } catch (err) {
    if (!(err instanceof DirectoryUnavailable)) throw err;
    res.setHeader('Retry-After', '10');
    return fail(503, 'the user directory is unavailable; try again later');
  }
  if (!exists) return fail(404, `no user ${jid.bareString}`);

  const { token, expiresIn } = tokens.issue(jid.bareString);
  log.info({ jid: jid.bareString, address }, 'login token issued');
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, 200, { jid: jid.bareString, token, expires_in: expiresIn });
}

/** The bare JID of a `{"jid": "..."}` body, prepared; undefined when the body is anything else. */
function requestedJid(body: Buffer): Jid | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const text = typeof value === 'object' && value !== null ? (value as { jid?: unknown }).jid : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    const jid = Jid.parse(text);
    return jid.local && !jid.resource ? jid : undefined;
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

/** Compares in constant time: hashing first makes the lengths equal too. */
function sameSecret(presented: string, configured: string): boolean {
  const hash = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(hash(presented), hash(configured));
}
