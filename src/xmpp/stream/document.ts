// A complete XML document with XMPP's restrictions: a BOSH <body/> with its stanzas, or a
// WebSocket framing element. Parsed with the stream parser, so the same rules and limits apply.
import type { Element } from '../xml.js';
import { StreamParser, type ParserLimits, type StreamErrorCondition } from './parser.js';

export type ParsedDocument =
  | { ok: true; name: string; attrs: Record<string, string>; children: Element[] }
  | { ok: false; condition: StreamErrorCondition; text: string };

export function parseDocument(text: string, limits: Omit<ParserLimits, 'emptyRootAllowed'>): ParsedDocument {
  let root: { name: string; attrs: Record<string, string> } | undefined;
  let ended = false;
  let error: { condition: StreamErrorCondition; text: string } | undefined;
  const children: Element[] = [];
  const parser = new StreamParser({ ...limits, emptyRootAllowed: true }, {
    streamStart: (attrs, name) => (root = { name, attrs }),
    element: (el) => children.push(el),
    streamEnd: () => (ended = true),
    error: (condition, message) => (error ??= { condition, text: message }),
  });
  parser.write(text);
  if (error) return { ok: false, ...error };
  if (!root || !ended) return { ok: false, condition: 'not-well-formed', text: 'incomplete XML document' };
  return { ok: true, name: root.name, attrs: root.attrs, children };
}
