// PRECIS (RFC 8264) string classes and the RFC 8265 profiles used by XMPP addresses
// (RFC 7622), plus IDNA2008-style domainpart handling. Property data comes from the
// Unicode tables built into V8/ICU, so the Unicode version follows the Node runtime.
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

export class PrecisError extends Error {
  override name = 'PrecisError';
}

const fail = (msg: string): never => {
  throw new PrecisError(msg);
};
const hex = (cp: number) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');

// Pure printable ASCII needs no mapping besides case and is entirely PVALID (ASCII7).
const ASCII_ID = /^[\x21-\x7e]+$/;
const ASCII_FREE = /^[\x20-\x7e]+$/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const LDH_DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/;
const NUMERIC_TLD = /(?:^|\.)[0-9]+\.?$/;

// RFC 5892 §2.6 exceptions (PRECIS reuses them).
const EXC_PVALID = new Set([0xdf, 0x3c2, 0x6fd, 0x6fe, 0xf0b, 0x3007]);
const EXC_DISALLOWED = new Set([0x640, 0x7fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);
const RE_CONTEXTO = /^[\u00b7\u0375\u05f3\u05f4\u30fb\u0660-\u0669\u06f0-\u06f9]$/u;
const RE_UNASSIGNED = /^\p{Cn}$/u; // also covers noncharacters, which are disallowed anyway
// Hangul_Syllable_Type L/V/T is not exposed to JS regexps; these are the conjoining jamo blocks.
const RE_OLD_HANGUL_JAMO = /^[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]$/u;
const RE_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;
const RE_LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const RE_OTHER_LETTER_DIGIT = /^[\p{Lt}\p{Nl}\p{No}\p{Me}]$/u;

type Kind = 'pvalid' | 'free' | 'contextj' | 'contexto' | 'disallowed';

/** Derived property of one code point, RFC 8264 §8 (evaluated in that order). */
function derive(ch: string, cp: number): [Kind, string] {
  if (EXC_PVALID.has(cp)) return ['pvalid', ''];
  if (EXC_DISALLOWED.has(cp)) return ['disallowed', 'exception'];
  if (RE_CONTEXTO.test(ch)) return ['contexto', ''];
  if (RE_UNASSIGNED.test(ch)) return ['disallowed', 'unassigned code point'];
  if (cp >= 0x21 && cp <= 0x7e) return ['pvalid', ''];
  if (cp === 0x200c || cp === 0x200d) return ['contextj', ''];
  if (RE_OLD_HANGUL_JAMO.test(ch)) return ['disallowed', 'old Hangul jamo'];
  if (RE_IGNORABLE.test(ch)) return ['disallowed', 'default-ignorable code point'];
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return ['disallowed', 'control character'];
  if (ch.normalize('NFKC') !== ch) return ['free', 'compatibility character (HasCompat)'];
  if (RE_LETTER_DIGIT.test(ch)) return ['pvalid', ''];
  if (RE_OTHER_LETTER_DIGIT.test(ch)) return ['free', 'other letter or digit'];
  if (/^\p{Zs}$/u.test(ch)) return ['free', 'space'];
  if (/^\p{S}$/u.test(ch)) return ['free', 'symbol'];
  if (/^\p{P}$/u.test(ch)) return ['free', 'punctuation'];
  return ['disallowed', 'disallowed code point'];
}

/** RFC 5892 Appendix A CONTEXTO rules. */
function contextOk(cps: string[], i: number, cp: number): boolean {
  switch (cp) {
    case 0x00b7: return cps[i - 1] === 'l' && cps[i + 1] === 'l';
    case 0x0375: return /^\p{Script=Greek}$/u.test(cps[i + 1] ?? '');
    case 0x05f3: case 0x05f4: return /^\p{Script=Hebrew}$/u.test(cps[i - 1] ?? '');
    case 0x30fb: return cps.some((c) => /^[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]$/u.test(c));
  }
  // Arabic-Indic (U+066x) and Extended Arabic-Indic (U+06Fx) digits must not be mixed.
  const other = cp <= 0x669 ? /[\u06f0-\u06f9]/ : /[\u0660-\u0669]/;
  return !cps.some((c) => other.test(c));
}

/** Validates against IdentifierClass or FreeformClass; returns the code points. */
function validate(s: string, freeform: boolean): string[] {
  const cps = Array.from(s);
  cps.forEach((ch, i) => {
    const cp = ch.codePointAt(0)!;
    const [kind, why] = derive(ch, cp);
    if (kind === 'pvalid' || (kind === 'free' && freeform)) return;
    if (kind === 'contexto' && contextOk(cps, i, cp)) return;
    // CONTEXTJ needs Canonical_Combining_Class/Joining_Type data that JS does not expose.
    if (kind === 'contextj') fail(`zero-width joiner/non-joiner not supported (${hex(cp)})`);
    fail(`${kind === 'contexto' ? 'contextual rule failed' : why} (${hex(cp)}) not allowed in ${freeform ? 'FreeformClass' : 'IdentifierClass'}`);
  });
  return cps;
}

type Bidi = 'L' | 'R' | 'AN' | 'EN' | 'ES' | 'CS' | 'ET' | 'ON' | 'NSM';
// V8 does not support \p{Bidi_Class=...}; this approximates it for IdentifierClass code
// points (letters, digits, marks, ASCII) using the blocks whose default class is R/AL.
const RE_AN = /^[\u0600-\u0605\u0660-\u0669\u066b\u066c\u06dd\u0890\u0891\u08e2\u{10d30}-\u{10d39}\u{10e60}-\u{10e7e}]$/u;
const RE_RTL = /^[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]$/u;

function bidiClass(ch: string): Bidi {
  if (/^[a-zA-Z]$/.test(ch)) return 'L';
  if (/^[0-9\u06f0-\u06f9]$/.test(ch)) return 'EN';
  if (ch === '+' || ch === '-') return 'ES';
  if (/^[,./:]$/.test(ch)) return 'CS';
  if (/^[#$%]$/.test(ch)) return 'ET';
  if (/^[\x21-\x7e\u00b7\u0375\u30fb]$/.test(ch)) return 'ON';
  if (/^[\p{Mn}\p{Me}]$/u.test(ch)) return 'NSM';
  if (RE_AN.test(ch)) return 'AN';
  return RE_RTL.test(ch) ? 'R' : 'L'; // R here stands for both R and AL
}

const isRtl = (ch: string) => {
  const b = bidiClass(ch);
  return b === 'R' || b === 'AN';
};

/** The Bidi Rule, RFC 5893 §2. Unless `always`, only applied when RTL/AN code points occur. */
function checkBidi(cps: string[], always: boolean): void {
  if (!always && !cps.some(isRtl)) return;
  const c = cps.map(bidiClass);
  let end = c.length - 1;
  while (end > 0 && c[end] === 'NSM') end--;
  const last = c[end];
  const rule = (n: number) => fail(`Bidi Rule condition ${n} violated`);
  if (c[0] === 'R') {
    if (c.includes('L')) rule(2);
    if (last !== 'R' && last !== 'EN' && last !== 'AN') rule(3);
    if (c.includes('EN') && c.includes('AN')) rule(4);
  } else if (c[0] === 'L') {
    if (c.includes('R') || c.includes('AN')) rule(5);
    if (last !== 'L' && last !== 'EN') rule(6);
  } else {
    rule(1);
  }
}

// Width mapping rule (RFC 8265 §3.3.1): fullwidth/halfwidth forms to their decompositions.
const mapWidth = (s: string) => s.replace(/[\u3000\uff00-\uffef]/g, (c) => c.normalize('NFKC'));

/** UsernameCaseMapped profile (RFC 8265 §3.3) enforcement. */
export function prepareUsername(s: string): string {
  if (ASCII_ID.test(s)) return s.toLowerCase();
  const out = mapWidth(s).toLowerCase().normalize('NFC');
  if (!out) fail('empty username');
  checkBidi(validate(out, false), false);
  return out;
}

/** OpaqueString profile (RFC 8265 §4.2) enforcement. */
export function prepareOpaqueString(s: string): string {
  if (ASCII_FREE.test(s)) return s;
  const out = s.replace(/\p{Zs}/gu, ' ').normalize('NFC');
  if (!out) fail('empty string');
  validate(out, true);
  return out;
}

/**
 * Domainpart (RFC 7622 §3.2): IP literal, IPv4 address or domain name, returned in
 * lowercase U-label form without a trailing dot. A-labels are converted to U-labels.
 */
export function prepareDomain(input: string): string {
  let s = ASCII_ID.test(input)
    ? input.toLowerCase()
    : mapWidth(input).toLowerCase().normalize('NFC').replace(/[\u3002\uff0e\uff61]/g, '.');
  // Fast path for plain LDH names; anything unusual takes the full path below.
  if (LDH_DOMAIN.test(s) && !s.includes('--') && !NUMERIC_TLD.test(s)) {
    const out = s.endsWith('.') ? s.slice(0, -1) : s;
    if (out.length <= 1023) return out;
  }
  if (s.startsWith('[') && s.endsWith(']')) {
    const addr = s.slice(1, -1);
    const canonical = isIPv6(addr) && !addr.includes('%') ? domainToASCII(s) : '';
    return canonical || fail('invalid IPv6 literal');
  }
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (!s) fail('empty domain');
  if (isIPv4(s)) return s;
  const labels = s.split('.').map(prepareLabel);
  if (/^[0-9]+$/.test(labels[labels.length - 1])) fail('numeric top-level label (not a valid IPv4 address)');
  const out = labels.join('.');
  if (Buffer.byteLength(out, 'utf8') > 1023) fail('domain longer than 1023 octets');
  // RFC 5893: once any label is right-to-left, every label must satisfy the Bidi Rule.
  if (/[^\x00-\x7f]/.test(out) && Array.from(out).some(isRtl)) {
    for (const l of labels) checkBidi(Array.from(l), true);
  }
  return out;
}

function prepareLabel(label: string): string {
  if (!label) fail('empty domain label');
  if (ASCII_ID.test(label)) {
    if (!LDH_LABEL.test(label)) fail(`invalid label "${label}" (letters, digits and inner hyphens only)`);
    if (label.length > 63) fail('domain label longer than 63 octets');
    if (label.slice(2, 4) !== '--') return label;
    if (!label.startsWith('xn--')) fail(`reserved label "${label}" (hyphens in 3rd and 4th position)`);
    const u = domainToUnicode(label);
    if (!u || u === label || domainToASCII(u) !== label) fail(`invalid A-label "${label}"`);
    return checkULabel(u);
  }
  return checkULabel(label);
}

function checkULabel(label: string): string {
  const cps = validate(label, false);
  for (const c of cps) {
    if (c.length === 1 && c < '\x80' && !/[a-z0-9-]/.test(c)) fail(`"${c}" not allowed in a domain label`);
    if (/^\p{Lu}$/u.test(c)) fail(`uppercase letter ${c} not allowed in a domain label`);
  }
  if (/^\p{M}/u.test(label)) fail('domain label starts with a combining mark');
  if (label.startsWith('-') || label.endsWith('-') || label.slice(2, 4) === '--') fail(`misplaced hyphen in label "${label}"`);
  const ascii = domainToASCII(label);
  if (!ascii) fail(`invalid internationalized label "${label}"`);
  if (ascii.length > 63) fail('domain label longer than 63 octets');
  return label;
}
