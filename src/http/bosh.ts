// The BOSH endpoint (XEP-0124/0206) at /http-bind/ and /bosh: reads and checks request
// bodies, creates sessions and passes each request to its session.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BoshConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { BoshSession, intAttr, NS_HTTPBIND, terminateBody, type BoshReply } from '../xmpp/c2s/bosh.js';
import type { XmppServer } from '../xmpp/server.js';
import { parseDocument } from '../xmpp/stream/document.js';
import type { AddressLimit } from './address-limit.js';
import { readBody, sendText, type HttpApp, type RequestContext } from './app.js';
import { BOSH_PATH } from './host-meta.js';

export interface BoshEndpointOptions {
  xmpp: XmppServer;
  config: BoshConfig;
  maxDepth: number;
  sessionsPerAddress: AddressLimit;
  log: Logger;
}

/**
 * Content types clients send BOSH bodies with: text/plain avoids a CORS preflight, and
 * XEP-0124 §5 names application/x-www-form-urlencoded for constrained clients.
 */
const ACCEPTED_TYPES = new Set(['text/xml', 'application/xml', 'text/plain', 'application/x-www-form-urlencoded']);
const XML_TYPE = 'text/xml; charset=utf-8';

export class BoshEndpoint {
  private readonly sessions = new Map<string, BoshSession>();

  constructor(private readonly options: BoshEndpointOptions) {}

  register(app: HttpApp): void {
    for (const path of [BOSH_PATH, '/http-bind', '/bosh', '/bosh/']) {
      app.route({ path, methods: ['GET', 'POST'], cors: true, handler: (req, res, ctx) => this.handle(req, res, ctx) });
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Ends every session (hub shutdown): held requests get their terminate answer. */
  closeAll(): void {
    for (const session of [...this.sessions.values()]) session.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    if (req.method === 'GET') {
      return sendText(res, 200, 'This is the BOSH (XEP-0124/XEP-0206) endpoint of a Switchboard hub: POST XMPP <body/> documents here.\n');
    }
    const { config, log } = this.options;
    const type = (req.headers['content-type'] ?? 'text/xml').split(';')[0]!.trim().toLowerCase();
    if (!ACCEPTED_TYPES.has(type)) {
      req.resume();
      log.info({ address: ctx.client.address, type }, 'BOSH request with a wrong content type');
      return sendText(res, 415, terminateBody('bad-request'), XML_TYPE);
    }
    const raw = await readBody(req, config.max_body_size);
    if (raw === undefined) {
      log.info({ address: ctx.client.address, limit: config.max_body_size }, 'BOSH request body too large');
      return sendText(res, 413, terminateBody('bad-request'), XML_TYPE);
    }
    const doc = parseDocument(raw.toString('utf8'), { maxStanzaBytes: config.max_body_size, maxDepth: this.options.maxDepth });
    if (!doc.ok || doc.name !== 'body' || doc.attrs.xmlns !== NS_HTTPBIND) {
      const why = doc.ok ? `<${doc.name}/> is not a BOSH <body/>` : doc.text;
      log.info({ address: ctx.client.address, reason: why }, 'malformed BOSH request');
      return sendText(res, 400, terminateBody('bad-request'), XML_TYPE);
    }
    const reply = replyTo(res);
    const sid = doc.attrs.sid;
    if (sid === undefined) {
      const created = this.create(doc.attrs, reply, ctx);
      if (created) res.once('close', () => created.abandoned(reply));
      return;
    }
    const session = this.sessions.get(sid);
    if (!session) {
      log.info({ address: ctx.client.address, sid }, 'BOSH request for an unknown session');
      return reply.send(terminateBody('item-not-found'));
    }
    res.once('close', () => session.abandoned(reply));
    session.request(doc.attrs, doc.children, reply);
  }

  private create(attrs: Record<string, string>, reply: BoshReply, ctx: RequestContext): BoshSession | undefined {
    const { xmpp, config, sessionsPerAddress, log } = this.options;
    const address = ctx.client.address;
    const refuse = (condition: string, reason: string): undefined => {
      log.info({ address, condition, reason, to: attrs.to }, 'BOSH session refused');
      reply.send(terminateBody(condition));
      return undefined;
    };
    if (intAttr(attrs.rid) === undefined) return refuse('bad-request', 'missing or invalid rid');
    // XEP-0124 §17: a creation request without 'to' lacks the addressing this hub needs.
    if (!attrs.to) return refuse('improper-addressing', 'no "to" attribute');
    if (xmpp.hostConfig(attrs.to.toLowerCase()) === undefined) return refuse('host-unknown', 'host not served here');
    if (!sessionsPerAddress.acquire(address)) {
      log.warn({ address }, 'too many BOSH and WebSocket sessions from one address');
      return refuse('policy-violation', 'too many sessions from this address');
    }
    const limits = {
      maxWait: config.max_wait, maxHold: config.max_hold, maxInactivity: config.max_inactivity,
      maxPause: config.max_pause, polling: config.polling,
    };
    const session = new BoshSession(xmpp, { address, secure: ctx.client.secure }, limits, { ...attrs, to: attrs.to.toLowerCase() }, log,
      (ended) => {
        this.sessions.delete(ended.sid);
        sessionsPerAddress.release(address);
      });
    this.sessions.set(session.sid, session);
    xmpp.accept(session.session);
    session.start(reply);
    return session;
  }
}

function replyTo(res: ServerResponse): BoshReply {
  return {
    send(body: string) {
      if (res.writableEnded || res.destroyed) return;
      const bytes = Buffer.from(body);
      res.writeHead(200, { 'Content-Type': XML_TYPE, 'Content-Length': bytes.length, 'Cache-Control': 'no-store' }).end(bytes);
    },
  };
}
