// Storage ports. Every adapter (embedded SQLite; PostgreSQL for clusters) implements these,
// and one contract suite (test/store-contract.test.ts) runs against each.

/** SCRAM secrets as stored: base64 fields, one entry per hash ('sha1', 'sha256'). */
export interface StoredScram {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export interface AccountRecord {
  username: string;
  scram: Record<string, StoredScram>;
  createdAt: number;
}

export interface AccountStore {
  get(host: string, username: string): Promise<AccountRecord | null>;
  /** Creates the account; false when it exists already. */
  create(host: string, username: string, scram: Record<string, StoredScram>): Promise<boolean>;
  setCredentials(host: string, username: string, scram: Record<string, StoredScram>): Promise<boolean>;
  /** Deletes the account and every piece of data stored for it. */
  delete(host: string, username: string): Promise<boolean>;
  list(host: string): Promise<string[]>;
  count(host: string): Promise<number>;
}

export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface RosterItem {
  /** Bare JID of the contact. */
  jid: string;
  name?: string;
  subscription: Subscription;
  /** Our subscription request to the contact is pending ("pending out"). */
  ask?: boolean;
  /** We pre-approved the contact's future subscription request (RFC 6121 §3.4). */
  approved?: boolean;
  groups: string[];
}

export interface Roster {
  version: number;
  items: RosterItem[];
}

export interface RosterStore {
  get(host: string, username: string): Promise<Roster>;
  /** Inserts or replaces the item; returns the new roster version. */
  put(host: string, username: string, item: RosterItem): Promise<number>;
  /** Removes the item; returns the new roster version (unchanged when absent). */
  remove(host: string, username: string, jid: string): Promise<number>;
}

/** Small per-user documents (vCard, private XML, block list, settings...), by store name. */
export interface KeyValueStore {
  get<T>(host: string, username: string, store: string, key?: string): Promise<T | undefined>;
  /** `undefined` deletes. */
  set(host: string, username: string, store: string, value: unknown, key?: string): Promise<void>;
  /** Every key of a store for one user. */
  entries<T>(host: string, username: string, store: string): Promise<Array<[string, T]>>;
}

export interface OfflineMessage {
  id: number;
  stanza: string;
  stamp: number;
}

export interface OfflineStore {
  /** Appends a message; false when the user's quota is full (the message is not stored). */
  push(host: string, username: string, stanza: string, stamp: number, quota: number): Promise<boolean>;
  /** Stored messages, oldest first. */
  list(host: string, username: string): Promise<OfflineMessage[]>;
  count(host: string, username: string): Promise<number>;
  remove(host: string, username: string, ids: number[]): Promise<void>;
}

export interface Store {
  readonly accounts: AccountStore;
  readonly rosters: RosterStore;
  readonly kv: KeyValueStore;
  readonly offline: OfflineStore;
  close(): Promise<void>;
}
