// Micro-benchmark of the inbound half of the message path: bytes of a client stream to
// ltx elements (src/xmpp/stream/parser.ts, built on saxes), next to ltx's own tokenizer as
// a reference for what an indexOf-driven parser costs, and to serialising the element again.
//
//   taskset -c 0 node dist/bench/parser.js [--stanzas 200000] [--per-chunk 1]
import SaxLtx from 'ltx/src/parsers/ltx.js';
import { StreamParser } from '../src/xmpp/stream/parser.js';
import { Element } from '../src/xmpp/xml.js';
import { Args } from './common.js';

const args = new Args(process.argv.slice(2));
const stanzas = args.num('stanzas', 200_000);
const perChunk = args.num('per-chunk', 1);

const header = `<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' ` +
  `xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>`;
const stanza = (i: number) => `<message type='chat' to='u${i % 1000}@localhost/r' id='${i.toString(36)}'>` +
  `<body>t=${(i * 1.234).toFixed(3)} the quick brown fox jumps over the lazy dog</body></message>`;
// Pre-built chunks of `perChunk` stanzas, as Buffers (what the socket delivers).
const chunks: Buffer[] = [];
for (let i = 0; i < 2000; i++) {
  let s = '';
  for (let j = 0; j < perChunk; j++) s += stanza(i * perChunk + j);
  chunks.push(Buffer.from(s));
}
const rounds = Math.ceil(stanzas / perChunk);

function time(name: string, run: () => number): void {
  run(); // warm-up
  const t0 = process.hrtime.bigint();
  const n = run();
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  process.stdout.write(`${name.padEnd(44)} ${(us / n).toFixed(2).padStart(7)} µs/stanza (${n} stanzas)\n`);
}

time('StreamParser (saxes) -> ltx Element', () => {
  let n = 0;
  const parser = new StreamParser({ maxStanzaBytes: 1 << 30, maxDepth: 64 }, {
    streamStart: () => undefined,
    element: () => void n++,
    streamEnd: () => undefined,
    error: (condition, text) => {
      throw new Error(`${condition}: ${text}`);
    },
  });
  parser.write(header);
  for (let i = 0; i < rounds; i++) parser.write(chunks[i % chunks.length]!);
  return n;
});

time('ltx tokenizer -> ltx Element (reference)', () => {
  // The same element building as StreamParser, on ltx's tokenizer (no XMPP restrictions checked).
  let n = 0;
  let depth = 0;
  let current: Element | null = null;
  const sax = new SaxLtx();
  sax.on('startElement', (name: string, attrs: Record<string, string>) => {
    if (depth++ === 0) return;
    const el = new Element(name, attrs);
    if (current) current.cnode(el);
    current = el;
  });
  sax.on('endElement', () => {
    depth--;
    const el = current;
    if (!el) return;
    if (el.parent) current = el.parent;
    else {
      current = null;
      n++;
    }
  });
  sax.on('text', (text: string) => {
    if (current) current.t(text);
  });
  sax.on('error', (err: Error) => {
    throw err;
  });
  sax.write(header);
  for (let i = 0; i < rounds; i++) sax.write(chunks[i % chunks.length]!.toString());
  return n;
});

time('ltx Element.toString (outbound)', () => {
  let n = 0;
  const els: Element[] = [];
  const parser = new StreamParser({ maxStanzaBytes: 1 << 30, maxDepth: 64 }, {
    streamStart: () => undefined, element: (el) => void els.push(el), streamEnd: () => undefined, error: () => undefined,
  });
  parser.write(header);
  for (let i = 0; i < 2000; i++) parser.write(chunks[i]!);
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const el = els[i % els.length]!;
    el.attrs.from = 'u1@localhost/r';
    bytes += el.toString().length;
    n += perChunk;
  }
  if (bytes === 0) throw new Error('nothing serialised');
  return n;
});
