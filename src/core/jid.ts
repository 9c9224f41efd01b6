// XMPP addresses (RFC 7622).
import { PrecisError, prepareDomain, prepareOpaqueString, prepareUsername } from './precis.js';

export class JidError extends Error {
  readonly condition = 'jid-malformed' as const;
  override name = 'JidError';
}

const MAX_PART_OCTETS = 1023;
// Far above the longest possible valid input (NFC composition can shrink it a little), so
// oversized garbage is rejected before any Unicode work.
const MAX_INPUT_LENGTH = 8 * 1024;
const CACHE_SIZE = 10_000;
// Only typical-length inputs are memoized, bounding the cache's memory use.
const CACHE_MAX_INPUT = 256;
// RFC 7622 §3.3.1: allowed by IdentifierClass but not in localparts.
const LOCAL_EXCLUDED = /["&'/:<>@]/;

const cache = new Map<string, Jid>();

function tooLong(s: string): boolean {
  // A UTF-16 code unit never takes more than 3 UTF-8 octets, so short strings need no count.
  return s.length > MAX_PART_OCTETS / 3 && Buffer.byteLength(s, 'utf8') > MAX_PART_OCTETS;
}

function prepare(part: string, raw: string, fn: (s: string) => string): string {
  let out: string;
  try {
    out = fn(raw);
  } catch (err) {
    if (err instanceof PrecisError) throw new JidError(`invalid ${part}: ${err.message}`, { cause: err });
    throw err;
  }
  if (tooLong(out)) throw new JidError(`${part} longer than ${MAX_PART_OCTETS} octets`);
  return out;
}

function prepareLocal(raw: string): string {
  const local = prepare('localpart', raw, prepareUsername);
  if (LOCAL_EXCLUDED.test(local)) throw new JidError(`invalid localpart: contains one of " & ' / : < > @`);
  return local;
}

const prepareResource = (raw: string) => prepare('resourcepart', raw, prepareOpaqueString);

/** An immutable, prepared XMPP address. */
export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  #string?: string;
  #bareString?: string;
  #bare?: Jid;

  private constructor(local: string, domain: string, resource: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
  }

  /** Builds a JID from parts that are already prepared; performs no validation. */
  static of(local: string, domain: string, resource = ''): Jid {
    return new Jid(local, domain, resource);
  }

  /** Parses and prepares a JID string (RFC 7622 §3); throws JidError. Results are memoized. */
  static parse(s: string): Jid {
    let jid = cache.get(s);
    if (jid) return jid;
    jid = parseUncached(s);
    if (s.length <= CACHE_MAX_INPUT) {
      if (cache.size >= CACHE_SIZE) cache.clear();
      cache.set(s, jid);
    }
    return jid;
  }

  get bare(): Jid {
    if (!this.resource) return this;
    return (this.#bare ??= new Jid(this.local, this.domain, ''));
  }

  get isBare(): boolean {
    return !this.resource;
  }

  get bareString(): string {
    return (this.#bareString ??= this.local ? `${this.local}@${this.domain}` : this.domain);
  }

  toString(): string {
    return (this.#string ??= this.resource ? `${this.bareString}/${this.resource}` : this.bareString);
  }

  equals(other: Jid): boolean {
    return (
      this === other ||
      (this.local === other.local && this.domain === other.domain && this.resource === other.resource)
    );
  }

  /** Same bare JID with a new resource, prepared with OpaqueString; '' yields the bare JID. */
  withResource(r: string): Jid {
    if (!r) return this.bare;
    const resource = prepareResource(r);
    return resource === this.resource ? this : new Jid(this.local, this.domain, resource);
  }
}

function parseUncached(s: string): Jid {
  if (s.length > MAX_INPUT_LENGTH) throw new JidError('JID too long');
  // RFC 7622 §3.1: the first '/' starts the resourcepart, then the first '@' before it
  // ends the localpart.
  const slash = s.indexOf('/');
  const bare = slash < 0 ? s : s.slice(0, slash);
  const at = bare.indexOf('@');
  const rawDomain = at < 0 ? bare : bare.slice(at + 1);
  if (at === 0) throw new JidError('empty localpart');
  if (!rawDomain) throw new JidError('empty domainpart');
  if (slash === s.length - 1) throw new JidError('empty resourcepart');
  const local = at < 0 ? '' : prepareLocal(bare.slice(0, at));
  const domain = prepare('domainpart', rawDomain, prepareDomain);
  const resource = slash < 0 ? '' : prepareResource(s.slice(slash + 1));
  return Jid.of(local, domain, resource);
}
