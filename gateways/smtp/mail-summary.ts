// Makes hostile mail text (subjects, display names, bodies) safe to show in one IM line or to
// put in an outbound mail header.
import { replyText } from './reply-text.js';

// C0 and C1 controls (newlines and tabs included) become spaces; the bidi embedding, override
// and isolate controls (U+202A–U+202E, U+2066–U+2069), which can make a line display reversed
// or out of order, are removed. Other format characters such as the ZWJ of emoji sequences stay.
const CONTROLS = /\p{Cc}/gu;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
const ELLIPSIS = '…';
/** Code units around the cut in which grapheme boundaries are looked for. */
const WINDOW = 64;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` as one line of at most `max` UTF-16 code units: controls removed, whitespace collapsed,
 * cut on a grapheme boundary (an emoji sequence or accented letter is never split) with an ellipsis.
 */
export function safeLine(text: string, max: number): string {
  // Only the start can show: cleaning a long body whole would cost far more than the line.
  const head = text.length > max * 8 + 64 ? text.slice(0, max * 8 + 64) : text;
  const line = head.replace(BIDI_CONTROLS, '').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  if (line.length <= max) return line;
  if (max < ELLIPSIS.length) return '';
  const limit = max - ELLIPSIS.length;
  // Graphemes are looked for only near the cut; a window start inside a very long cluster
  // (thousands of combining marks) only makes the cut earlier, never longer than `max`.
  const from = Math.max(0, limit - WINDOW);
  let end = from;
  for (const { index, segment } of graphemes.segment(line.slice(from, limit + WINDOW))) {
    if (from + index + segment.length > limit) break;
    end = from + index + segment.length;
  }
  return line.slice(0, end).trimEnd() + ELLIPSIS;
}

/** A short preview of a mail body: its own text (no quotes or signature) on one line. */
export function snippet(text: string, max = 160): string {
  // The first lines are enough to find the reply above any quote (replyText reads them all).
  const head = text.length > max * 16 ? text.slice(0, max * 16) : text;
  return safeLine(replyText(head), max);
}
