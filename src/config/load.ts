import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { jsonSchema, options, type Config, type ObjectDecl, type OptionDecl } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadedConfig {
  config: Config;
  /**
   * Where the option at `path` (e.g. `hosts[0].certificate.cert`) was set: "file:line:col",
   * "environment variable SWITCHBOARD_…", or just the file name when it took its default.
   */
  locate(path: string): string;
}

export interface LoadOptions {
  /** Config file to read; also names `text` in messages and anchors relative paths. */
  file?: string;
  /** YAML to use instead of reading `file`. With neither, all defaults apply. */
  text?: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

type Path = (string | number)[];
type Locate = (path: Path, at?: 'key' | 'value') => string;

const ENV_PREFIX = 'SWITCHBOARD_';

const validate = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true }).compile(jsonSchema);

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const name = opts.file ?? '<text>';
  const baseDir = opts.file === undefined ? process.cwd() : dirname(resolve(opts.file));
  const text = opts.text ?? (opts.file === undefined ? '' : readConfigFile(opts.file));

  const source = new Source(name, text);
  const raw = source.toJS();
  dropEmptySections(options, raw);
  const overrides = applyEnv(raw, opts.env ?? process.env);
  const locate: Locate = (path, at) => {
    const override = overrides.filter((o) => isPrefix(o.path, path)).at(-1); // the most specific
    return override ? `environment variable ${override.variable}` : source.position(path, at);
  };

  if (!validate(raw)) throw new ConfigError(describeErrors(validate.errors ?? [], raw, locate));
  const config = raw as unknown as Config;
  resolvePaths(options, config, baseDir, resolve(baseDir, config.data_dir));
  checkHosts(config, locate);
  return { config, locate: (path) => locate(parsePath(path)) };
}

/** Throws a ConfigError naming every configured certificate or key file that cannot be read. */
export function checkCertificateFiles({ config, locate }: LoadedConfig): void {
  const problems: string[] = [];
  config.hosts.forEach((host, i) => {
    for (const kind of ['cert', 'key'] as const) {
      const file = host.certificate?.[kind];
      const reason = file === undefined ? undefined : unreadable(file);
      if (reason === undefined) continue;
      const path = `hosts[${i}].certificate.${kind}`;
      problems.push(`${locate(path)}: ${path}: cannot read ${file}: ${reason}`);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read configuration file: ${fsReason(err)}`);
  }
}

function unreadable(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return 'not a regular file';
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return fsReason(err);
  }
}

function fsReason(err: unknown): string {
  const { code, message } = err as NodeJS.ErrnoException;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return message;
}

/** The parsed YAML document, with positions for error messages. */
class Source {
  private readonly lines = new LineCounter();
  private readonly doc: Document;

  constructor(
    private readonly name: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    if (this.doc.errors.length > 0) {
      const problems = this.doc.errors.map((e) => `${this.at(e.pos[0])}: invalid YAML: ${e.message}`);
      throw new ConfigError(problems.join('\n'));
    }
  }

  toJS(): Record<string, unknown> {
    const value: unknown = this.doc.toJS() ?? {};
    if (kindOf(value) !== 'mapping') {
      throw new ConfigError(`${this.at(0)}: the configuration must be a mapping of options, got ${kindOf(value)}`);
    }
    return value as Record<string, unknown>;
  }

  /** Position of the value (or key) at `path`, else of its closest ancestor present in the file. */
  position(path: Path, at: 'key' | 'value' = 'value'): string {
    let node: unknown = this.doc.contents;
    let offset = (node as { range?: [number] } | null)?.range?.[0];
    for (const [i, seg] of path.entries()) {
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        next = pair && (at === 'key' && i === path.length - 1 ? pair.key : (pair.value ?? pair.key));
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      const start = (next as { range?: [number] } | undefined)?.range?.[0];
      if (start === undefined) break;
      node = next;
      offset = start;
    }
    return offset === undefined ? this.name : this.at(offset);
  }

  private at(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.name}:${line}:${col}`;
  }
}

// A section left empty (e.g. all its lines commented out) means "use the defaults".
function dropEmptySections(decl: OptionDecl, value: unknown): void {
  if (decl.type === 'array' && Array.isArray(value)) {
    for (const item of value) dropEmptySections(decl.items, item);
  } else if (decl.type === 'object' && kindOf(value) === 'mapping') {
    const obj = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(decl.properties)) {
      if (sub.type === 'object' && obj[key] === null) delete obj[key];
      else dropEmptySections(sub, obj[key]);
    }
  }
}

interface Override {
  variable: string;
  path: Path;
}

/** Applies SWITCHBOARD_A__B overrides to `raw`, general before specific. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Override[] {
  const overrides = Object.keys(env)
    .filter((variable) => variable.startsWith(ENV_PREFIX))
    .map((variable) => ({ variable, path: envPath(variable) }))
    .sort((a, b) => comparePaths(a.path, b.path));
  for (const { variable, path } of overrides) setIn(raw, path, envValue(env[variable] ?? ''), variable);
  return overrides;
}

function envPath(variable: string): Path {
  const path: Path = [];
  let decl: OptionDecl = options;
  for (const part of variable.slice(ENV_PREFIX.length).toLowerCase().split('__')) {
    if (decl.type === 'array' && /^\d+$/.test(part)) {
      path.push(Number(part));
      decl = decl.items;
    } else if (decl.type === 'object' && Object.hasOwn(decl.properties, part)) {
      path.push(part);
      decl = decl.properties[part];
    } else {
      const problem =
        decl.type === 'array'
          ? `"${part}" is not a list index`
          : decl.type === 'object'
            ? unknownKey(decl, part)
            : `${formatPath(path)} has no sub-options`;
      throw new ConfigError(`environment variable ${variable}: ${formatPath([...path, part])}: ${problem}`);
    }
  }
  return path;
}

// YAML scalars and flow collections (`[1, 2]`, JSON); anything else is taken as a plain string.
function envValue(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || (isCollection(doc.contents) && !doc.contents.flow)) return text;
  return doc.toJS();
}

function setIn(root: Record<string, unknown>, path: Path, value: unknown, variable: string): void {
  let container: Record<string | number, unknown> = root;
  let decl: OptionDecl = options;
  for (const [i, seg] of path.entries()) {
    if (Array.isArray(container) && (seg as number) > container.length) {
      throw new ConfigError(
        `environment variable ${variable}: ${formatPath(path.slice(0, i + 1))} is out of range ` +
          `(${formatPath(path.slice(0, i))} has ${entries(container.length)})`,
      );
    }
    decl = childDecl(decl, seg)!;
    if (i === path.length - 1) {
      container[seg] = value;
      return;
    }
    if (container[seg] === undefined) {
      container[seg] = decl.type === 'array' ? structuredClone(decl.default ?? []) : {};
    }
    const want = decl.type === 'array' ? 'list' : 'mapping';
    if (kindOf(container[seg]) !== want) {
      throw new ConfigError(
        `environment variable ${variable}: cannot set ${formatPath(path)}: ` +
          `${formatPath(path.slice(0, i + 1))} is not a ${want}`,
      );
    }
    container = container[seg] as Record<string | number, unknown>;
  }
}

function describeErrors(errors: ErrorObject[], raw: unknown, locate: Locate): string {
  const problems = new Map<string, string>(); // by option path: the first problem (type before others)
  for (const error of errors) {
    const { path, problem, anchor = path, at } = describeError(error, parsePointer(error.instancePath), raw);
    const where = locate(anchor, at);
    const shown = formatPath(path) || '(top level)';
    if (!problems.has(shown)) problems.set(shown, `${where}: ${shown}: ${problem}`);
  }
  // Each problem starts with its location: sorting orders them by line.
  return [...problems.values()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join('\n');
}

function describeError(
  error: ErrorObject,
  parent: Path,
  raw: unknown,
): { path: Path; problem: string; anchor?: Path; at?: 'key' } {
  const value = getIn(raw, parent);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const decl = declAt(parent);
      const problem = decl?.type === 'object' ? unknownKey(decl, key) : `unknown key "${key}"`;
      return { path: [...parent, key], at: 'key', problem };
    }
    case 'required': {
      const key = String(params.missingProperty);
      return { path: [...parent, key], problem: `missing required key "${key}"`, anchor: parent };
    }
    case 'type': {
      const expected = String(params.type).split(',').map(typeName).join(' or ');
      const hint = expected === 'boolean' && typeof value === 'string' ? ' (write true or false)' : '';
      return { path: parent, problem: `expected ${expected}, got ${describeValue(value)}${hint}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as string[]).map((v) => JSON.stringify(v));
      const close = typeof value === 'string' ? closeMatch(value, params.allowedValues as string[]) : undefined;
      const suggestion = close === undefined ? '' : ` (did you mean "${close}"?)`;
      return {
        path: parent,
        problem: `${show(value)} is not one of the allowed values ${allowed.join(', ')}${suggestion}`,
      };
    }
    case 'pattern': {
      const decl = declAt(parent);
      const hint = decl && 'patternHint' in decl ? decl.patternHint : `a string matching ${params.pattern}`;
      return { path: parent, problem: `${show(value)} is not ${hint}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
      return { path: parent, problem: `must be ${params.comparison} ${params.limit}, got ${show(value)}` };
    case 'minItems':
      return { path: parent, problem: `must have at least ${entries(Number(params.limit))}` };
    case 'minLength':
      return { path: parent, problem: 'must not be empty' };
    default:
      return { path: parent, problem: error.message ?? error.keyword };
  }
}

function unknownKey(decl: ObjectDecl, key: string): string {
  const sibling = closeMatch(key, Object.keys(decl.properties));
  const elsewhere = placesOf(key)[0];
  const suggestion =
    sibling !== undefined ? ` (did you mean "${sibling}"?)` : elsewhere ? ` (did you mean ${elsewhere}?)` : '';
  return `unknown key "${key}"${suggestion}`;
}

/** Where an option named `key` exists elsewhere, e.g. "port" -> ["c2s.port"]. */
function placesOf(key: string, decl: OptionDecl = options, prefix = ''): string[] {
  if (decl.type === 'array') return placesOf(key, decl.items, `${prefix}[]`);
  if (decl.type !== 'object') return [];
  return Object.entries(decl.properties).flatMap(([name, sub]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return [...(normalize(name) === normalize(key) ? [path] : []), ...placesOf(key, sub, path)];
  });
}

function closeMatch(word: string, candidates: readonly string[]): string | undefined {
  const w = normalize(word);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(w.length / 4)) + 1;
  for (const candidate of candidates) {
    const d = distance(w, normalize(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

const normalize = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');

/** Edit distance counting a transposition of adjacent letters as one edit. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function resolvePaths(decl: OptionDecl, value: unknown, baseDir: string, dataDir: string): void {
  if (decl.type === 'array') {
    for (const item of (value as unknown[] | undefined) ?? []) resolvePaths(decl.items, item, baseDir, dataDir);
  } else if (decl.type === 'object' && value !== undefined) {
    const obj = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(decl.properties)) {
      if (sub.type === 'object' || sub.type === 'array') resolvePaths(sub, obj[key], baseDir, dataDir);
      else if (sub.path && typeof obj[key] === 'string') obj[key] = resolve(baseDir, obj[key]);
      else if (sub.dataDirDefault !== undefined && obj[key] === undefined) obj[key] = join(dataDir, sub.dataDirDefault);
    }
  }
}

// Domains are case-insensitive: compare and store them lower-cased.
function checkHosts(config: Config, locate: Locate): void {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.hosts.forEach((host, i) => {
    host.domain = host.domain.toLowerCase();
    const first = seen.get(host.domain);
    if (first === undefined) seen.set(host.domain, i);
    else {
      const path: Path = ['hosts', i, 'domain'];
      problems.push(`${locate(path)}: ${formatPath(path)}: "${host.domain}" is already declared as hosts[${first}]`);
    }
    if (host.directory === 'ldap') {
      const path: Path = ['hosts', i, 'directory'];
      if (!config.ldap) problems.push(`${locate(path)}: ${formatPath(path)}: "ldap" needs the top-level ldap section (servers...)`);
      if (!host.ldap) problems.push(`${locate(path)}: ${formatPath(path)}: "ldap" needs hosts[${i}].ldap with at least base`);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

function declAt(path: Path): OptionDecl | undefined {
  let decl: OptionDecl | undefined = options;
  for (const seg of path) decl = decl && childDecl(decl, seg);
  return decl;
}

function childDecl(decl: OptionDecl, seg: string | number): OptionDecl | undefined {
  if (decl.type === 'array') return decl.items;
  if (decl.type === 'object') return decl.properties[seg];
  return undefined;
}

function getIn(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, seg) => (v as Record<string | number, unknown> | undefined)?.[seg], value);
}

function isPrefix(prefix: Path, path: Path): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);
}

function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    return typeof a[i] === 'number' && typeof b[i] === 'number'
      ? (a[i] as number) - (b[i] as number)
      : String(a[i]).localeCompare(String(b[i]));
  }
  return a.length - b.length;
}

/** `["hosts", 0, "domain"]` -> `hosts[0].domain` */
function formatPath(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

function parsePath(path: string): Path {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) => key ?? Number(index));
}

function parsePointer(pointer: string): Path {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replaceAll('~1', '/').replaceAll('~0', '~')));
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeName(jsonType: string): string {
  return jsonType === 'object' ? 'mapping' : jsonType === 'array' ? 'list' : jsonType;
}

function describeValue(value: unknown): string {
  const kind = kindOf(value);
  return kind === 'list' || kind === 'mapping' || kind === 'null' ? kind : `${kind} ${show(value)}`;
}

const entries = (n: number): string => `${n} ${n === 1 ? 'entry' : 'entries'}`;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
