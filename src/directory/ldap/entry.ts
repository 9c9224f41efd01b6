// Reading attributes of a search entry: names are case-insensitive in LDAP, a value may be
// one string, several, or binary.
import type { Entry } from 'ldapts';

/** Every value of an attribute, as text. */
export function texts(entry: Entry, attribute: string): string[] {
  return raw(entry, attribute).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)).filter((v) => v !== '');
}

/** Every value of an attribute, as bytes. */
export function binaries(entry: Entry, attribute: string): Buffer[] {
  return raw(entry, attribute).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'))).filter((v) => v.length > 0);
}

/** The first value of the first attribute in the list that has one. */
export function firstText(entry: Entry, attributes: readonly string[]): string | undefined {
  for (const attribute of attributes) {
    const [value] = texts(entry, attribute);
    if (value !== undefined) return value;
  }
  return undefined;
}

function raw(entry: Entry, attribute: string): Array<string | Buffer> {
  const wanted = attribute.toLowerCase();
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn' || name.toLowerCase() !== wanted) continue;
    return Array.isArray(value) ? value : [value];
  }
  return [];
}
