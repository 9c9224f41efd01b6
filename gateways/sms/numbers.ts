// Phone numbers for the SMS gateway: E.164 in JIDs, SMPP addresses (TON/NPI) on the wire.
//
// libphonenumber-js with the `max` metadata: `min` only checks a number's length, so it would
// accept unallocated ranges (e.g. +49 1234 567890) and we would pay for submits that can only
// fail; `max` checks the digits against each country's numbering plan. Its extra ~65 kB do not
// matter on a server; the price is that new number ranges need a libphonenumber-js update.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

// SMPP 3.4 §5.2.5 / §5.2.6
const TON_UNKNOWN = 0;
const TON_INTERNATIONAL = 1;
const TON_NATIONAL = 2;
const TON_NETWORK_SPECIFIC = 3;
const TON_ALPHANUMERIC = 5;
const NPI_UNKNOWN = 0;
const NPI_ISDN = 1;

const E164 = /^\+[1-9]\d{1,14}$/;
/** What people type into a phone number: digits, a leading '+', and separators. Letters (extensions, text around the number) are not a number we can text. */
const DIALLABLE = /^\+?[\d\s().\-/]+$/;

/** The default country, or undefined for '' (no default: numbers must be international). */
function country(code: string): CountryCode | undefined {
  if (code === '') return undefined;
  const upper = code.toUpperCase();
  if (!isSupportedCountry(upper)) throw new RangeError(`unknown default country '${code}'`);
  return upper;
}

function parse(input: string, defaultCountry: CountryCode | undefined): string | null {
  const number = parsePhoneNumberFromString(input, { defaultCountry, extract: false });
  return number?.isValid() ? number.number : null;
}

/** E.164 ('+40723555666') of a number typed by a user or found in a JID local part ('0723 555 666' with default country 'RO', '+40 723-555-666', '0040723555666'); null when it is not a valid phone number. An empty default country accepts international numbers only ('+…' or '00…'); an unknown one throws. */
export function normalizeNumber(input: string, defaultCountry: string): string | null {
  const home = country(defaultCountry);
  const text = input.trim();
  if (!DIALLABLE.test(text)) return null;
  // libphonenumber knows only the home country's international prefix (011 in the US); '00' is
  // the prefix nearly everywhere else and never starts a national number.
  return parse(text, home) ?? (text.startsWith('00') ? parse(`+${text.slice(2)}`, home) : null);
}

/** SMPP address of an E.164 number: international TON 1, ISDN NPI 1, digits without '+'. */
export function smppDestination(e164: string): { addr: string; ton: number; npi: number } {
  if (!E164.test(e164)) throw new TypeError(`'${e164}' is not an E.164 number`);
  return { addr: e164.slice(1), ton: TON_INTERNATIONAL, npi: NPI_ISDN };
}

/**
 * SMPP source address of a configured sender:
 * - an E.164 number ('+40723555666', or 9-15 digits without '+'): TON 1 international, NPI 1 ISDN;
 * - a short code (1-8 digits): TON 3 network specific, NPI 0 unknown — the usual SMSC convention;
 * - an alphanumeric sender id (up to 11 letters, digits, space . & _ -, at least one letter): TON 5, NPI 0.
 * Throws on anything else, e.g. a national number ('0723555666').
 */
export function smppSource(sender: string): { addr: string; ton: number; npi: number } {
  if (E164.test(sender)) return smppDestination(sender);
  // Configuration allows a long number without '+'; it can only be international.
  if (/^[1-9]\d{8,14}$/.test(sender)) return smppDestination(`+${sender}`);
  if (/^\d{1,8}$/.test(sender)) return { addr: sender, ton: TON_NETWORK_SPECIFIC, npi: NPI_UNKNOWN };
  if (sender.length <= 11 && sender.trim() === sender && /^[A-Za-z0-9 .&_-]+$/.test(sender) && /[A-Za-z]/.test(sender)) {
    return { addr: sender, ton: TON_ALPHANUMERIC, npi: NPI_UNKNOWN };
  }
  throw new TypeError(`SMS sender '${sender}' is neither an international number, a short code of up to 8 digits nor an alphanumeric id of up to 11 characters`);
}

/** E.164 of an inbound SMPP address (international TON → '+digits'; national/unknown → normalise with the default country); null if unusable (short codes, alphanumeric senders, invalid numbers). */
export function fromSmppAddress(addr: string, ton: number, defaultCountry: string): string | null {
  const text = addr.trim();
  const digits = text.replace(/^\+/, '');
  if (!/^\d+$/.test(digits)) return null;
  switch (ton) {
    case TON_INTERNATIONAL:
      return normalizeNumber(`+${digits}`, defaultCountry);
    case TON_NATIONAL:
      return normalizeNumber(digits, defaultCountry);
    case TON_UNKNOWN:
      // Many SMSCs send international numbers without '+' as TON 0.
      return normalizeNumber(text, defaultCountry) ?? normalizeNumber(`+${digits}`, defaultCountry);
    default:
      return null;
  }
}

/** True when the number starts with one of the prefixes (E.164 prefixes like '+4090', '+1900'; separators in a prefix are ignored, an empty prefix matches nothing). */
export function matchesPrefix(e164: string, prefixes: readonly string[]): boolean {
  const digits = e164.replace(/^\+/, '');
  return prefixes.some((prefix) => {
    const wanted = prefix.replace(/\D/g, '');
    return wanted !== '' && digits.startsWith(wanted);
  });
}
