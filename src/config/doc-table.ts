// Renders the options table of docs/configuration.md from schema.ts.
// Update the docs with: node dist/src/config/doc-table.js docs/configuration.md
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { options, type ObjectDecl, type OptionDecl } from './schema.js';

export const TABLE_START = '<!-- options-table:start (generated from src/config/schema.ts; do not edit) -->';
export const TABLE_END = '<!-- options-table:end -->';

export function renderOptionsTable(): string {
  const rows = ['| Option | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const { path, decl, required } of memberRows(options, '')) {
    const description = decl.description.replaceAll('|', '\\|');
    rows.push(`| \`${path}\` | ${typeOf(decl)} | ${defaultOf(decl, required)} | ${description} |`);
  }
  return `${rows.join('\n')}\n`;
}

/** `markdown` with the text between the table markers replaced by the current table. */
export function spliceOptionsTable(markdown: string): string {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`table markers not found: ${TABLE_START} ... ${TABLE_END}`);
  return `${markdown.slice(0, start + TABLE_START.length)}\n${renderOptionsTable()}${markdown.slice(end)}`;
}

interface Row {
  path: string;
  decl: OptionDecl;
  required: boolean;
}

// Sections that always exist (objects defaulting to {}) get no row of their own.
function* rowsOf(decl: OptionDecl, path: string, required: boolean): Generator<Row> {
  if (decl.type === 'object' && !decl.required) return yield* memberRows(decl, path);
  yield { path, decl, required };
  if (decl.type === 'object') yield* memberRows(decl, path);
  if (decl.type === 'array' && decl.items.type === 'object') yield* memberRows(decl.items, `${path}[]`);
}

function* memberRows(decl: ObjectDecl, path: string): Generator<Row> {
  for (const [key, sub] of Object.entries(decl.properties)) {
    yield* rowsOf(sub, path ? `${path}.${key}` : key, decl.required?.includes(key) ?? false);
  }
}

function typeOf(decl: OptionDecl): string {
  switch (decl.type) {
    case 'object':
      return 'mapping';
    case 'array': {
      const items = decl.items.type === 'object' ? 'mappings' : `${typeOf(decl.items)}s`;
      return `list of ${items}${decl.minItems ? ` (at least ${decl.minItems})` : ''}`;
    }
    default: {
      if (decl.enum) return decl.enum.map((v) => `\`${v}\``).join(', ');
      const base = typeof decl.type === 'string' ? decl.type : 'integer or `null`';
      const name = decl.path ? 'path' : base;
      if (decl.minimum !== undefined && decl.maximum !== undefined) return `${name}, ${decl.minimum}–${decl.maximum}`;
      if (decl.minimum !== undefined) return `${name} ≥ ${decl.minimum}`;
      if (decl.exclusiveMinimum !== undefined) return `${name} > ${decl.exclusiveMinimum}`;
      return name;
    }
  }
}

function defaultOf(decl: OptionDecl, required: boolean): string {
  if (required) return '*required*';
  if (decl.type !== 'object' && decl.default !== undefined) return `\`${flow(decl.default)}\``;
  if ('dataDirDefault' in decl && decl.dataDirDefault) return `\`<data_dir>/${decl.dataDirDefault}\``;
  return '*none*';
}

/** YAML flow notation, e.g. `[{domain: "localhost"}]`. */
function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (file) writeFileSync(file, spliceOptionsTable(readFileSync(file, 'utf8')));
  else process.stdout.write(renderOptionsTable());
}
