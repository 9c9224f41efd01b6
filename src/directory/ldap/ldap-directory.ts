// The directory of one host whose users are entries in LDAP. A user is an entry under the
// host's base matching its filter (username escaped) and its enabled filter. Lookups for
// routing are cached; logins always ask the directory: search the entry as the service
// account, then bind as that entry with the password on a separate connection (auth "bind"),
// or compare with the hashes read from the entry (auth "hash").
import { ResultCodeError, type Entry } from 'ldapts';
import type { HostLdapConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { HashName, ScramCredential } from '../../xmpp/sasl/mechanism.js';
import {
  DirectoryReadOnly,
  type Directory,
  type DirectoryVcard,
  type SearchForm,
  type SearchHit,
  type UserAttributes,
} from '../port.js';
import type { LdapPool } from './connection-pool.js';
import { firstText, texts } from './entry.js';
import { and, anyUserFilter, userFilter } from './filter.js';
import { LookupCache } from './lookup-cache.js';
import { matchesStoredPassword, scramSecret } from './password-hash.js';
import { hitOf, searchAttributes, searchFilter, searchFormOf } from './search.js';
import { vcardAttributes, vcardOf } from './vcard.js';

export interface LdapPools {
  /** Bound as the service account: searches. */
  search: LdapPool;
  /** Anonymous until used: binds as users to check their passwords. */
  login: LdapPool;
}

export interface LdapCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
}

/** vCards (with photos) are bigger than lookups: fewer are kept. */
const MAX_CACHED_VCARDS = 2000;
const PAGE_SIZE = 500;

export class LdapDirectory implements Directory {
  private readonly users: LookupCache<Entry>;
  private readonly vcards: LookupCache<DirectoryVcard>;
  private readonly userAttributeNames: string[];
  private readonly form: SearchForm;

  constructor(
    readonly host: string,
    readonly config: HostLdapConfig,
    private readonly pools: LdapPools,
    cache: LdapCacheOptions,
    private readonly log: Logger,
  ) {
    this.users = new LookupCache(cache.ttlMs, cache.negativeTtlMs);
    this.vcards = new LookupCache(cache.ttlMs, cache.negativeTtlMs, MAX_CACHED_VCARDS);
    const { attributes } = config;
    this.userAttributeNames = [...new Set([config.uid_attribute, ...attributes.mail, ...attributes.mobile, ...attributes.display_name])];
    this.form = searchFormOf(config);
  }

  supportsScram(): boolean {
    return this.config.auth === 'hash' && this.config.scram;
  }

  canSetPassword(): boolean {
    return false;
  }

  managesAccounts(): boolean {
    return false;
  }

  providesVcards(): boolean {
    return true;
  }

  async userExists(_host: string, username: string): Promise<boolean> {
    return (await this.lookup(username)) !== null;
  }

  async verifyPassword(_host: string, username: string, password: string): Promise<boolean> {
    // An empty password would make the bind anonymous (RFC 4513 §5.1.2): never a login.
    if (password === '' || username === '') return false;
    const entry = await this.find(username, this.config.auth === 'hash' ? this.config.password_attributes : []);
    if (!entry) return false;
    if (this.config.auth === 'hash') {
      return matchesStoredPassword(this.config.password_attributes.flatMap((a) => texts(entry, a)), password);
    }
    try {
      await this.pools.login.use((client) => client.bind(entry.dn, password));
      return true;
    } catch (err) {
      if (err instanceof ResultCodeError) return false; // invalid credentials, or refused (locked, expired...)
      throw err;
    }
  }

  async getScram(_host: string, username: string, hash: HashName): Promise<ScramCredential | null> {
    if (!this.supportsScram() || username === '') return null;
    const entry = await this.find(username, this.config.password_attributes);
    return entry && scramSecret(this.config.password_attributes.flatMap((a) => texts(entry, a)), hash);
  }

  createUser(host: string): Promise<boolean> {
    return Promise.reject(new DirectoryReadOnly(host));
  }

  setPassword(host: string): Promise<boolean> {
    return Promise.reject(new DirectoryReadOnly(host));
  }

  deleteUser(host: string): Promise<boolean> {
    return Promise.reject(new DirectoryReadOnly(host));
  }

  /** Every enabled user under the base (paged search). */
  async listUsers(): Promise<string[]> {
    const { uid_attribute: uid } = this.config;
    const entries = await this.searchEntries(and(anyUserFilter(this.config.filter), this.config.enabled_filter), [uid], 0);
    return entries.map((entry) => firstText(entry, [uid])).filter((name): name is string => name !== undefined);
  }

  async userAttributes(_host: string, username: string): Promise<UserAttributes | null> {
    const entry = await this.lookup(username);
    if (!entry) return null;
    const { mail, mobile, display_name: displayName } = this.config.attributes;
    const attributes: UserAttributes = {};
    const set = (key: keyof UserAttributes, names: string[]) => {
      const value = firstText(entry, names);
      if (value !== undefined) attributes[key] = value;
    };
    set('mail', mail);
    set('mobile', mobile);
    set('displayName', displayName);
    return attributes;
  }

  vcard(_host: string, username: string): Promise<DirectoryVcard | null> {
    if (username === '') return Promise.resolve(null);
    return this.vcards.get(username, async () => {
      const map = this.config.vcard;
      const entry = await this.searchOne(username, vcardAttributes(map), map.photo);
      return entry && vcardOf(entry, map);
    });
  }

  searchForm(): SearchForm {
    return this.form;
  }

  async search(_host: string, criteria: Record<string, string>, limit: number): Promise<SearchHit[]> {
    const filter = searchFilter(this.config, criteria);
    if (filter === undefined) return [];
    const entries = await this.searchEntries(filter, searchAttributes(this.config), limit);
    return entries.map((entry) => hitOf(entry, this.config)).filter((hit): hit is SearchHit => hit !== undefined);
  }

  /**
   * Looks the user up again, ignoring the cache (and refreshing it): true when the entry
   * still exists and is enabled. Throws DirectoryUnavailable when it cannot tell.
   */
  async stillValid(username: string): Promise<boolean> {
    const entry = await this.users.fresh(username, () => this.searchOne(username, this.userAttributeNames));
    if (!entry) this.vcards.delete(username);
    return entry !== null;
  }

  /** For `switchboard check`: whether the base exists and some user is found under it. Throws when it does not. */
  async probe(): Promise<{ usersFound: boolean }> {
    await this.pools.search.use((client) => client.search(this.config.base, { scope: 'base', attributes: ['1.1'] }));
    const users = await this.searchEntries(and(anyUserFilter(this.config.filter), this.config.enabled_filter), ['1.1'], 1);
    return { usersFound: users.length > 0 };
  }

  /** The user's entry with the routing attributes, cached. */
  private lookup(username: string): Promise<Entry | null> {
    if (username === '') return Promise.resolve(null);
    return this.users.get(username, () => this.searchOne(username, this.userAttributeNames));
  }

  /** The user's entry read now (logins), with extra attributes; the cache learns the result. */
  private async find(username: string, extra: string[]): Promise<Entry | null> {
    const entry = await this.searchOne(username, [...this.userAttributeNames, ...extra]);
    this.users.set(username, entry && withoutAttributes(entry, extra));
    return entry;
  }

  /** The one enabled entry of the user; none (and a warning) when the filter matches several. */
  private async searchOne(username: string, attributes: string[], binary: string[] = []): Promise<Entry | null> {
    const filter = and(userFilter(this.config.filter, username), this.config.enabled_filter);
    const entries = await this.searchEntries(filter, attributes, 2, binary);
    if (entries.length > 1) {
      this.log.warn({ host: this.host, user: username, dns: entries.map((e) => e.dn) }, 'several LDAP entries match one user: none is used');
      return null;
    }
    return entries[0] ?? null;
  }

  /** Entries under the host's base; `limit` 0 reads them all, page by page. */
  private searchEntries(filter: string, attributes: string[], limit: number, binary: string[] = []): Promise<Entry[]> {
    const { base, scope } = this.config;
    return this.pools.search.use(async (client) => {
      const { searchEntries } = await client.search(base, {
        scope,
        filter,
        attributes,
        explicitBufferAttributes: binary,
        sizeLimit: limit,
        ...(limit === 0 ? { paged: { pageSize: PAGE_SIZE } } : {}),
      });
      return searchEntries;
    });
  }
}

/** A copy of the entry without some attributes (password hashes are never cached). */
function withoutAttributes(entry: Entry, names: string[]): Entry {
  if (names.length === 0) return entry;
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !drop.has(key.toLowerCase()))) as Entry;
}
