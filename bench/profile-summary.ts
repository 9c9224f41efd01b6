// Summarises a V8 .cpuprofile (node --cpu-prof): the top functions by self time, and self time
// per script, so the hot spots of a run read as a table.
//
//   node dist/bench/profile-summary.js <file.cpuprofile> [--top 20] [--markdown]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Args } from './common.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const args = new Args(process.argv.slice(2), new Set(['markdown']));
const file = args.positional[0];
if (!file) {
  process.stderr.write('usage: profile-summary.js <file.cpuprofile> [--top 20] [--markdown]\n');
  process.exit(2);
}
const top = args.num('top', 20);
const markdown = args.flag('markdown');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time per node: the sampling interval that follows each sample is charged to its node.
const selfUs = new Map<number, number>();
const samples = profile.samples ?? [];
const deltas = profile.timeDeltas ?? [];
if (samples.length > 0) {
  for (let i = 0; i < samples.length; i++) {
    const next = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, next));
  }
} else {
  const total = profile.endTime - profile.startTime;
  const hits = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  for (const n of profile.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) * total) / hits);
}

const cwd = process.cwd();
function where(frame: CallFrame): string {
  if (!frame.url) return '(native)';
  const path = frame.url.startsWith('file://') ? relative(cwd, new URL(frame.url).pathname) : frame.url;
  return `${path}:${frame.lineNumber + 1}`;
}

function scriptOf(frame: CallFrame): string {
  if (!frame.url) return '(native / VM)';
  if (frame.url.startsWith('node:')) return frame.url;
  const path = frame.url.startsWith('file://') ? relative(cwd, new URL(frame.url).pathname) : frame.url;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return nm ? `${nm[1]} (package)` : path;
}

const byFunction = new Map<string, { name: string; where: string; us: number }>();
const byScript = new Map<string, number>();
let totalUs = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  totalUs += us;
  const f = node.callFrame;
  const name = f.functionName || '(anonymous)';
  const key = `${name}@${f.url}:${f.lineNumber}:${f.columnNumber}`;
  const entry = byFunction.get(key) ?? { name, where: where(f), us: 0 };
  entry.us += us;
  byFunction.set(key, entry);
  if (name === '(idle)') continue;
  const script = scriptOf(f);
  byScript.set(script, (byScript.get(script) ?? 0) + us);
}

// Inclusive ("total") time: every sample counts once for each distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const keyOf = (f: CallFrame) => `${f.functionName || '(anonymous)'}@${f.url}:${f.lineNumber}:${f.columnNumber}`;
const inclusive = new Map<string, { name: string; where: string; us: number }>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const f = nodeById.get(at)!.callFrame;
    const name = f.functionName || '(anonymous)';
    if (['(root)', '(program)', '(idle)', '(garbage collector)'].includes(name)) continue;
    const key = keyOf(f);
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = inclusive.get(key) ?? { name, where: where(f), us: 0 };
    entry.us += us;
    inclusive.set(key, entry);
  }
}

// Idle time is not work: report shares of the busy time too.
const idleUs = [...byFunction.values()].filter((e) => e.name === '(idle)').reduce((a, e) => a + e.us, 0);
const busyUs = totalUs - idleUs;
const pct = (us: number, of: number) => ((us / of) * 100).toFixed(1);
const ms = (us: number) => (us / 1000).toFixed(1);

process.stdout.write(`${file}: ${ms(totalUs)} ms sampled, ${ms(busyUs)} ms busy (${pct(busyUs, totalUs)}%)\n\n`);
const functions = [...byFunction.values()].filter((e) => e.name !== '(idle)').sort((a, b) => b.us - a.us).slice(0, top);
const totals = [...inclusive.values()].sort((a, b) => b.us - a.us).filter((e) => e.where.startsWith('dist/') || e.where.startsWith('node_modules/')).slice(0, top);
const scripts = [...byScript.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);

if (markdown) {
  process.stdout.write(`| # | self ms | % of busy | function | location |\n|---|---|---|---|---|\n`);
  functions.forEach((e, i) => process.stdout.write(`| ${i + 1} | ${ms(e.us)} | ${pct(e.us, busyUs)} | \`${e.name}\` | ${e.where} |\n`));
  process.stdout.write(`\n| self ms | % of busy | script / package |\n|---|---|---|\n`);
  for (const [script, us] of scripts) process.stdout.write(`| ${ms(us)} | ${pct(us, busyUs)} | ${script} |\n`);
  process.stdout.write(`\n| total ms | % of busy | function (JavaScript of the project and its packages) | location |\n|---|---|---|---|\n`);
  for (const e of totals) process.stdout.write(`| ${ms(e.us)} | ${pct(e.us, busyUs)} | \`${e.name}\` | ${e.where} |\n`);
} else {
  process.stdout.write(`${'self ms'.padStart(9)} ${'%busy'.padStart(6)}  function  (location)\n`);
  for (const e of functions) process.stdout.write(`${ms(e.us).padStart(9)} ${pct(e.us, busyUs).padStart(6)}  ${e.name}  (${e.where})\n`);
  process.stdout.write(`\nself time by script:\n`);
  for (const [script, us] of scripts) process.stdout.write(`${ms(us).padStart(9)} ${pct(us, busyUs).padStart(6)}  ${script}\n`);
  process.stdout.write(`\ntotal (inclusive) time, project and package functions:\n`);
  for (const e of totals) process.stdout.write(`${ms(e.us).padStart(9)} ${pct(e.us, busyUs).padStart(6)}  ${e.name}  (${e.where})\n`);
}
