// LDAP search filters (RFC 4515) built from configured templates and untrusted input.

/**
 * Escapes a value for use inside a filter (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become
 * `\2a`, `\28`, `\29`, `\5c`, `\00`, so a username can never add wildcards or filter terms.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The template (e.g. `(uid=%u)`) with every `%u` replaced by the escaped username. */
export function userFilter(template: string, username: string): string {
  return template.replaceAll('%u', escapeFilterValue(username));
}

/** The template matching every user: `%u` becomes a presence wildcard (`(uid=*)`). */
export function anyUserFilter(template: string): string {
  return template.replaceAll('%u', '*');
}

/** AND of the filters given (undefined ones left out); a single filter stays as it is. */
export function and(...filters: Array<string | undefined>): string {
  const present = filters.filter((f): f is string => f !== undefined && f !== '');
  return present.length === 1 ? present[0]! : `(&${present.join('')})`;
}

/** `(attribute=*value*)`: the attribute contains the value (escaped). */
export function contains(attribute: string, value: string): string {
  return `(${attribute}=*${escapeFilterValue(value)}*)`;
}
