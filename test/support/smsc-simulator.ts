// An SMSC simulator for tests and benches, run as its own process and built on the smpp
// package's server:
//
//   node dist/test/support/smsc-simulator.js --port 0 [--host 127.0.0.1] [--system-id test]
//        [--password secret] [--quiet-submits]
//
// It accepts binds with those credentials, answers submit_sm with unique message ids and prints
// one JSON line per event on stdout, each with "t" (Date.now()):
//   listening {port} · connect/close {session} · error {session?, message}
//   bind {session, mode: transceiver|transmitter|receiver, system_id, system_type,
//         interface_version, command_status}
//   submit_sm {session, sequence_number, outstanding (answers pending on the session, this one
//         included; swallowed ones not counted), command_status (absent when swallowed),
//         message_id?, source_addr, source_addr_ton, source_addr_npi, destination_addr,
//         dest_addr_ton, dest_addr_npi, esm_class, data_coding, registered_delivery,
//         short_message_hex (the octets after the UDH), udh_hex? (UDHL included, when esm_class
//         has UDHI), sar? {ref, total, seq}, message_payload_hex?}   (not with --quiet-submits)
//   deliver_sm {session, sequence_number, esm_class, tag?} then deliver_sm_resp {session,
//         sequence_number, command_status, tag?}
//   enquire_link / unbind {session} (from the ESME) · enquire_link_resp / unbind_resp /
//         generic_nack {session, sequence_number, command_status}
//   pdu {session, command, command_id}: any other PDU (a request is answered generic_nack)
//   muted {session, command} · ack {id?, cmd}: after each command
//
// Commands, one JSON object per line on stdin ("id" is echoed in the ack):
//   deliver {source_addr, destination_addr, source_addr_ton?, source_addr_npi?, dest_addr_ton?,
//         dest_addr_npi?, short_message_hex | text + encoding (gsm: data_coding 0, the default |
//         ascii: 1 | latin1: 3 | ucs2: 8), data_coding?, esm_class?, udh_hex? (sets UDHI),
//         payload? (the octets in message_payload instead), params? (more PDU fields), tag?}
//   receipt {message_id, stat: DELIVRD|UNDELIV|REJECTD|EXPIRED|..., err?, tag?}: the standard
//         receipt text, receipted_message_id and message_state TLVs, esm_class 0x04
//   auto_receipt {on, stat?, delay_ms?}: a receipt for each accepted submit_sm that asks for
//         one (registered_delivery & 3)
//   throttle {count}: the next ones ESME_RTHROTTLED · reject {count, status: number | name}
//   no_response {count}: swallow the next ones · window_delay_ms {ms}: delay every submit_sm_resp
//   refuse_binds {on, status?}: ESME_RBINDFAIL by default · drop: destroy every connection
//   garbage {hex?}: raw bytes to every connection · unknown_pdu {command_id?}
//   enquire_link · unbind: sent to every connection · mute {on}: answer nothing (a hung SMSC)
// Malformed PDUs are answered generic_nack (ESME_RINVCMDLEN) and their connection closed. The
// process exits when stdin closes (its parent is gone).
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import smpp from 'smpp';

type Mode = 'transceiver' | 'transmitter' | 'receiver';
type Command = Record<string, unknown>;

interface Sim {
  readonly id: number;
  readonly session: smpp.Session;
  mode: Mode | undefined;
  outstanding: number;
  /** Tags of the deliver_sm sent, by sequence_number, until answered. */
  readonly tags: Map<number, unknown>;
}

/** Addressing of an accepted submit_sm, for its receipt. */
interface Submitted {
  source_addr: unknown;
  source_addr_ton: unknown;
  source_addr_npi: unknown;
  destination_addr: unknown;
  dest_addr_ton: unknown;
  dest_addr_npi: unknown;
  text: Buffer;
  at: Date;
}

const { errors } = smpp;
const MAX_REMEMBERED = 100_000;
const DATA_CODING: Readonly<Record<string, number>> = { gsm: 0, ascii: 1, latin1: 3, ucs2: 8 };
const MESSAGE_STATE: Readonly<Record<string, number>> = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
const DEFAULT_GARBAGE = 'ffffffffdeadbeefdeadbeefdeadbeef';

// submit_sm's octets as they came: no decoding into text.
delete smpp.commands.submit_sm!.params!.short_message!.filter;
delete smpp.tlvs.message_payload!.filter;

// smpp 0.5.1 waits forever on a command_length below 16: make it a decode error.
const readCommandLength = smpp.PDU.commandLength;
smpp.PDU.commandLength = (stream) => {
  const length = readCommandLength(stream);
  if (length !== false && length < 16) throw new Error(`invalid command_length ${length}`);
  return length;
};

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const name = process.argv[i]!.replace(/^--/, '');
  if (name === 'quiet-submits') args.set(name, 'true');
  else args.set(name, process.argv[++i] ?? '');
}
const systemId = args.get('system-id') ?? 'test';
const password = args.get('password') ?? 'secret';
const quietSubmits = args.has('quiet-submits');

const sims = new Set<Sim>();
const submitted = new Map<string, Submitted>();
const idPrefix = randomBytes(3).toString('hex');
let lastId = 0;
let lastSessionId = 0;
let unknownSequence = 0x7fff0000;
let throttle = 0;
let noResponse = 0;
let windowDelayMs = 0;
let muted = false;
let rejecting = { count: 0, status: 0 };
let refuseStatus: number | undefined;
let autoReceipt: { stat: string; delayMs: number } | undefined;

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields, t: Date.now() })}\n`);
}

const server = smpp.createServer((session) => {
  const sim: Sim = { id: ++lastSessionId, session, mode: undefined, outstanding: 0, tags: new Map() };
  sims.add(sim);
  session.socket.setNoDelay(true);
  emit('connect', { session: sim.id });
  session.on('pdu', (pdu) => {
    try {
      onPdu(sim, pdu);
    } catch (err) {
      emit('error', { session: sim.id, message: `handling ${pdu.command}: ${(err as Error).message}` });
    }
  });
  session.on('error', (err) => {
    emit('error', { session: sim.id, message: err.message });
    if ('syscall' in err) return;
    // Undecodable PDU: the package's reader is stuck for good.
    const nack = new smpp.PDU('generic_nack', { command_status: errors.ESME_RINVCMDLEN });
    if (!session.send(nack, undefined, () => session.destroy())) session.destroy();
  });
  session.on('close', () => {
    sims.delete(sim);
    emit('close', { session: sim.id });
  });
});
server.on('error', (err) => {
  emit('error', { message: err.message });
  process.exit(1);
});
server.listen(Number(args.get('port') ?? 0), args.get('host') ?? '127.0.0.1', () => {
  emit('listening', { port: (server.address() as { port: number }).port });
});

function onPdu(sim: Sim, pdu: smpp.PDU): void {
  if (muted) return emit('muted', { session: sim.id, command: pdu.command });
  if (pdu.isResponse() && pdu.command !== 'unknown') {
    const tag = sim.tags.get(pdu.sequence_number);
    sim.tags.delete(pdu.sequence_number);
    emit(pdu.command, { session: sim.id, sequence_number: pdu.sequence_number, command_status: pdu.command_status, tag });
    if (pdu.command === 'unbind_resp') sim.session.close();
    return;
  }
  switch (pdu.command) {
    case 'bind_transceiver':
    case 'bind_transmitter':
    case 'bind_receiver':
      return onBind(sim, pdu);
    case 'submit_sm':
      return onSubmit(sim, pdu);
    case 'enquire_link':
      emit('enquire_link', { session: sim.id });
      sim.session.send(pdu.response());
      return;
    case 'unbind':
      emit('unbind', { session: sim.id });
      sim.session.send(pdu.response(), undefined, () => sim.session.close());
      return;
    default:
      emit('pdu', { session: sim.id, command: pdu.command, command_id: pdu.command_id });
      sim.session.send(new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: errors.ESME_RINVCMDID }));
  }
}

function onBind(sim: Sim, pdu: smpp.PDU): void {
  const mode = pdu.command.slice('bind_'.length) as Mode;
  let status = 0;
  if (refuseStatus !== undefined) status = refuseStatus;
  else if (sim.mode) status = errors.ESME_RALYBND;
  else if (pdu.system_id !== systemId) status = errors.ESME_RINVSYSID;
  else if (pdu.password !== password) status = errors.ESME_RINVPASWD;
  const { system_id, system_type, interface_version } = pdu;
  emit('bind', { session: sim.id, mode, system_id, system_type, interface_version, command_status: status });
  if (status) {
    sim.session.send(pdu.response({ command_status: status }), undefined, () => sim.session.close());
    return;
  }
  sim.mode = mode;
  sim.session.send(pdu.response({ system_id: 'SMSCSIM' }));
}

function onSubmit(sim: Sim, pdu: smpp.PDU): void {
  let status: number | undefined = 0; // undefined: swallowed
  if (sim.mode !== 'transceiver' && sim.mode !== 'transmitter') status = errors.ESME_RINVBNDSTS;
  else if (noResponse > 0) {
    noResponse--;
    status = undefined;
  } else if (throttle > 0) {
    throttle--;
    status = errors.ESME_RTHROTTLED;
  } else if (rejecting.count > 0) {
    rejecting.count--;
    status = rejecting.status;
  }
  const octets = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  const udhLength = Number(pdu.esm_class) & 0x40 && octets.length > 0 ? Math.min(octets.length, octets[0]! + 1) : 0;
  const messageId = status === 0 ? `${idPrefix}${(++lastId).toString(16).padStart(8, '0')}` : undefined;
  if (status !== undefined) sim.outstanding++;
  if (!quietSubmits) {
    const { source_addr, source_addr_ton, source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi } = pdu;
    emit('submit_sm', {
      session: sim.id,
      sequence_number: pdu.sequence_number,
      outstanding: sim.outstanding,
      command_status: status,
      message_id: messageId,
      source_addr, source_addr_ton, source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi,
      esm_class: pdu.esm_class,
      data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
      short_message_hex: octets.subarray(udhLength).toString('hex'),
      udh_hex: udhLength ? octets.subarray(0, udhLength).toString('hex') : undefined,
      sar: pdu.sar_msg_ref_num === undefined ? undefined : { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum },
      message_payload_hex: Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload.toString('hex') : undefined,
    });
  }
  if (status === undefined) return;
  const answer = (): void => {
    sim.outstanding--;
    sim.session.send(pdu.response(status ? { command_status: status } : { message_id: messageId }));
    if (!messageId) return;
    remember(messageId, pdu, octets.subarray(udhLength));
    if (autoReceipt && Number(pdu.registered_delivery) & 3) {
      const { stat, delayMs } = autoReceipt;
      setTimeout(() => receipt({ message_id: messageId, stat }), delayMs);
    }
  };
  if (windowDelayMs > 0) setTimeout(answer, windowDelayMs);
  else answer();
}

function remember(messageId: string, pdu: smpp.PDU, text: Buffer): void {
  const { source_addr, source_addr_ton, source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi } = pdu;
  submitted.set(messageId, { source_addr, source_addr_ton, source_addr_npi, destination_addr, dest_addr_ton, dest_addr_npi, text, at: new Date() });
  if (submitted.size > MAX_REMEMBERED) submitted.delete(submitted.keys().next().value!);
}

/** The latest session bound to receive. */
function receiver(): Sim | undefined {
  let found: Sim | undefined;
  for (const sim of sims) if (sim.mode === 'receiver' || sim.mode === 'transceiver') found = sim;
  return found;
}

function sendDeliver(fields: Record<string, unknown>, tag: unknown): void {
  const sim = receiver();
  if (!sim) return emit('error', { message: 'deliver_sm: no receiver or transceiver bound', tag });
  const pdu = new smpp.PDU('deliver_sm', fields);
  if (!sim.session.send(pdu)) return emit('error', { session: sim.id, message: 'deliver_sm: connection closing', tag });
  sim.tags.set(pdu.sequence_number, tag);
  emit('deliver_sm', { session: sim.id, sequence_number: pdu.sequence_number, esm_class: pdu.esm_class, tag });
}

function deliver(cmd: Command): void {
  const encoding = String(cmd.encoding ?? 'gsm');
  if (typeof cmd.text === 'string' && DATA_CODING[encoding] === undefined) throw new Error(`unknown encoding ${encoding}`);
  const body = typeof cmd.text === 'string' ? encode(cmd.text, encoding) : Buffer.from(String(cmd.short_message_hex ?? ''), 'hex');
  const udh = Buffer.from(String(cmd.udh_hex ?? ''), 'hex');
  const octets = Buffer.concat([udh, body]);
  sendDeliver({
    source_addr: cmd.source_addr ?? '',
    source_addr_ton: cmd.source_addr_ton ?? 0,
    source_addr_npi: cmd.source_addr_npi ?? 0,
    destination_addr: cmd.destination_addr ?? '',
    dest_addr_ton: cmd.dest_addr_ton ?? 0,
    dest_addr_npi: cmd.dest_addr_npi ?? 0,
    esm_class: Number(cmd.esm_class ?? 0) | (udh.length > 0 ? 0x40 : 0),
    data_coding: cmd.data_coding ?? DATA_CODING[encoding],
    ...(cmd.payload ? { message_payload: octets } : { short_message: octets }),
    ...(cmd.params as Record<string, unknown> | undefined),
  }, cmd.tag);
}

function encode(text: string, encoding: string): Buffer {
  switch (encoding) {
    case 'gsm': return smpp.encodings.ASCII.encode(text);
    case 'ucs2': return Buffer.from(text, 'utf16le').swap16();
    default: return Buffer.from(text, encoding === 'ascii' ? 'ascii' : 'latin1');
  }
}

function receipt(cmd: Command): void {
  const id = String(cmd.message_id);
  const stat = String(cmd.stat ?? 'DELIVRD');
  const original = submitted.get(id);
  const delivered = stat === 'DELIVRD';
  // The first 20 characters of the message, printable ASCII only.
  const preview = (original?.text ?? Buffer.alloc(0)).subarray(0, 20).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  const text = `id:${id} sub:001 dlvrd:${delivered ? '001' : '000'} submit date:${smppDate(original?.at ?? new Date())}`
    + ` done date:${smppDate(new Date())} stat:${stat} err:${String(cmd.err ?? (delivered ? '000' : '001'))} text:${preview}`;
  sendDeliver({
    source_addr: original?.destination_addr ?? '',
    source_addr_ton: original?.dest_addr_ton ?? 0,
    source_addr_npi: original?.dest_addr_npi ?? 0,
    destination_addr: original?.source_addr ?? '',
    dest_addr_ton: original?.source_addr_ton ?? 0,
    dest_addr_npi: original?.source_addr_npi ?? 0,
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.from(text, 'latin1'),
    receipted_message_id: id,
    message_state: MESSAGE_STATE[stat] ?? MESSAGE_STATE.UNKNOWN,
  }, cmd.tag);
}

/** YYMMDDhhmm, UTC. */
function smppDate(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(2, 12);
}

function statusOf(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const status = typeof value === 'string' ? errors[value] : Number(value);
  if (status === undefined || !Number.isInteger(status)) throw new Error(`unknown status ${String(value)}`);
  return status;
}

function toEverySession(write: (sim: Sim) => void): void {
  for (const sim of sims) write(sim);
}

function run(cmd: Command): void {
  switch (cmd.cmd) {
    case 'deliver': return deliver(cmd);
    case 'receipt': return receipt(cmd);
    case 'auto_receipt':
      autoReceipt = cmd.on ? { stat: String(cmd.stat ?? 'DELIVRD'), delayMs: Number(cmd.delay_ms ?? 0) } : undefined;
      return;
    case 'throttle':
      throttle = Number(cmd.count ?? 1);
      return;
    case 'reject':
      rejecting = { count: Number(cmd.count ?? 1), status: statusOf(cmd.status, errors.ESME_RINVDSTADR) };
      return;
    case 'no_response':
      noResponse = Number(cmd.count ?? 1);
      return;
    case 'window_delay_ms':
      windowDelayMs = Number(cmd.ms ?? 0);
      return;
    case 'refuse_binds':
      refuseStatus = cmd.on ? statusOf(cmd.status, errors.ESME_RBINDFAIL) : undefined;
      return;
    case 'mute':
      muted = cmd.on === true;
      return;
    case 'drop':
      return toEverySession((sim) => sim.session.destroy());
    case 'garbage': {
      const bytes = Buffer.from(String(cmd.hex ?? DEFAULT_GARBAGE), 'hex');
      return toEverySession((sim) => sim.session.socket.write(bytes));
    }
    case 'unknown_pdu': {
      const header = Buffer.alloc(16);
      header.writeUInt32BE(16, 0);
      header.writeUInt32BE(Number(cmd.command_id ?? 0x999), 4);
      return toEverySession((sim) => {
        header.writeUInt32BE(++unknownSequence, 12);
        sim.session.socket.write(Buffer.from(header));
      });
    }
    case 'enquire_link':
      return toEverySession((sim) => sim.session.send(new smpp.PDU('enquire_link')));
    case 'unbind':
      return toEverySession((sim) => sim.session.send(new smpp.PDU('unbind')));
    default:
      throw new Error(`unknown command ${String(cmd.cmd)}`);
  }
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (!line.trim()) return;
  let cmd: Command | undefined;
  try {
    cmd = JSON.parse(line) as Command;
    run(cmd);
  } catch (err) {
    emit('error', { message: `command ${line}: ${(err as Error).message}` });
  }
  emit('ack', { id: cmd?.id, cmd: cmd?.cmd });
});
input.on('close', () => process.exit(0));
