// The SMS gateway's SMPP 3.4 link to the operator's SMSC, as an ESME, over the smpp package:
// binds (one bind_transceiver, or a bind_transmitter plus a bind_receiver) to the first SMSC of
// the list that accepts, keeps the bind up (enquire_link while idle, reconnection with backoff,
// failover to the next SMSC), sends submit_sm within the window and the throughput, and hands
// each deliver_sm to the gateway, answering with the status the gateway returns.
//
// Delivery is at-least-once. A submit_sm whose response never came (response timeout, link lost
// while it was in flight) rejects as temporary although the SMSC may have accepted it: the queue
// above submits it again, so the SMS may go out twice. A submit that rejects before it was
// written (link down, link lost while it waited for the window) was never sent.
import smpp from 'smpp';
import type { Logger } from '../../src/core/log.js';

export interface SmscEndpoint {
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType: string;
  /** One bind_transceiver, or a bind_transmitter plus a bind_receiver. */
  bind: 'transceiver' | 'transmitter_receiver';
}

export interface LinkOptions {
  /** Tried in order; on failure the next one (failover), then around again with backoff. */
  endpoints: SmscEndpoint[];
  /** submit_sm outstanding (sent, no response yet), at most. */
  window: number;
  /** submit_sm per second at most; 0 = no limit. */
  throughput: number;
  /** enquire_link after this long without a PDU from the SMSC. */
  enquireLinkSeconds: number;
  /** A submit_sm without response in this time fails (temporary); a bind, enquire_link or unbind without one drops the link. */
  responseTimeoutSeconds: number;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  log: Logger;
}

export type LinkState = 'down' | 'connecting' | 'bound';

/** Returns the deliver_sm_resp command_status (0 = ESME_ROK). */
export type DeliverHandler = (pdu: Record<string, unknown>) => Promise<number>;

export interface LinkStats {
  /** submit_sm accepted by the SMSC. */
  submitted: number;
  /** submit_sm answered ESME_RTHROTTLED or ESME_RMSGQFUL (also counted in failed). */
  throttled: number;
  /** submit() calls that rejected, whatever the reason. */
  failed: number;
  /** deliver_sm received. */
  received: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** submit_sm sent and not answered yet. */
  inFlight: number;
}

// Pseudo-statuses (negative: never an SMPP command_status) for failures of the link itself.
/** The link is down or went down: the submit_sm was not sent, or its response was lost. Temporary. */
export const LINK_DOWN = -1;
/** No submit_sm_resp within responseTimeoutSeconds: the SMSC may have accepted it. Temporary. */
export const RESPONSE_TIMEOUT = -2;
/** The smpp package could not encode the params (e.g. a short_message over 254 octets). Permanent. */
export const ENCODE_FAILED = -3;

const { errors } = smpp;
const SMPP_3_4 = 0x34;
/** Submitting pauses this long after ESME_RTHROTTLED / ESME_RMSGQFUL. */
const THROTTLE_PAUSE_MS = 1_000;
/** The shortest reconnection delay and enquire_link interval, whatever the configuration: no busy loop. */
const MIN_INTERVAL_MS = 100;
const STOP_POLL_MS = 20;

const NAMES = new Map<number, string>([
  ...Object.entries(errors).map(([name, status]): [number, string] => [status, name]),
  [LINK_DOWN, 'LINK_DOWN'],
  [RESPONSE_TIMEOUT, 'RESPONSE_TIMEOUT'],
  [ENCODE_FAILED, 'ENCODE_FAILED'],
]);

const TEMPORARY = new Set([
  'ESME_RINVBNDSTS', 'ESME_RSYSERR', 'ESME_RMSGQFUL', 'ESME_RTHROTTLED', 'ESME_RX_T_APPN', 'LINK_DOWN', 'RESPONSE_TIMEOUT',
]);
const THROTTLING = new Set([errors.ESME_RTHROTTLED, errors.ESME_RMSGQFUL]);

const EXPLANATIONS: Readonly<Record<string, string>> = {
  ESME_ROK: 'no error',
  ESME_RINVMSGLEN: 'the message is too long or its length is invalid',
  ESME_RINVCMDLEN: 'the SMSC could not read the request (invalid command length)',
  ESME_RINVCMDID: 'the SMSC does not support this request',
  ESME_RINVBNDSTS: 'the SMSC does not consider the link bound for this request',
  ESME_RALYBND: 'the link is already bound',
  ESME_RINVPRTFLG: 'invalid priority flag',
  ESME_RINVREGDLVFLG: 'invalid delivery receipt request',
  ESME_RSYSERR: 'the SMSC had a system error',
  ESME_RINVSRCADR: 'the sender address is invalid',
  ESME_RINVDSTADR: 'the destination number is invalid',
  ESME_RINVMSGID: 'the message id is invalid',
  ESME_RBINDFAIL: 'the SMSC refused the bind',
  ESME_RINVPASWD: 'the SMSC refused the password',
  ESME_RINVSYSID: 'the SMSC does not know this system_id',
  ESME_RMSGQFUL: 'the SMSC\'s message queue is full',
  ESME_RINVSERTYP: 'invalid service type',
  ESME_RINVESMCLASS: 'invalid esm_class',
  ESME_RSUBMITFAIL: 'the SMSC could not accept the message',
  ESME_RINVSRCTON: 'the sender address type (TON) is invalid',
  ESME_RINVSRCNPI: 'the sender numbering plan (NPI) is invalid',
  ESME_RINVDSTTON: 'the destination number type (TON) is invalid',
  ESME_RINVDSTNPI: 'the destination numbering plan (NPI) is invalid',
  ESME_RINVSYSTYP: 'the SMSC refused the system_type',
  ESME_RTHROTTLED: 'the SMSC is throttling: too many messages per second',
  ESME_RINVSCHED: 'invalid scheduled delivery time',
  ESME_RINVEXPIRY: 'invalid validity period',
  ESME_RX_T_APPN: 'temporary error at the SMSC',
  ESME_RX_P_APPN: 'the SMSC rejected the message for good',
  ESME_RX_R_APPN: 'the SMSC rejected the message',
  ESME_RINVTLVSTREAM: 'the SMSC could not read the optional parameters',
  ESME_RTLVNOTALLWD: 'an optional parameter is not allowed',
  ESME_RINVTLVLEN: 'an optional parameter has an invalid length',
  ESME_RMISSINGTLV: 'a required optional parameter is missing',
  ESME_RINVTLVVAL: 'an optional parameter has an invalid value',
  ESME_RINVDCS: 'the SMSC does not support this character encoding',
  ESME_RDELIVERYFAILURE: 'delivery failed',
  ESME_RUNKNOWNERR: 'unknown error at the SMSC',
  ESME_RPROHIBITED: 'the SMSC does not allow this message',
  LINK_DOWN: 'the link to the SMS centre is down',
  RESPONSE_TIMEOUT: 'the SMS centre did not answer in time (the message may have been accepted)',
  ENCODE_FAILED: 'the message could not be encoded as an SMPP request',
};

/** e.g. 0x58 → 'ESME_RTHROTTLED'; unknown statuses as hex ('0x00000400'). */
export function statusName(status: number): string {
  return NAMES.get(status) ?? `0x${(status >>> 0).toString(16).padStart(8, '0')}`;
}

/** Human text for users and logs. */
export function explainStatus(status: number): string {
  const name = statusName(status);
  if (EXPLANATIONS[name]) return EXPLANATIONS[name];
  return status >= 0x400 && status <= 0x4ff ? `SMSC-specific error ${name}` : `error ${name} from the SMSC`;
}

export class SmppError extends Error {
  readonly statusName: string;
  /** Throttling, queue full, system errors, timeouts, link down: worth retrying. */
  readonly temporary: boolean;

  constructor(readonly status: number, message?: string) {
    const name = statusName(status);
    super(message ?? `${name}: ${explainStatus(status)}`);
    this.name = 'SmppError';
    this.statusName = name;
    this.temporary = TEMPORARY.has(name);
  }
}

type Role = 'transceiver' | 'transmitter' | 'receiver';

interface Conn {
  readonly role: Role;
  readonly session: smpp.Session;
  /** The link's generation it belongs to: events of an older one are ignored. */
  readonly generation: number;
  lastReceived: number;
  bound: boolean;
  /** Bind, enquire_link and unbind sent and waiting for their response, by sequence_number. */
  readonly requests: Map<number, { onResponse: (pdu: smpp.PDU) => void; timer: NodeJS.Timeout }>;
  /** The connect deadline, then the idle check. */
  timer: NodeJS.Timeout | undefined;
}

interface Pending {
  params: Record<string, unknown>;
  resolve(messageId: string): void;
  reject(err: SmppError): void;
}

interface ReadyWaiter {
  resolve(): void;
  reject(err: SmppError): void;
}

export class SmppLink {
  private readonly counts = { submitted: 0, throttled: 0, failed: 0, received: 0, reconnects: 0 };
  private readonly log: Logger;
  private readonly responseMs: number;
  private _state: LinkState = 'down';
  private _endpoint: string | undefined;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private generation = 0;
  private conns: Conn[] = [];
  /** The connection submit_sm go through (the transceiver or the transmitter). */
  private tx: Conn | undefined;
  private endpointIndex = 0;
  /** Failed connection attempts since the last bind. */
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly waiting = new Fifo<Pending>();
  private readonly inFlight = new Map<number, Pending & { timer: NodeJS.Timeout }>();
  /** Times of the last max(1, ⌊throughput⌋) submit_sm, a ring. */
  private readonly sendTimes: number[];
  private sendIndex = 0;
  /** 1000 / throughput; 0: no limit. */
  private readonly spacingMs: number;
  /** When the next submit_sm may go at the throughput's even pace. */
  private nextSlot = -Infinity;
  private pausedUntil = 0;
  private readonly readyWaiters = new Set<ReadyWaiter>();

  constructor(private readonly options: LinkOptions, private readonly onDeliver: DeliverHandler) {
    if (options.endpoints.length === 0) throw new Error('SmppLink needs at least one SMSC endpoint');
    this.log = options.log;
    this.responseMs = options.responseTimeoutSeconds * 1000;
    this.spacingMs = options.throughput > 0 ? 1000 / options.throughput : 0;
    this.sendTimes = new Array<number>(Math.max(1, Math.floor(options.throughput))).fill(-Infinity);
  }

  get state(): LinkState {
    return this._state;
  }

  /** 'host:port' bound to. */
  get endpoint(): string | undefined {
    return this._endpoint;
  }

  get stats(): LinkStats {
    return { ...this.counts, inFlight: this.inFlight.size };
  }

  /** Connects and binds, and keeps the link up until stop(). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.connect();
  }

  /** Lets what is in flight get its response, unbinds, closes; no reconnection afterwards. Bounded by twice the response timeout. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Sends one submit_sm (params as the smpp package takes them) once the window, the throughput
   * and a throttling pause allow; resolves with the SMSC's message_id. Rejects with SmppError:
   * temporary when the link is down or goes down, the SMSC throttles or does not answer in time.
   * After a timeout or a link lost with it in flight the SMSC may have accepted it all the same:
   * a retry can send it twice (at-least-once), never zero times silently.
   */
  submit(params: Record<string, unknown>): Promise<string> {
    if (this.stopped || this._state !== 'bound') {
      this.counts.failed++;
      return Promise.reject(new SmppError(LINK_DOWN, `the SMPP link is ${this.stopped ? 'stopped' : this._state}: submit_sm not sent`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ params, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when bound, rejects after timeoutMs. */
  ready(timeoutMs: number): Promise<void> {
    if (this._state === 'bound') return Promise.resolve();
    if (this.stopped) return Promise.reject(new SmppError(LINK_DOWN, 'the SMPP link is stopped'));
    return new Promise((resolve, reject) => {
      const waiter: ReadyWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        reject(new SmppError(LINK_DOWN, `the SMPP link did not bind within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  private connect(): void {
    const endpoint = this.options.endpoints[this.endpointIndex]!;
    const roles: Role[] = endpoint.bind === 'transceiver' ? ['transceiver'] : ['transmitter', 'receiver'];
    const generation = ++this.generation;
    this._state = 'connecting';
    try {
      for (const role of roles) this.conns.push(this.open(endpoint, role, generation));
    } catch (err) {
      // net.connect throws at once on some bad options (a port out of range): the next SMSC then.
      return this.lose(`cannot connect to ${endpoint.host}:${endpoint.port}: ${(err as Error).message}`);
    }
    this.tx = this.conns.find((conn) => conn.role !== 'receiver');
  }

  private open(endpoint: SmscEndpoint, role: Role, generation: number): Conn {
    const where = `${endpoint.host}:${endpoint.port}`;
    const session = smpp.connect({ host: endpoint.host, port: endpoint.port });
    const conn: Conn = { role, session, generation, lastReceived: Date.now(), bound: false, requests: new Map(), timer: undefined };
    const current = (): boolean => conn.generation === this.generation;
    conn.timer = setTimeout(() => this.lose(`no connection to ${where} within ${this.options.responseTimeoutSeconds} s`), this.responseMs);
    session.on('connect', () => {
      if (!current()) return;
      clearTimeout(conn.timer);
      session.socket.setNoDelay(true);
      const bind = { system_id: endpoint.systemId, password: endpoint.password, system_type: endpoint.systemType, interface_version: SMPP_3_4 };
      this.request(conn, `bind_${role}`, bind, (resp) => this.onBindResp(conn, where, resp));
    });
    session.on('pdu', (pdu) => {
      if (current()) this.receive(conn, pdu);
    });
    session.on('error', (err) => {
      if (current()) this.onError(conn, where, err);
    });
    session.on('close', () => {
      if (current()) this.lose(`the connection to ${where} closed`);
    });
    return conn;
  }

  private onBindResp(conn: Conn, where: string, resp: smpp.PDU): void {
    if (resp.command_status !== 0 || resp.command !== `bind_${conn.role}_resp`) {
      const status = resp.command_status || errors.ESME_RBINDFAIL;
      this.log.error(
        { smsc: where, bind: conn.role, status: statusName(status) },
        `SMSC ${where} refused bind_${conn.role}: ${statusName(status)} (${explainStatus(status)})`,
      );
      return this.lose(`bind_${conn.role} refused`);
    }
    conn.bound = true;
    this.watchIdle(conn);
    if (!this.conns.every((c) => c.bound)) return;
    this._state = 'bound';
    this._endpoint = where;
    this.failures = 0;
    this.log.info({ smsc: where, bind: this.conns.map((c) => c.role).join('+'), smscId: resp.system_id }, 'SMPP link bound');
    for (const waiter of this.readyWaiters) waiter.resolve();
    this.readyWaiters.clear();
    this.pump();
  }

  /** enquire_link when nothing came from the SMSC for enquireLinkSeconds; its response timing out drops the link. */
  private watchIdle(conn: Conn): void {
    const idleMs = Math.max(MIN_INTERVAL_MS, this.options.enquireLinkSeconds * 1000);
    const check = (): void => {
      const quiet = Date.now() - conn.lastReceived;
      if (quiet < idleMs) {
        conn.timer = setTimeout(check, idleMs - quiet);
        return;
      }
      this.request(conn, 'enquire_link', {}, () => {});
      if (conn.generation === this.generation) conn.timer = setTimeout(check, idleMs);
    };
    conn.timer = setTimeout(check, idleMs);
  }

  /** Sends a session-level request; no response within the response timeout drops the link. */
  private request(conn: Conn, command: string, params: Record<string, unknown>, onResponse: (pdu: smpp.PDU) => void): void {
    const pdu = new smpp.PDU(command, params);
    if (!conn.session.send(pdu)) return this.lose(`${command} could not be sent`);
    const timer = setTimeout(() => {
      conn.requests.delete(pdu.sequence_number);
      this.lose(`no ${command}_resp within ${this.options.responseTimeoutSeconds} s`);
    }, this.responseMs);
    conn.requests.set(pdu.sequence_number, { onResponse, timer });
  }

  private receive(conn: Conn, pdu: smpp.PDU): void {
    conn.lastReceived = Date.now();
    // An exception must not reach the smpp package's read loop: it would wedge the session.
    try {
      if (pdu.isResponse() && pdu.command !== 'unknown') this.onResponse(conn, pdu);
      else this.onRequest(conn, pdu);
    } catch (err) {
      this.log.error({ err, command: pdu.command }, 'SMPP PDU handling failed');
      this.lose('PDU handling failed');
    }
  }

  private onResponse(conn: Conn, pdu: smpp.PDU): void {
    const seq = pdu.sequence_number;
    const submit = conn === this.tx ? this.inFlight.get(seq) : undefined;
    if (submit) {
      this.inFlight.delete(seq);
      clearTimeout(submit.timer);
      if (pdu.command === 'submit_sm_resp' && pdu.command_status === 0) {
        this.counts.submitted++;
        submit.resolve(String(pdu.message_id ?? ''));
      } else {
        this.onSubmitRefused(submit, pdu.command_status || errors.ESME_RSYSERR);
      }
      this.pump();
      return;
    }
    const request = conn.requests.get(seq);
    if (request) {
      conn.requests.delete(seq);
      clearTimeout(request.timer);
      request.onResponse(pdu);
      return;
    }
    this.log.warn(
      { command: pdu.command, status: statusName(pdu.command_status), sequence: seq },
      pdu.command === 'submit_sm_resp' && pdu.command_status === 0
        ? 'submit_sm_resp after its timeout: the SMSC accepted a message reported failed (it may go out twice)'
        : 'SMPP response to no request of ours: ignored',
    );
  }

  private onSubmitRefused(submit: Pending, status: number): void {
    if (THROTTLING.has(status)) {
      this.counts.throttled++;
      this.pausedUntil = Date.now() + THROTTLE_PAUSE_MS;
    }
    this.fail(submit, new SmppError(status));
    if (status === errors.ESME_RINVBNDSTS) this.lose('the SMSC does not consider the link bound');
  }

  private onRequest(conn: Conn, pdu: smpp.PDU): void {
    switch (pdu.command) {
      case 'deliver_sm':
        return this.onDeliverSm(conn, pdu);
      case 'enquire_link':
        conn.session.send(pdu.response());
        return;
      case 'unbind':
        this.log.warn('the SMSC unbound the SMPP link');
        return this.closeWith(conn, pdu.response(), 'the SMSC unbound');
      case 'alert_notification': // has no response
        this.log.info({ source: pdu.source_addr }, 'alert_notification from the SMSC: ignored');
        return;
      default:
        this.log.warn({ command: pdu.command, commandId: pdu.command_id }, 'unsupported PDU from the SMSC: answered generic_nack');
        conn.session.send(new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: errors.ESME_RINVCMDID }));
    }
  }

  private onDeliverSm(conn: Conn, pdu: smpp.PDU): void {
    this.counts.received++;
    const answer = (status: number): void => {
      if (!conn.session.send(pdu.response(status ? { command_status: status } : {}))) {
        this.log.debug({ sequence: pdu.sequence_number }, 'deliver_sm not answered: its connection is gone (the SMSC delivers it again)');
      }
    };
    Promise.resolve(pdu)
      .then(this.onDeliver)
      .then(answer, (err: unknown) => {
        this.log.error({ err }, 'deliver_sm handler failed: answered ESME_RX_T_APPN (the SMSC delivers it again)');
        answer(errors.ESME_RX_T_APPN);
      });
  }

  private onError(conn: Conn, where: string, err: Error): void {
    if ('syscall' in err) return this.lose(`connection to ${where}: ${err.message}`);
    // The package could not decode a PDU (bad command_length, truncated body): its reader stops
    // for good and the stream cannot be resynchronised, so tell the SMSC and start over.
    this.log.warn({ smsc: where, err: err.message }, 'malformed PDU from the SMSC: generic_nack, reconnecting');
    this.closeWith(conn, new smpp.PDU('generic_nack', { command_status: errors.ESME_RINVCMDLEN }), `malformed PDU: ${err.message}`);
  }

  /** Sends a last PDU on the connection, closes it once written, and drops the link. */
  private closeWith(conn: Conn, last: smpp.PDU, reason: string): void {
    this.conns = this.conns.filter((c) => c !== conn);
    this.release(conn);
    if (!conn.session.send(last, undefined, () => conn.session.destroy())) conn.session.destroy();
    this.lose(reason);
  }

  /** The link failed: tear it down and, unless stopped, connect again (the next SMSC if it was not bound). */
  private lose(reason: string): void {
    const wasBound = this._state === 'bound';
    this.teardown(reason);
    if (this.stopped) return;
    const endpoints = this.options.endpoints;
    if (!wasBound) {
      this.failures++;
      this.endpointIndex = (this.endpointIndex + 1) % endpoints.length;
    }
    const { minDelayMs, maxDelayMs } = this.options.reconnect;
    // Failover through the list at the minimum delay, doubling each time around.
    const delay = Math.max(MIN_INTERVAL_MS, Math.min(maxDelayMs, minDelayMs * 2 ** Math.floor(this.failures / endpoints.length)));
    const next = endpoints[this.endpointIndex]!;
    this.log.warn({ reason, next: `${next.host}:${next.port}`, delayMs: delay }, wasBound ? 'SMPP link lost' : 'SMPP connection failed');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.counts.reconnects++;
      this.connect();
    }, delay);
  }

  /** Closes the connections; in-flight and waiting submits reject as temporary. Idempotent. */
  private teardown(reason: string): void {
    this.generation++;
    for (const conn of this.conns) {
      this.release(conn);
      conn.session.destroy();
    }
    this.conns = [];
    this.tx = undefined;
    this._state = 'down';
    this._endpoint = undefined;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    for (const submit of this.inFlight.values()) {
      clearTimeout(submit.timer);
      this.fail(submit, new SmppError(LINK_DOWN, `SMPP link lost with the submit_sm in flight (${reason}): the SMSC may have accepted it`));
    }
    this.inFlight.clear();
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      this.fail(next, new SmppError(LINK_DOWN, `SMPP link lost (${reason}): submit_sm not sent`));
    }
  }

  private release(conn: Conn): void {
    clearTimeout(conn.timer);
    for (const request of conn.requests.values()) clearTimeout(request.timer);
    conn.requests.clear();
  }

  /** Sends waiting submits while the window, the throughput and a throttling pause allow. */
  private pump(): void {
    const tx = this.tx;
    if (!tx || this._state !== 'bound') return;
    while (this.waiting.length > 0 && this.inFlight.size < this.options.window) {
      const wait = this.sendDelay(Date.now());
      if (wait > 0) {
        this.pumpTimer ??= setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      this.send(tx, this.waiting.shift()!);
      if (tx.generation !== this.generation) return;
    }
  }

  /** Milliseconds until the next submit_sm may go. */
  private sendDelay(now: number): number {
    const paused = this.pausedUntil - now;
    if (this.spacingMs === 0) return paused;
    // Evenly spaced sends (a backlog does not go out in one burst per second), and the last n
    // sends spanning n spacings (a second when throughput ≥ 1): never more than `throughput` in
    // any second, even when the even pace catches up with a late timer.
    const oldest = this.sendTimes[this.sendIndex]!;
    return Math.max(paused, this.nextSlot - now, oldest + this.sendTimes.length * this.spacingMs - now);
  }

  private send(tx: Conn, submit: Pending): void {
    let pdu: smpp.PDU;
    try {
      // sequence_number and command_status are the link's, whatever the params say.
      pdu = new smpp.PDU('submit_sm', { ...submit.params, sequence_number: 0, command_status: 0 });
      if (!tx.session.send(pdu)) return this.fail(submit, new SmppError(LINK_DOWN, 'the SMPP connection is closing: submit_sm not sent'));
    } catch (err) {
      return this.fail(submit, new SmppError(ENCODE_FAILED, `submit_sm could not be encoded: ${(err as Error).message}`));
    }
    const now = Date.now();
    this.nextSlot = Math.max(this.nextSlot, now - this.spacingMs) + this.spacingMs; // catching up one spacing at most
    this.sendTimes[this.sendIndex] = now;
    this.sendIndex = (this.sendIndex + 1) % this.sendTimes.length;
    const seq = pdu.sequence_number;
    const timer = setTimeout(() => this.expire(seq), this.responseMs);
    this.inFlight.set(seq, { ...submit, timer });
  }

  private expire(seq: number): void {
    const submit = this.inFlight.get(seq);
    if (!submit) return;
    this.inFlight.delete(seq);
    this.fail(submit, new SmppError(RESPONSE_TIMEOUT, `no submit_sm_resp within ${this.options.responseTimeoutSeconds} s: the SMSC may have accepted it`));
    this.pump();
  }

  private fail(submit: Pending, err: SmppError): void {
    this.counts.failed++;
    submit.reject(err);
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    for (const waiter of this.readyWaiters) waiter.reject(new SmppError(LINK_DOWN, 'the SMPP link stopped'));
    this.readyWaiters.clear();
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      this.fail(next, new SmppError(LINK_DOWN, 'the SMPP link is stopping: submit_sm not sent'));
    }
    if (this._state === 'bound') {
      const generation = this.generation;
      const current = (): boolean => generation === this.generation;
      // Responses to what is in flight first, then an unbind on each connection; a request
      // timing out or the connection closing tears the link down, which ends the waits too.
      await waitUntil(() => !current() || this.inFlight.size === 0, this.responseMs);
      if (current()) {
        let unbound = 0;
        const conns = this.conns;
        for (const conn of conns) this.request(conn, 'unbind', {}, () => unbound++);
        await waitUntil(() => !current() || unbound === conns.length, this.responseMs);
      }
    }
    this.teardown('stopped');
    this.log.info('SMPP link stopped');
  }
}

/** Polls `done` until it holds or `ms` passed. */
async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
}

/** A FIFO without Array#shift's copying on long queues. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

// smpp 0.5.1 waits forever on a command_length below 16 (it never becomes a PDU, and the
// session reads nothing after it): make that a decode error, like an oversized one.
const readCommandLength = smpp.PDU.commandLength;
smpp.PDU.commandLength = (stream) => {
  const length = readCommandLength(stream);
  if (length !== false && length < 16) throw new Error(`invalid command_length ${length}`);
  return length;
};
