// The pure parts of the SMS gateway: GSM 03.38 / UCS-2 encoding and splitting into submit_sm
// parameters, inbound decoding and reassembly, phone numbers and SMPP addresses, and delivery
// receipts. PDUs go through the real smpp package's encoder and decoder where it matters.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decodeSms, fitsGsm, Reassembler, splitSms, type InboundSms, type SmsSplit } from '../gateways/sms/encoding.js';
import { fromSmppAddress, matchesPrefix, normalizeNumber, smppDestination, smppSource } from '../gateways/sms/numbers.js';
import { explainReceipt, parseReceipt } from '../gateways/sms/receipt.js';

interface SmppPdu extends Record<string, unknown> {
  toBuffer(): Buffer;
}
const smpp = createRequire(import.meta.url)('smpp') as {
  PDU: new (command: string | Buffer, options?: Record<string, unknown>) => SmppPdu;
};

/** The PDU as the peer's smpp session sees it: encoded by smpp, then parsed (and decoded) by smpp. */
function overTheWire(command: 'submit_sm' | 'deliver_sm', params: Record<string, unknown>): InboundSms & Record<string, unknown> {
  const sent = new smpp.PDU(command, { source_addr: '40700000001', destination_addr: '40723555666', ...params }).toBuffer();
  return new smpp.PDU(sent);
}

const hex = (b: unknown) => (b as Buffer).toString('hex');
const bytes = (...octets: number[]) => Buffer.from(octets);
const message = (split: SmsSplit, i = 0) => split.parts[i]!.short_message as Buffer;

describe('GSM 03.38 detection', () => {
  it('accepts the default alphabet, including its accented letters and Greek capitals', () => {
    assert.ok(fitsGsm('Hello, world! 0-9 @£$¥ "quoted" (x) #%&*+/:;<=>?'));
    assert.ok(fitsGsm('é à ñ ü Ø Å è ù ì ò Ç ø å Æ æ ß É Ä Ö Ñ Ü ä ö ¡ ¿ § ¤'));
    assert.ok(fitsGsm('ΔΦΓΛΩΠΨΣΘΞ_\n\r'));
    assert.ok(fitsGsm(''));
  });

  it('accepts the extension table: € [ ] { } ~ ^ | \\ and form feed', () => {
    assert.ok(fitsGsm('€[]{}~^|\\\f'));
  });

  it('rejects what GSM lacks: Romanian ă ș ț, ç, backtick, Cyrillic, emoji, a bare ESC', () => {
    for (const text of ['ă', 'ș', 'ț', 'Ștefan', 'ç', '`', 'Привет', '😀', 'ok 👍', '\x1b', 'â', 'õ']) {
      assert.equal(fitsGsm(text), false, text);
    }
  });
});

describe('splitting outbound SMS into submit_sm parameters', () => {
  it('encodes GSM unpacked, one septet per octet, data_coding 0', () => {
    const split = splitSms('@£$_éàñüØÅ Aa', 'udh', 1);
    assert.equal(split.encoding, 'gsm');
    assert.deepEqual(split.parts, [{ data_coding: 0, esm_class: 0, short_message: bytes(0x00, 0x01, 0x02, 0x11, 0x05, 0x7f, 0x7d, 0x7e, 0x0b, 0x0e, 0x20, 0x41, 0x61) }]);
  });

  it('encodes extension characters as 0x1B + code', () => {
    assert.equal(hex(message(splitSms('€[]{}~^|\\\f', 'udh', 1))), '1b651b3c1b3e1b281b291b3d1b141b401b2f1b0a');
  });

  it('counts extension characters as two septets', () => {
    assert.equal(splitSms('€'.repeat(80), 'udh', 1).parts.length, 1);
    assert.equal(splitSms('€'.repeat(81), 'udh', 1).parts.length, 2);
    assert.equal(splitSms(`€${'a'.repeat(158)}`, 'udh', 1).parts.length, 1);
    assert.equal(splitSms(`€${'a'.repeat(159)}`, 'udh', 1).parts.length, 2);
  });

  it('sends 160 GSM characters as one part and 161 as two of 153 + 8', () => {
    const one = splitSms('a'.repeat(160), 'udh', 7);
    assert.equal(one.parts.length, 1);
    assert.equal(message(one).length, 160);
    assert.equal(one.parts[0]!.esm_class, 0);

    const two = splitSms('a'.repeat(161), 'udh', 7);
    assert.deepEqual(two.parts.map((p) => (p.short_message as Buffer).length), [6 + 153, 6 + 8]);
  });

  it('fills parts to exactly 153 septets: 306 characters make two parts, 307 three', () => {
    assert.equal(splitSms('a'.repeat(153 * 2), 'udh', 1).parts.length, 2);
    assert.equal(splitSms('a'.repeat(153 * 2 + 1), 'udh', 1).parts.length, 3);
  });

  it('never splits an escape sequence across parts', () => {
    const split = splitSms(`${'a'.repeat(152)}€${'b'.repeat(20)}`, 'sar', 1);
    assert.equal(message(split, 0).length, 152);
    assert.equal(hex(message(split, 1).subarray(0, 2)), '1b65');
    assert.equal(split.parts.map((p) => decodeSms(p).text).join(''), `${'a'.repeat(152)}€${'b'.repeat(20)}`);
  });

  it('falls back to UCS-2 (UTF-16BE, data_coding 8) for Romanian diacritics and Cyrillic', () => {
    const ro = splitSms('Ștefan ă ț', 'udh', 1);
    assert.equal(ro.encoding, 'ucs2');
    assert.equal(ro.parts[0]!.data_coding, 8);
    assert.equal(hex(message(ro)).slice(0, 8), '02180074'); // Ș t
    const ru = splitSms('Привет', 'udh', 1);
    assert.equal(hex(message(ru)), '041f04400438043204350442');
  });

  it('sends 70 UCS-2 units as one part and 71 as two; 67 per concatenated part', () => {
    assert.equal(splitSms('ж'.repeat(70), 'udh', 1).parts.length, 1);
    assert.equal(message(splitSms('ж'.repeat(70), 'udh', 1)).length, 140);
    const two = splitSms('ж'.repeat(71), 'udh', 1);
    assert.deepEqual(two.parts.map((p) => (p.short_message as Buffer).length), [6 + 134, 6 + 8]);
    assert.equal(splitSms('ж'.repeat(67 * 2), 'udh', 1).parts.length, 2);
    assert.equal(splitSms('ж'.repeat(67 * 2 + 1), 'udh', 1).parts.length, 3);
  });

  it('keeps emoji surrogate pairs whole at the 67-unit boundary', () => {
    const text = `${'ж'.repeat(66)}😀${'ж'.repeat(10)}`;
    const split = splitSms(text, 'sar', 1);
    assert.equal(split.encoding, 'ucs2');
    assert.equal(message(split, 0).length, 66 * 2);
    assert.equal(hex(message(split, 1).subarray(0, 4)), 'd83dde00');
    const parts = split.parts.map((p) => decodeSms(p).text);
    assert.ok(parts.every((p) => Buffer.from(p).toString() === p)); // no lone surrogates
    assert.equal(parts.join(''), text);
    // An emoji counts two units towards the single-part limit too.
    assert.equal(splitSms('😀'.repeat(35), 'udh', 1).parts.length, 1);
    assert.equal(splitSms('😀'.repeat(36), 'udh', 1).parts.length, 2);
  });

  it('prefixes each part with the 8-bit concatenation UDH (05 00 03 ref total seq) and sets UDHI', () => {
    const split = splitSms('x'.repeat(400), 'udh', 0xab);
    assert.equal(split.parts.length, 3);
    split.parts.forEach((part, i) => {
      assert.equal(part.esm_class, 0x40);
      assert.equal(part.data_coding, 0);
      assert.equal(hex((part.short_message as Buffer).subarray(0, 6)), `050003ab03${`0${i + 1}`}`);
      assert.equal(part.sar_msg_ref_num, undefined);
    });
  });

  it('describes SAR concatenation in TLVs and leaves short_message plain', () => {
    const split = splitSms('y'.repeat(200), 'sar', 300);
    assert.deepEqual(
      split.parts.map(({ sar_msg_ref_num, sar_total_segments, sar_segment_seqnum, esm_class }) => [sar_msg_ref_num, sar_total_segments, sar_segment_seqnum, esm_class]),
      [[300, 2, 1, 0], [300, 2, 2, 0]],
    );
    assert.equal(hex(message(split, 0)), '79'.repeat(153));
  });

  it('sends the whole text in one message_payload with an empty short_message', () => {
    const split = splitSms('z'.repeat(1000), 'payload', 0);
    assert.equal(split.parts.length, 1);
    assert.equal((split.parts[0]!.message_payload as Buffer).length, 1000);
    assert.equal(message(split).length, 0);
    assert.equal(hex(splitSms('Привет', 'payload', 0).parts[0]!.message_payload), '041f04400438043204350442');
  });

  it('sends short text unconcatenated in every mode but payload', () => {
    for (const mode of ['udh', 'sar'] as const) assert.deepEqual(Object.keys(splitSms('hi', mode, 1).parts[0]!).sort(), ['data_coding', 'esm_class', 'short_message']);
  });

  it('rejects references out of range and texts over 255 parts', () => {
    assert.throws(() => splitSms('hi', 'udh', 256), RangeError);
    assert.throws(() => splitSms('hi', 'udh', -1), RangeError);
    assert.throws(() => splitSms('hi', 'sar', 65536), RangeError);
    assert.throws(() => splitSms('a'.repeat(153 * 255 + 1), 'udh', 1), /255/);
    assert.equal(splitSms('a'.repeat(153 * 255), 'udh', 1).parts.length, 255);
  });

  it('produces parameters smpp encodes byte for byte, keeping our data_coding', () => {
    const [part] = splitSms(`${'€'.repeat(100)}`, 'udh', 9).parts;
    const pdu = overTheWire('submit_sm', part!);
    assert.equal(pdu.data_coding, 0); // smpp would label GSM it encoded itself as 1 (IA5)
    assert.equal(pdu.esm_class, 0x40);
    assert.deepEqual(decodeSms(pdu), { text: '€'.repeat(76), unreadable: false, concat: { ref: 9, total: 2, seq: 1 } });

    const sar = overTheWire('submit_sm', splitSms('Ω'.repeat(70) + 'ț', 'sar', 513).parts[1]!);
    assert.deepEqual([sar.sar_msg_ref_num, sar.sar_total_segments, sar.sar_segment_seqnum, sar.data_coding], [513, 2, 2, 8]);
    const payload = overTheWire('submit_sm', splitSms('ț'.repeat(500), 'payload', 0).parts[0]!);
    assert.equal(decodeSms(payload).text, 'ț'.repeat(500));
  });
});

describe('decoding inbound SMS', () => {
  it('reads data_coding 0 as unpacked GSM 03.38 with escapes', () => {
    assert.deepEqual(decodeSms({ data_coding: 0, short_message: bytes(0x00, 0x11, 0x02, 0x1b, 0x65, 0x7d, 0x1b, 0x2f) }), { text: '@_$€ñ\\', unreadable: false });
  });

  it('shows unknown escapes as the default character and ESC ESC as a space', () => {
    assert.equal(decodeSms({ data_coding: 0, short_message: bytes(0x1b, 0x41, 0x1b, 0x1b, 0x42, 0x1b) }).text, 'A B');
  });

  it('reads 1 as IA5/ASCII, 3 as Latin-1 and 8 as UCS-2', () => {
    assert.equal(decodeSms({ data_coding: 1, short_message: Buffer.from('user_1@example.org costs $5 [ok]', 'latin1') }).text, 'user_1@example.org costs $5 [ok]');
    assert.equal(decodeSms({ data_coding: 3, short_message: Buffer.from('café ñ ÿ', 'latin1') }).text, 'café ñ ÿ');
    assert.equal(decodeSms({ data_coding: 8, short_message: Buffer.from('d83dde00041f0021', 'hex') }).text, '😀П!');
  });

  it('reads the GSM message classes (0xF0-0xF3) and TP-DCS coding groups', () => {
    for (const dc of [0xf0, 0xf1, 0xf2, 0xf3, 0x10, 0x11, 0xc0, 0xd1]) {
      assert.equal(decodeSms({ data_coding: dc, short_message: bytes(0x48, 0x69, 0x00) }).text, 'Hi@', `0x${dc.toString(16)}`);
    }
    for (const dc of [0x18, 0x19, 0xe0]) assert.equal(decodeSms({ data_coding: dc, short_message: Buffer.from('0416', 'hex') }).text, 'Ж');
  });

  it('reports binary, compressed and unknown codings as unreadable', () => {
    for (const dc of [0x02, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0e, 0x14, 0x24, 0x0c, 0x80, 0xf4, 0xf6]) {
      assert.deepEqual(decodeSms({ data_coding: dc, short_message: bytes(0x01, 0x02) }), { text: '', unreadable: true }, `0x${dc.toString(16)}`);
    }
  });

  it('strips the UDH when UDHI is set and reports 8-bit and 16-bit concatenation', () => {
    assert.deepEqual(decodeSms({ data_coding: 0, esm_class: 0x40, short_message: bytes(0x05, 0x00, 0x03, 0x2a, 0x02, 0x01, 0x48, 0x69) }), {
      text: 'Hi', unreadable: false, concat: { ref: 0x2a, total: 2, seq: 1 },
    });
    // Port addressing first, then the 16-bit-reference concatenation IE.
    const udh = bytes(0x0c, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03);
    assert.deepEqual(decodeSms({ data_coding: 8, esm_class: 0x43, short_message: Buffer.concat([udh, Buffer.from('0416', 'hex')]) }), {
      text: 'Ж', unreadable: false, concat: { ref: 0x1234, total: 3, seq: 3 },
    });
    // Without UDHI the same octets are text.
    assert.equal(decodeSms({ data_coding: 1, short_message: Buffer.from('\x05Hi') }).text, '\x05Hi');
  });

  it('takes concatenation from SAR TLVs, and ignores an impossible sequence number', () => {
    assert.deepEqual(decodeSms({ data_coding: 0, short_message: bytes(0x41), sar_msg_ref_num: 700, sar_total_segments: 2, sar_segment_seqnum: 2 }).concat, { ref: 700, total: 2, seq: 2 });
    assert.equal(decodeSms({ data_coding: 0, short_message: bytes(0x41), sar_msg_ref_num: 1, sar_total_segments: 2, sar_segment_seqnum: 3 }).concat, undefined);
    assert.equal(decodeSms({ data_coding: 0, esm_class: 0x40, short_message: bytes(0x05, 0x00, 0x03, 1, 2, 0, 0x41) }).concat, undefined);
  });

  it('prefers message_payload, and calls a UDH running past the end unreadable', () => {
    assert.equal(decodeSms({ data_coding: 0, short_message: Buffer.alloc(0), message_payload: bytes(0x4f, 0x4b) }).text, 'OK');
    assert.deepEqual(decodeSms({ data_coding: 0, esm_class: 0x40, short_message: bytes(0x09, 0x00, 0x03) }), { text: '', unreadable: true });
    assert.deepEqual(decodeSms({ data_coding: 0 }), { text: '', unreadable: false });
  });

  it('recovers the text from what smpp already decoded, even where smpp decodes wrongly', () => {
    const cases: Array<[number, Buffer, string]> = [
      [0x00, bytes(0x00, 0x11, 0x1b, 0x65, 0x1b, 0x41, 0x1b, 0x1b, 0x28), '@_€A ('],
      [0x01, Buffer.from('a_b@c$d', 'latin1'), 'a_b@c$d'], // smpp reads IA5 as GSM: 'a§b¡c¤d'
      [0xf3, bytes(0x48, 0x69, 0x00, 0x11), 'Hi@_'], // smpp reads GSM class 3 as Latin-1
      [0x03, Buffer.from('crème', 'latin1'), 'crème'],
      [0x08, Buffer.from('d83dde00041f', 'hex'), '😀П'],
      [0x04, bytes(0xca, 0xfe), ''],
    ];
    for (const [dc, octets, text] of cases) {
      const pdu = overTheWire('deliver_sm', { data_coding: dc, short_message: octets });
      assert.equal(typeof pdu.short_message, 'object');
      assert.equal(decodeSms(pdu).text, text, `0x${dc.toString(16)}`);
    }
    const smppText = (overTheWire('deliver_sm', { data_coding: 1, short_message: Buffer.from('a_b@c') }).short_message as { message: string }).message;
    assert.equal(smppText, 'a§b¡c');

    const withUdh = overTheWire('deliver_sm', { data_coding: 8, esm_class: 0x40, short_message: Buffer.from('0500037f0302d83dde00', 'hex') });
    assert.deepEqual(decodeSms(withUdh), { text: '😀', unreadable: false, concat: { ref: 0x7f, total: 3, seq: 2 } });
    const payload = overTheWire('deliver_sm', { data_coding: 0, message_payload: Buffer.from('long text_', 'latin1').map((b) => (b === 0x5f ? 0x11 : b)) });
    assert.equal(decodeSms(payload).text, 'long text_');
  });

  it('decodes what splitSms encodes', () => {
    for (const text of ['plain', '€{x}~', 'Ștefan 😀', 'a'.repeat(200), `${'ж'.repeat(66)}😀`]) {
      for (const mode of ['udh', 'sar', 'payload'] as const) {
        const parts = splitSms(text, mode, 3).parts.map((p) => decodeSms(overTheWire('deliver_sm', p)));
        assert.equal(parts.map((p) => p.text).join(''), text, `${mode}: ${text}`);
      }
    }
  });
});

describe('reassembling concatenated SMS', () => {
  const part = (text: string, ref: number, total: number, seq: number) => ({ text, concat: { ref, total, seq } });

  it('passes single messages through', () => {
    const r = new Reassembler(60_000, 10);
    assert.equal(r.add('+40723555666', { text: 'hi' }), 'hi');
    assert.equal(r.add('+40723555666', part('one', 1, 1, 1)), 'one');
  });

  it('joins parts arriving in order and out of order', () => {
    const r = new Reassembler(60_000, 10);
    assert.equal(r.add('+1', part('a', 5, 3, 1), 0), undefined);
    assert.equal(r.add('+1', part('b', 5, 3, 2), 1), undefined);
    assert.equal(r.add('+1', part('c', 5, 3, 3), 2), 'abc');
    assert.equal(r.add('+1', part('C', 5, 3, 3), 3), undefined);
    assert.equal(r.add('+1', part('A', 5, 3, 1), 4), undefined);
    assert.equal(r.add('+1', part('B', 5, 3, 2), 5), 'ABC');
    assert.equal(r.dropped, 0);
  });

  it('ignores duplicate parts, keeping the first copy', () => {
    const r = new Reassembler(60_000, 10);
    r.add('+1', part('a', 5, 2, 1), 0);
    assert.equal(r.add('+1', part('x', 5, 2, 1), 1), undefined);
    assert.equal(r.add('+1', part('b', 5, 2, 2), 2), 'ab');
  });

  it('keeps sets of different senders and references apart', () => {
    const r = new Reassembler(60_000, 10);
    r.add('+1', part('a1', 5, 2, 1), 0);
    r.add('+2', part('b1', 5, 2, 1), 0);
    r.add('+1', part('c1', 6, 2, 1), 0);
    assert.equal(r.add('+2', part('b2', 5, 2, 2), 1), 'b1b2');
    assert.equal(r.add('+1', part('c2', 6, 2, 2), 1), 'c1c2');
    assert.equal(r.add('+1', part('a2', 5, 2, 2), 1), 'a1a2');
  });

  it('drops incomplete sets after the TTL', () => {
    const r = new Reassembler(1000, 10);
    r.add('+1', part('a', 5, 2, 1), 0);
    assert.equal(r.add('+1', part('b', 5, 2, 2), 1000), undefined);
    assert.equal(r.dropped, 1);
    assert.equal(r.add('+1', part('a', 5, 2, 1), 1500), 'ab');
  });

  it('keeps at most maxPending sets, dropping the oldest', () => {
    const r = new Reassembler(60_000, 2);
    r.add('+1', part('a', 1, 2, 1), 0);
    r.add('+1', part('b', 2, 2, 1), 1);
    r.add('+1', part('c', 3, 2, 1), 2);
    assert.equal(r.dropped, 1);
    assert.equal(r.add('+1', part('B', 2, 2, 2), 3), 'bB');
    assert.equal(r.add('+1', part('C', 3, 2, 2), 3), 'cC');
    assert.equal(r.add('+1', part('A', 1, 2, 2), 3), undefined); // its first part is gone
    assert.throws(() => new Reassembler(1000, 0), RangeError);
  });
});

describe('phone numbers', () => {
  it('normalises national and international notations to E.164', () => {
    for (const input of ['0723 555 666', '0723555666', '+40 723-555-666', '+40723555666', '0040723555666', '(0723) 555.666', ' 723555666 ']) {
      assert.equal(normalizeNumber(input, 'RO'), '+40723555666', input);
    }
    assert.equal(normalizeNumber('0151 23456789', 'DE'), '+4915123456789');
    assert.equal(normalizeNumber('030 1234567', 'DE'), '+49301234567');
    assert.equal(normalizeNumber('+40723555666', 'DE'), '+40723555666');
    assert.equal(normalizeNumber('(201) 555-0123', 'US'), '+12015550123');
    assert.equal(normalizeNumber('011 40 723 555 666', 'US'), '+40723555666');
    assert.equal(normalizeNumber('0040723555666', 'US'), '+40723555666');
    assert.equal(normalizeNumber('0723555666', 'ro'), '+40723555666');
  });

  it('returns null for what is not a valid number', () => {
    for (const input of ['', 'alice', '0723 555', '+40 123 456 789', '0723555666 ext 5', 'call 0723555666', '+40723555666x', '++40723555666', '0723555666', '+1 201 055 0123']) {
      assert.equal(normalizeNumber(input, input === '0723555666' ? 'US' : 'RO'), null, input);
    }
    // Valid length, unallocated range: only the max metadata knows.
    assert.equal(normalizeNumber('+49 1234 567890', 'DE'), null);
  });

  it('accepts only international numbers without a default country, and throws on an unknown one', () => {
    assert.equal(normalizeNumber('+40 723 555 666', ''), '+40723555666');
    assert.equal(normalizeNumber('0040723555666', ''), '+40723555666');
    assert.equal(normalizeNumber('0723555666', ''), null);
    assert.throws(() => normalizeNumber('0723555666', 'XX'), RangeError);
  });

  it('addresses destinations as international / ISDN', () => {
    assert.deepEqual(smppDestination('+40723555666'), { addr: '40723555666', ton: 1, npi: 1 });
    assert.throws(() => smppDestination('0723555666'), TypeError);
    assert.throws(() => smppDestination('+40 723'), TypeError);
  });

  it('addresses senders as numbers, short codes or alphanumeric ids', () => {
    assert.deepEqual(smppSource('+40700000001'), { addr: '40700000001', ton: 1, npi: 1 });
    assert.deepEqual(smppSource('40700000001'), { addr: '40700000001', ton: 1, npi: 1 });
    assert.deepEqual(smppSource('1234'), { addr: '1234', ton: 3, npi: 0 });
    assert.deepEqual(smppSource('12345678'), { addr: '12345678', ton: 3, npi: 0 });
    assert.deepEqual(smppSource('Switchboard'), { addr: 'Switchboard', ton: 5, npi: 0 });
    assert.deepEqual(smppSource('ACME 24-7'), { addr: 'ACME 24-7', ton: 5, npi: 0 });
    for (const bad of ['', '0723555666', 'Switchboard1', 'Ștefan', ' ACME', 'a@b', '+0123']) {
      assert.throws(() => smppSource(bad), TypeError, bad);
    }
  });

  it('reads inbound addresses by TON', () => {
    assert.equal(fromSmppAddress('40723555666', 1, 'DE'), '+40723555666');
    assert.equal(fromSmppAddress('+40723555666', 1, 'DE'), '+40723555666');
    assert.equal(fromSmppAddress('0723555666', 2, 'RO'), '+40723555666');
    assert.equal(fromSmppAddress('0723555666', 0, 'RO'), '+40723555666');
    assert.equal(fromSmppAddress('4915123456789', 0, 'RO'), '+4915123456789'); // international without '+'
    assert.equal(fromSmppAddress('2015550123', 0, 'US'), '+12015550123');
    assert.equal(fromSmppAddress('4915123456789', 0, ''), '+4915123456789');
    assert.equal(fromSmppAddress('1234', 3, 'RO'), null);
    assert.equal(fromSmppAddress('BANK', 5, 'RO'), null);
    assert.equal(fromSmppAddress('BANK', 0, 'RO'), null);
    assert.equal(fromSmppAddress('40123', 1, 'RO'), null);
    assert.equal(fromSmppAddress('', 1, 'RO'), null);
  });

  it('matches premium and other prefixes', () => {
    const premium = ['+4090', '+1900', '+44 9'];
    assert.ok(matchesPrefix('+40906123456', premium));
    assert.ok(matchesPrefix('+19005550199', premium));
    assert.ok(matchesPrefix('+449012345678', premium));
    assert.equal(matchesPrefix('+40723555666', premium), false);
    assert.equal(matchesPrefix('+12015550123', premium), false);
    assert.equal(matchesPrefix('+40723555666', []), false);
    assert.equal(matchesPrefix('+40723555666', ['']), false);
    assert.ok(matchesPrefix('+40723555666', ['40']));
  });
});

describe('delivery receipts', () => {
  const textReceipt = (text: string, extra: Record<string, unknown> = {}) => ({ esm_class: 0x04, data_coding: 0, short_message: Buffer.from(text, 'latin1'), ...extra });

  it('parses the Appendix B text', () => {
    assert.deepEqual(
      parseReceipt(textReceipt('id:1887283746 sub:001 dlvrd:001 submit date:2403151204 done date:2403151204 stat:DELIVRD err:000 text:Hello from Switch')),
      { messageId: '1887283746', state: 'delivered', stat: 'DELIVRD', error: '000' },
    );
    assert.deepEqual(
      parseReceipt(textReceipt('id:4a1b2c3d4e5f sub:001 dlvrd:000 submit date:1912101530 done date:1912101545 stat:UNDELIV err:001 text:')),
      { messageId: '4a1b2c3d4e5f', state: 'failed', stat: 'UNDELIV', error: '001' },
    );
  });

  it('tolerates case, leading zeros, missing fields and spelled-out states', () => {
    assert.deepEqual(
      parseReceipt(textReceipt('ID:0000012345 SUB:001 DLVRD:000 SUBMIT DATE:2101011200 DONE DATE:2101021200 STAT:EXPIRED ERR:027 TEXT:none')),
      { messageId: '0000012345', state: 'failed', stat: 'EXPIRED', error: '027' },
    );
    assert.deepEqual(parseReceipt(textReceipt('id:abc-123 stat:REJECTD')), { messageId: 'abc-123', state: 'failed', stat: 'REJECTD' });
    assert.deepEqual(parseReceipt(textReceipt('id:77 stat:delivered')), { messageId: '77', state: 'delivered', stat: 'DELIVRD' });
    assert.deepEqual(parseReceipt(textReceipt('id:78 stat:FAILED err:34')), { messageId: '78', state: 'failed', stat: 'FAILED', error: '34' });
    assert.deepEqual(parseReceipt(textReceipt('id:79 stat:ACCEPTD')), { messageId: '79', state: 'pending', stat: 'ACCEPTD' });
    assert.deepEqual(parseReceipt(textReceipt('id:80 stat:ENROUTE')), { messageId: '80', state: 'pending', stat: 'ENROUTE' });
    assert.deepEqual(parseReceipt(textReceipt('garbage')), { messageId: '', state: 'pending', stat: 'UNKNOWN' });
  });

  it('reads the first stat, not one quoted in the text field', () => {
    const receipt = parseReceipt(textReceipt('id:c449ab97 sub:001 dlvrd:001 submit date:2301010101 done date:2301010102 stat:DELIVRD err:0 Text:stat:UNDELIV'));
    assert.equal(receipt?.stat, 'DELIVRD');
  });

  it('reads receipts smpp already decoded as GSM without mangling _ and @', () => {
    const pdu = overTheWire('deliver_sm', textReceipt('id:msg_42@smsc sub:001 dlvrd:001 submit date:2403151204 done date:2403151205 stat:DELIVRD err:000 text:'));
    assert.equal(parseReceipt(pdu)?.messageId, 'msg_42@smsc');
    const ucs2 = { esm_class: 0x04, data_coding: 8, short_message: Buffer.from('id:99 stat:UNDELIV err:1', 'utf16le').swap16() };
    assert.deepEqual(parseReceipt(ucs2), { messageId: '99', state: 'failed', stat: 'UNDELIV', error: '1' });
  });

  it('prefers the receipted_message_id and message_state TLVs', () => {
    const pdu = overTheWire('deliver_sm', {
      esm_class: 0x04,
      receipted_message_id: '0A1B2C',
      message_state: 5,
      network_error_code: bytes(0x03, 0x00, 0x1b),
      short_message: Buffer.from('id:666732 stat:DELIVRD'),
    });
    assert.deepEqual(parseReceipt(pdu), { messageId: '0A1B2C', state: 'failed', stat: 'UNDELIV', error: '27' });
    assert.deepEqual(parseReceipt({ esm_class: 0x04, receipted_message_id: 'ff01', message_state: 2 }), { messageId: 'ff01', state: 'delivered', stat: 'DELIVRD' });
  });

  it('reads TLV-only receipts, even without the receipt esm_class', () => {
    const pdu = overTheWire('deliver_sm', { receipted_message_id: '123456789', message_state: 8, network_error_code: bytes(0x03, 0x00, 0x1b) });
    assert.deepEqual(parseReceipt(pdu), { messageId: '123456789', state: 'failed', stat: 'REJECTD', error: '27' });
    assert.deepEqual(parseReceipt({ receipted_message_id: Buffer.from('abc\0'), message_state: 6 }), { messageId: 'abc', state: 'pending', stat: 'ACCEPTD' });
  });

  it('leaves ordinary SMS alone', () => {
    assert.equal(parseReceipt({ esm_class: 0, data_coding: 0, short_message: Buffer.from('id:1 stat:DELIVRD') }), null);
    assert.equal(parseReceipt({ esm_class: 0x40, short_message: bytes(0x05, 0x00, 0x03, 1, 2, 1, 0x41) }), null);
    assert.equal(parseReceipt(overTheWire('deliver_sm', { short_message: Buffer.from('hello') })), null);
  });

  it('explains receipts to the sender', () => {
    assert.equal(explainReceipt({ messageId: '1', state: 'failed', stat: 'UNDELIV' }), 'the phone could not be reached (UNDELIV)');
    assert.equal(explainReceipt({ messageId: '1', state: 'failed', stat: 'EXPIRED', error: '027' }), 'the phone stayed unreachable until the message expired (EXPIRED, error 027)');
    assert.equal(explainReceipt({ messageId: '1', state: 'failed', stat: 'REJECTD', error: '000' }), 'the mobile network rejected the message (REJECTD)');
    assert.equal(explainReceipt({ messageId: '1', state: 'failed', stat: 'FAILED' }), 'the message could not be delivered (FAILED)');
    assert.equal(explainReceipt({ messageId: '1', state: 'delivered', stat: 'DELIVRD' }), 'the message was delivered (DELIVRD)');
  });
});
