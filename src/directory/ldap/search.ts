// User directory search (XEP-0055) over LDAP: the host's configured fields become substring
// terms ANDed with the user filter and the enabled filter, under the host's base only.
import type { Entry } from 'ldapts';
import type { HostLdapConfig } from '../../config/schema.js';
import type { SearchForm, SearchHit } from '../port.js';
import { firstText } from './entry.js';
import { and, anyUserFilter, contains } from './filter.js';

export function searchFormOf(config: HostLdapConfig): SearchForm {
  const strip = ({ var: name, label }: { var: string; label: string }) => ({ var: name, label });
  return { fields: config.search.fields.map(strip), reported: config.search.reported.map(strip) };
}

/** The filter for the filled criteria of known fields; undefined when none is filled. */
export function searchFilter(config: HostLdapConfig, criteria: Record<string, string>): string | undefined {
  const terms = config.search.fields
    .filter((field) => (criteria[field.var] ?? '').trim() !== '')
    .map((field) => contains(field.attribute, criteria[field.var]!.trim()));
  if (terms.length === 0) return undefined;
  return and(anyUserFilter(config.filter), config.enabled_filter, ...terms);
}

export function searchAttributes(config: HostLdapConfig): string[] {
  return [...new Set([config.uid_attribute, ...config.search.reported.map((field) => field.attribute)])];
}

/** A result row; undefined for an entry without a username. */
export function hitOf(entry: Entry, config: HostLdapConfig): SearchHit | undefined {
  const username = firstText(entry, [config.uid_attribute]);
  if (username === undefined) return undefined;
  const values: Record<string, string> = {};
  for (const field of config.search.reported) values[field.var] = firstText(entry, [field.attribute]) ?? '';
  return { username, values };
}
