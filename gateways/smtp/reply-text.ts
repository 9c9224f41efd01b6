// The new text of a reply mail: what the user wrote above the quoted message, without the
// signature. Mail clients mark the quoted part in many ways; these are the common ones.

/** "On <date>, <name> wrote:" and its translations, as [start, end] of the (unwrapped) line. */
const ATTRIBUTIONS: Array<[RegExp, RegExp]> = [
  [/^On\s/, /\swrote\s?:$/], // English
  [/^Am\s/, /\sschrieb(\s.*)?:$/], // German: "Am 1.1.24 um 10:00 schrieb Jo <jo@x>:"
  [/^Le\s/, /\sa écrit\s?:$/], // French
  [/^El\s/, /\sescribió\s?:$/], // Spanish
  [/^Op\s/, /\sschreef(\s.*)?:$/], // Dutch
  [/^Il\s/, /\sha scritto\s?:$/], // Italian
  [/^Em\s/, /\sescreveu\s?:$/], // Portuguese
];
/** Attributions longer than this (when joined) are prose, not an attribution. */
const MAX_ATTRIBUTION = 300;

const QUOTE = /^[ \t]*>/;
const ORIGINAL_MESSAGE =
  /^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht)\s*-{2,}$/i;
const FORWARDED = /^(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré)\s*-{2,}|begin forwarded message:)$/i;
// Outlook's header block of the quoted message: "From: …" then "Sent: …" (or Date, translated).
const HEADER_FROM = /^\*?(from|de|von|van|da|från|fra)\s?:\*?\s/i;
const HEADER_DATE = /^\*?(sent|date|envoyé|gesendet|datum|enviado|fecha|data|verzonden|inviato|skickat|sendt)\s?:\*?\s/i;
const HEADER_LINE = /^\*?[\p{L}-]+\s?:\*?\s/u;
const SEPARATOR = /^[ \t]*(_{5,}|-{5,})[ \t]*$/;
const SIGNATURE = /^--[ ]?$/;
const MOBILE_FOOTER =
  /^(sent from my .+|sent from (outlook|mail|yahoo mail|samsung|gmail) .*|get outlook for \w+.*|sent with proton ?mail.*|von meinem .+ gesendet|envoyé de mon .+|enviado desde mi .+|verstuurd vanaf mijn .+|inviato da .+)$/i;

/**
 * The new text of a reply: cut at the first quote block or attribution, signature and mobile
 * footer dropped. When nothing is written above the quote (bottom-posting), the text after the
 * first quoted block is taken instead. '' when nothing is left.
 */
export function replyText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let from = 0;
  for (;;) {
    const cut = quoteStart(lines, from);
    const own = ownText(lines.slice(from, cut));
    const next = own === '' ? afterQuote(lines, cut) : -1;
    if (next < 0) return own;
    from = next;
  }
}

function ownText(lines: string[]): string {
  const signature = lines.findIndex((line) => SIGNATURE.test(line));
  const kept = (signature >= 0 ? lines.slice(0, signature) : lines).map((line) => line.trimEnd());
  for (;;) {
    while (kept.length > 0 && (kept.at(-1) === '' || SEPARATOR.test(kept.at(-1)!))) kept.pop();
    if (kept.length === 0 || !MOBILE_FOOTER.test(kept.at(-1)!.trim())) break;
    kept.pop();
  }
  return kept.join('\n').replace(/^\n+/, '').replace(/\n{3,}/g, '\n\n');
}

/** Index of the first line of the quoted part from `from` on (lines.length when there is none). */
function quoteStart(lines: string[], from: number): number {
  let wroteSomething = false;
  for (let i = from; i < lines.length; i++) {
    const line = bare(lines[i]);
    if (QUOTE.test(lines[i])) return withIntroduction(lines, from, i);
    if (ORIGINAL_MESSAGE.test(line) || isAttribution(lines, i) || isHeaderBlock(lines, i)) return i;
    if (FORWARDED.test(line)) {
      // A note above a forwarded message is the message; a bare forward is itself the content:
      // its header block is kept (quotes inside the forwarded mail are still cut).
      if (wroteSomething) return i;
      while (i + 1 < lines.length && lines[i + 1].trim() === '') i++;
      while (i + 1 < lines.length && lines[i + 1].trim() !== '') i++;
      continue;
    }
    if (line !== '') wroteSomething = true;
  }
  return lines.length;
}

/** Where the text after the `>` block at (or just below an attribution at) `cut` starts; -1 if none. */
function afterQuote(lines: string[], cut: number): number {
  let i = cut;
  while (i < Math.min(cut + 4, lines.length) && !QUOTE.test(lines[i])) i++;
  if (i >= lines.length || !QUOTE.test(lines[i])) return -1;
  while (i < lines.length && (QUOTE.test(lines[i]) || lines[i].trim() === '')) i++;
  return i < lines.length ? i : -1;
}

/** An attribution on one line, or wrapped over up to three ("On …, Jo <\njo@x> wrote:"). */
function isAttribution(lines: string[], i: number): boolean {
  const first = bare(lines[i]);
  const rules = ATTRIBUTIONS.filter(([start]) => start.test(first));
  if (rules.length === 0) return false;
  let joined = '';
  for (let j = i; j < Math.min(i + 3, lines.length) && bare(lines[j]) !== ''; j++) {
    joined = `${joined} ${bare(lines[j])}`.trim();
    if (joined.length > MAX_ATTRIBUTION) return false;
    if (rules.some(([, end]) => end.test(joined))) return true;
  }
  return false;
}

/** "From: …" followed, within a few header lines, by "Sent: …"/"Date: …". */
function isHeaderBlock(lines: string[], i: number): boolean {
  if (!HEADER_FROM.test(bare(lines[i]))) return false;
  for (let j = i + 1; j < Math.min(i + 4, lines.length); j++) {
    const line = bare(lines[j]);
    if (HEADER_DATE.test(line)) return true;
    if (!HEADER_LINE.test(line)) return false;
  }
  return false;
}

/**
 * A quote block starts at `i`; an unrecognised attribution (another language) just above it is
 * part of it when it looks like one: ends with ':' and holds a date or an address.
 */
function withIntroduction(lines: string[], from: number, i: number): number {
  let j = i - 1;
  while (j >= from && bare(lines[j]) === '') j--;
  const line = j >= from ? bare(lines[j]) : '';
  return line.endsWith(':') && /[\d@]/.test(line) && line.length <= MAX_ATTRIBUTION ? j : i;
}

/** A line as markers are matched: trimmed, without format characters (Gmail wraps RTL attributions in bidi controls). */
function bare(line: string): string {
  return line.replace(/\p{Cf}/gu, '').trim();
}
