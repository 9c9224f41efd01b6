// SMSC delivery receipts (SMPP 3.4 §5.2.12 esm_class, §5.3.2 TLVs, Appendix B text format).
import { Buffer } from 'node:buffer';
import { messageOctets } from './encoding.js';

export interface DeliveryReceipt {
  /** As the SMSC wrote it: hex or decimal, leading zeros kept; '' when the SMSC sent none. */
  messageId: string;
  state: 'delivered' | 'failed' | 'pending';
  stat: string /* DELIVRD, UNDELIV, REJECTD, EXPIRED, DELETED, ACCEPTD, UNKNOWN, ENROUTE */;
  error?: string /* err: code */;
}

const ESM_MESSAGE_TYPE = 0x3c;
const ESM_DELIVERY_RECEIPT = 0x04;

/** message_state TLV values (SMPP 3.4 §5.3.2.35; 0 and 9 from SMPP 5.0) as Appendix B stat words. */
const STAT_BY_STATE = ['SCHEDULED', 'ENROUTE', 'DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'ACCEPTD', 'UNKNOWN', 'REJECTD', 'SKIPPED'];
/** Spelled-out stat words some SMSCs use instead of the 7-letter ones. */
const STAT_ALIASES: Record<string, string> = {
  DELIVERED: 'DELIVRD',
  UNDELIVERABLE: 'UNDELIV',
  UNDELIVERED: 'UNDELIV',
  REJECTED: 'REJECTD',
  ACCEPTED: 'ACCEPTD',
};
const FAILED = new Set(['UNDELIV', 'REJECTD', 'EXPIRED', 'DELETED', 'SKIPPED', 'FAILED']);

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}:(\\S+)`, 'i').exec(text)?.[1];
}

function asText(value: unknown): string | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('latin1') : typeof value === 'string' ? value : undefined;
  const trimmed = text?.replace(/\0+$/, '').trim();
  return trimmed ? trimmed : undefined;
}

/** network_error_code TLV: network type octet, then a 16-bit error code. */
function networkError(value: unknown): string | undefined {
  return Buffer.isBuffer(value) && value.length === 3 ? String(value.readUInt16BE(1)) : undefined;
}

/** A deliver_sm that is a delivery receipt (esm_class & 0x3C === 0x04, or receipted_message_id TLV) → the receipt; else null. Prefer the receipted_message_id and message_state TLVs, fall back to parsing the Appendix B text (tolerant: case, missing fields, hex vs decimal ids — keep the id as text). */
export function parseReceipt(pdu: Record<string, unknown>): DeliveryReceipt | null {
  const esmClass = numberOf(pdu.esm_class) ?? 0;
  const tlvId = asText(pdu.receipted_message_id);
  if ((esmClass & ESM_MESSAGE_TYPE) !== ESM_DELIVERY_RECEIPT && tlvId === undefined) return null;

  // The text is ASCII whatever data_coding claims, so read the octets as Latin-1; dropping NULs also
  // reads the rare UCS-2 receipt. (Decoding as GSM would turn '_' into '§' and '@' into '¡'.)
  const body = messageOctets({ data_coding: numberOf(pdu.data_coding), esm_class: esmClass, short_message: pdu.short_message, message_payload: pdu.message_payload });
  const text = (body?.octets ?? Buffer.alloc(0)).toString('latin1').replace(/\0/g, '');
  const messageState = numberOf(pdu.message_state);
  const tlvState = messageState === undefined ? undefined : STAT_BY_STATE[messageState];
  const textStat = field(text, 'stat')?.toUpperCase();
  const stat = tlvState ?? (textStat ? (STAT_ALIASES[textStat] ?? textStat) : 'UNKNOWN');
  const state = stat === 'DELIVRD' ? 'delivered' : FAILED.has(stat) ? 'failed' : 'pending';
  const error = field(text, 'err') ?? networkError(pdu.network_error_code);
  const receipt: DeliveryReceipt = { messageId: tlvId ?? field(text, 'id') ?? '', state, stat };
  return error === undefined ? receipt : { ...receipt, error };
}

const EXPLANATIONS: Record<string, string> = {
  DELIVRD: 'the message was delivered',
  UNDELIV: 'the phone could not be reached',
  REJECTD: 'the mobile network rejected the message',
  EXPIRED: 'the phone stayed unreachable until the message expired',
  DELETED: 'the message was deleted before it could be delivered',
  SKIPPED: 'the mobile network skipped the message',
  ACCEPTD: 'the mobile network accepted the message but has not delivered it',
  ENROUTE: 'the message is on its way',
  SCHEDULED: 'the message is scheduled for delivery',
  UNKNOWN: 'the mobile network does not know what happened to the message',
};

/** Human explanation of a failed receipt for the sender ("the phone could not be reached (UNDELIV)"). */
export function explainReceipt(receipt: DeliveryReceipt): string {
  const what = EXPLANATIONS[receipt.stat] ?? (receipt.state === 'failed' ? 'the message could not be delivered' : 'the message has not been delivered yet');
  // err:000 (or 0) is how SMSCs say "no error".
  const error = receipt.error !== undefined && !/^0+$/.test(receipt.error) ? `, error ${receipt.error}` : '';
  return `${what} (${receipt.stat}${error})`;
}
