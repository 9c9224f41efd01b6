// SMS text <-> SMPP 3.4 short_message / message_payload octets.
//
// Outbound parts carry Buffers, never strings: for a string short_message the smpp package picks
// the alphabet itself and, for GSM text, labels GSM 03.38 octets as data_coding 1 (IA5), prefers
// Latin-1 (data_coding 3) over UCS-2, turns unknown characters into spaces and never splits. With
// Buffers it sends our octets and our data_coding untouched.
//
// Inbound, smpp has usually decoded short_message / message_payload already into
// { message, udh? } — wrongly for IA5 (decoded as GSM) and 0xF3 (decoded as Latin-1) — so we turn
// its text back into the octets it came from and decode those ourselves.
import { Buffer } from 'node:buffer';

export type Concatenation = 'udh' | 'sar' | 'payload';

export interface SmsSplit {
  encoding: 'gsm' | 'ucs2';
  /** submit_sm parameter sets, one per part, ready for the smpp package: data_coding, esm_class (0x40 when short_message starts with a UDH; OR other esm_class bits in), short_message as a Buffer, and the sar_* TLVs or message_payload. */
  parts: Array<Record<string, unknown>>;
}

export interface SmsConcat {
  ref: number;
  total: number;
  seq: number;
}

// 3GPP TS 23.038 §6.2.1 default alphabet, indexed by septet. 0x1B is the escape to the extension
// table, never a character of its own.
const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// §6.2.1.1 extension table: 0x1B followed by these codes.
const GSM_EXTENSION: ReadonlyArray<readonly [string, number]> = [
  ['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f],
  ['[', 0x3c], ['~', 0x3d], [']', 0x3e], ['|', 0x40], ['€', 0x65],
];
const ESC = 0x1b;
const GSM_CODE = new Map([...GSM_DEFAULT].map((ch, code) => [ch, code] as const).filter(([, code]) => code !== ESC));
const GSM_EXT_CODE = new Map(GSM_EXTENSION);
const GSM_EXT_CHAR = new Map(GSM_EXTENSION.map(([ch, code]) => [code, ch] as const));

const DATA_CODING = { gsm: 0x00, ucs2: 0x08 } as const;
const ESM_UDHI = 0x40;
/** Octets of text per message: 160 unpacked septets or 70 UCS-2 units alone, 153 / 67 next to a 6-octet UDH. */
const SINGLE_OCTETS = { gsm: 160, ucs2: 140 } as const;
const PART_OCTETS = { gsm: 153, ucs2: 134 } as const;

export function fitsGsm(text: string): boolean {
  for (const ch of text) if (!GSM_CODE.has(ch) && !GSM_EXT_CODE.has(ch)) return false;
  return true;
}

function gsmOctets(ch: string): number[] | undefined {
  const code = GSM_CODE.get(ch);
  if (code !== undefined) return [code];
  const ext = GSM_EXT_CODE.get(ch);
  return ext === undefined ? undefined : [ESC, ext];
}

function ucs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** The text as indivisible encoded units: a GSM character with its escape, or a code point (surrogate pairs stay whole). */
function encodeUnits(text: string, encoding: SmsSplit['encoding']): Buffer[] {
  return Array.from(text, (ch) => (encoding === 'gsm' ? Buffer.from(gsmOctets(ch) ?? []) : ucs2(ch)));
}

/** Greedy split of the units into chunks of at most `capacity` octets. */
function chunk(units: Buffer[], capacity: number): Buffer[] {
  const chunks: Buffer[] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const unit of units) {
    if (size + unit.length > capacity) {
      chunks.push(Buffer.concat(current));
      current = [];
      size = 0;
    }
    current.push(unit);
    size += unit.length;
  }
  chunks.push(Buffer.concat(current));
  return chunks;
}

/** GSM 03.38 (default alphabet + extension table, unpacked: one septet per octet, extension chars as 0x1B + code) when every character fits, UCS-2 (UTF-16BE; emoji as surrogate pairs never split across parts) otherwise. Single part: 160 GSM septets (extension chars count 2) or 70 UCS-2 units; concatenated: 153 / 67 per part (udh and sar alike), never splitting an escape sequence or a surrogate pair. 'payload' sends the whole text in one message_payload TLV. `reference` is the concatenation reference (0-255 for 8-bit UDH; choose 8-bit IEI 0x00). */
export function splitSms(text: string, concatenation: Concatenation, reference: number): SmsSplit {
  const maxReference = concatenation === 'sar' ? 0xffff : 0xff;
  if (!Number.isInteger(reference) || reference < 0 || reference > maxReference) {
    throw new RangeError(`concatenation reference ${reference} is not in 0..${maxReference}`);
  }
  const encoding = fitsGsm(text) ? 'gsm' : 'ucs2';
  const data_coding = DATA_CODING[encoding];
  const units = encodeUnits(text, encoding);
  const whole = Buffer.concat(units);

  if (concatenation === 'payload') {
    if (whole.length > 0xffff) throw new RangeError(`message_payload of ${whole.length} octets exceeds 65535`);
    // SMPP 3.4 §5.3.2.32: with message_payload, short_message must be empty.
    return { encoding, parts: [{ data_coding, esm_class: 0, short_message: Buffer.alloc(0), message_payload: whole }] };
  }
  if (whole.length <= SINGLE_OCTETS[encoding]) {
    return { encoding, parts: [{ data_coding, esm_class: 0, short_message: whole }] };
  }

  const bodies = chunk(units, PART_OCTETS[encoding]);
  const total = bodies.length;
  if (total > 255) throw new RangeError(`text needs ${total} parts, at most 255 can be concatenated`);
  const parts = bodies.map((body, i) =>
    concatenation === 'udh'
      ? {
          data_coding,
          esm_class: ESM_UDHI,
          // UDHL 5, IEI 0x00 (concatenation, 8-bit reference), IEDL 3, reference, total, sequence.
          short_message: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, reference, total, i + 1]), body]),
        }
      : {
          data_coding,
          esm_class: 0,
          short_message: body,
          sar_msg_ref_num: reference,
          sar_total_segments: total,
          sar_segment_seqnum: i + 1,
        },
  );
  return { encoding, parts };
}

function decodeGsm(octets: Buffer): string {
  let text = '';
  for (let i = 0; i < octets.length; i++) {
    const code = octets[i];
    if (code !== ESC) {
      text += GSM_DEFAULT[code] ?? '\ufffd';
      continue;
    }
    if (++i >= octets.length) break; // a dangling escape has nothing to show
    const next = octets[i];
    // §6.2.1.1: ESC ESC shows as a space, an unknown extension code as its default-alphabet character.
    text += GSM_EXT_CHAR.get(next) ?? (next === ESC ? ' ' : (GSM_DEFAULT[next] ?? '\ufffd'));
  }
  return text;
}

/** The octets smpp decoded into `text` (it picks the alphabet from data_coding & 0x0F: 8 UCS-2, 3 Latin-1, otherwise its GSM table, which equals ours). */
function undoSmppDecoding(text: string, dataCoding: number): Buffer {
  switch (dataCoding & 0x0f) {
    case 0x08:
      return ucs2(text);
    case 0x03:
      return Buffer.from(text, 'latin1');
    default:
      // Its GSM decoding leaves an unknown escape as a literal ESC character; keep it an escape.
      return Buffer.from(Array.from(text, (ch) => (ch === '\x1b' ? [ESC] : (gsmOctets(ch) ?? [0x20]))).flat());
  }
}

function udhElements(udh: Buffer): Buffer[] {
  const elements: Buffer[] = [];
  for (let at = 0; at + 2 <= udh.length; at += 2 + udh[at + 1]) elements.push(udh.subarray(at, at + 2 + udh[at + 1]));
  return elements;
}

/** The deliver_sm fields decodeSms reads, as the smpp package delivers them. */
export interface InboundSms {
  data_coding?: number;
  esm_class?: number;
  short_message?: unknown;
  message_payload?: unknown;
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
}

/** The raw octets of a deliver_sm's text (message_payload when present, else short_message) and its UDH information elements; null when the UDH runs past the end. Accepts raw Buffers and smpp's decoded { message, udh? }. */
export function messageOctets(pdu: InboundSms): { octets: Buffer; elements: Buffer[] } | null {
  const dataCoding = pdu.data_coding ?? 0;
  const udhi = ((pdu.esm_class ?? 0) & ESM_UDHI) !== 0;
  const payload = pdu.message_payload;
  const value = payload !== undefined && payload !== null ? payload : pdu.short_message;
  if (Buffer.isBuffer(value)) {
    if (!udhi || value.length === 0) return { octets: value, elements: [] };
    const end = 1 + value[0];
    if (end > value.length) return null;
    return { octets: value.subarray(end), elements: udhElements(value.subarray(1, end)) };
  }
  if (typeof value === 'object' && value !== null && 'message' in value) {
    const { message, udh } = value as { message: unknown; udh?: unknown };
    const elements = Array.isArray(udh) ? udh.filter((e): e is Buffer => Buffer.isBuffer(e)) : [];
    if (Buffer.isBuffer(message)) return { octets: message, elements };
    if (typeof message === 'string') return { octets: undoSmppDecoding(message, dataCoding), elements };
  }
  return { octets: Buffer.alloc(0), elements: [] };
}

type Alphabet = 'gsm' | 'latin1' | 'ucs2';

/** The alphabet of a data_coding: SMPP 3.4 §5.2.19 values below 0x10, the GSM TP-DCS coding groups of 3GPP TS 23.038 §4 above; null for binary, compressed, reserved or unsupported codings. */
function alphabetOf(dataCoding: number): Alphabet | null {
  if (dataCoding < 0x10) {
    switch (dataCoding) {
      case 0x00:
        return 'gsm';
      case 0x01: // IA5 is 7-bit ASCII; Latin-1 reads it the same and forgives SMSCs that send 8-bit text as IA5
      case 0x03:
        return 'latin1';
      case 0x08:
        return 'ucs2';
      default:
        return null;
    }
  }
  if (dataCoding < 0x80) {
    // General data coding (00xx) and marked-for-deletion (01xx) groups: bit 5 compressed, bits 3-2 alphabet.
    if (dataCoding & 0x20) return null;
    return (['gsm', null, 'ucs2', null] as const)[(dataCoding >> 2) & 0x03];
  }
  if (dataCoding >= 0xc0 && dataCoding < 0xe0) return 'gsm'; // message waiting, discard / store
  if (dataCoding >= 0xe0 && dataCoding < 0xf0) return 'ucs2'; // message waiting, store, UCS-2
  if (dataCoding >= 0xf0) return dataCoding & 0x04 ? null : 'gsm'; // data coding / message class
  return null;
}

function decodeOctets(octets: Buffer, alphabet: Alphabet): string {
  if (alphabet === 'gsm') return decodeGsm(octets);
  if (alphabet === 'latin1') return octets.toString('latin1');
  return Buffer.from(octets.subarray(0, octets.length & ~1)).swap16().toString('utf16le');
}

function concatOf(elements: Buffer[], pdu: InboundSms): SmsConcat | undefined {
  let concat: SmsConcat | undefined;
  for (const e of elements) {
    if (e[0] === 0x00 && e[1] === 3 && e.length === 5) concat = { ref: e[2], total: e[3], seq: e[4] };
    else if (e[0] === 0x08 && e[1] === 4 && e.length === 6) concat = { ref: e.readUInt16BE(2), total: e[4], seq: e[5] };
    if (concat) break;
  }
  const { sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: seq } = pdu;
  if (!concat && ref !== undefined && total !== undefined && seq !== undefined) concat = { ref, total, seq };
  // A sequence number outside 1..total is corrupt; deliver such a part on its own.
  return concat && concat.seq >= 1 && concat.seq <= concat.total ? concat : undefined;
}

/** Inbound: the text of a deliver_sm's short_message or message_payload by data_coding: 0 (SMSC default: GSM 03.38 unpacked), 1 (IA5/ASCII), 3 (Latin-1), 8 (UCS-2), 0xF0-0xF3 style GSM classes; binary (2, 4) or unknown codings → `{ text: '', unreadable: true }`. Strips a UDH when esm_class has UDHI and reports its concatenation IE. */
export function decodeSms(pdu: InboundSms): { text: string; unreadable: boolean; concat?: SmsConcat } {
  const body = messageOctets(pdu);
  if (!body) return { text: '', unreadable: true };
  const concat = concatOf(body.elements, pdu);
  const alphabet = alphabetOf(pdu.data_coding ?? 0);
  const decoded = alphabet ? { text: decodeOctets(body.octets, alphabet), unreadable: false } : { text: '', unreadable: true };
  return concat ? { ...decoded, concat } : decoded;
}

interface PendingSet {
  parts: Map<number, string>;
  total: number;
  since: number;
}

/** Collects the parts of concatenated inbound SMS per (source, ref) and returns the whole text once all parts are in; drops incomplete sets after ttlMs; bounded memory (at most maxPending sets, oldest dropped, logged by the caller via the returned `dropped` count). */
export class Reassembler {
  // Insertion order is arrival order of each set's first part: the oldest set is always first.
  private readonly pending = new Map<string, PendingSet>();
  private droppedSets = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxPending: number,
  ) {
    if (!(ttlMs > 0) || !Number.isInteger(maxPending) || maxPending < 1) {
      throw new RangeError('Reassembler needs ttlMs > 0 and maxPending >= 1');
    }
  }

  /** Incomplete sets discarded so far, by expiry or to make room. */
  get dropped(): number {
    return this.droppedSets;
  }

  add(source: string, part: { text: string; concat?: SmsConcat }, now: number = Date.now()): string | undefined {
    this.expire(now);
    const c = part.concat;
    if (!c || c.total <= 1 || c.seq < 1 || c.seq > c.total) return part.text;
    // The total is part of the key: an 8-bit reference wraps, and a reused one rarely keeps the same total.
    const key = JSON.stringify([source, c.ref, c.total]);
    let set = this.pending.get(key);
    if (!set) {
      if (this.pending.size >= this.maxPending) this.dropOldest();
      set = { parts: new Map(), total: c.total, since: now };
      this.pending.set(key, set);
    }
    // An SMSC resends a part when our deliver_sm_resp got lost: keep the first copy.
    if (!set.parts.has(c.seq)) set.parts.set(c.seq, part.text);
    if (set.parts.size < set.total) return undefined;
    this.pending.delete(key);
    return Array.from({ length: set.total }, (_, i) => set.parts.get(i + 1)).join('');
  }

  private expire(now: number): void {
    for (const [key, set] of this.pending) {
      if (now - set.since < this.ttlMs) break;
      this.pending.delete(key);
      this.droppedSets++;
    }
  }

  private dropOldest(): void {
    const oldest = this.pending.keys().next();
    if (!oldest.done) {
      this.pending.delete(oldest.value);
      this.droppedSets++;
    }
  }
}
