// The directory port: who the users are and how they prove it, per host. Adapters: the
// embedded account store (internal.ts) and LDAP (ldap/ldap-directory.ts); HostDirectories
// (hosts.ts) picks one per host. The XMPP layer and the gateways ask only this.
import type { HashName, ScramCredential } from '../xmpp/sasl/mechanism.js';

/** The directory cannot answer now (LDAP down or slow): a temporary condition, never "no". */
export class DirectoryUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DirectoryUnavailable';
  }
}

/** The host's users are managed elsewhere (LDAP): no accounts or passwords are changed here. */
export class DirectoryReadOnly extends Error {
  constructor(host: string) {
    super(`the users of ${host} are managed in its LDAP directory`);
    this.name = 'DirectoryReadOnly';
  }
}

/** What the gateways need to know of a user (email notifications, SMS). */
export interface UserAttributes {
  mail?: string;
  mobile?: string;
  displayName?: string;
}

/** A vCard read from the directory (rendered as vcard-temp by the XMPP layer). */
export interface DirectoryVcard {
  fn?: string;
  nickname?: string;
  given?: string;
  family?: string;
  email: string[];
  tel: Array<{ number: string; cell: boolean }>;
  org?: string;
  orgunit?: string;
  title?: string;
  photo?: { type: string; data: Buffer };
}

/** A field of the user search form, or a column of its results. */
export interface SearchField {
  var: string;
  label: string;
}

export interface SearchForm {
  /** Fields the user may fill (each one filled must match). */
  fields: SearchField[];
  /** Columns of the results, besides the JID. */
  reported: SearchField[];
}

export interface SearchHit {
  username: string;
  /** Values by reported field `var`. */
  values: Record<string, string>;
}

export interface Directory {
  /** True when SCRAM secrets exist for the host's users (so SCRAM mechanisms can be offered). */
  supportsScram(host: string): boolean;
  /** True when passwords can be changed through the hub (XEP-0077, CLI). */
  canSetPassword(host: string): boolean;
  /** True when accounts are created and deleted through the hub (XEP-0077, CLI). */
  managesAccounts(host: string): boolean;
  /** True when vCards come from the directory (read-only) rather than from the users. */
  providesVcards(host: string): boolean;

  /** May throw DirectoryUnavailable (as may every lookup below). */
  userExists(host: string, username: string): Promise<boolean>;
  getScram(host: string, username: string, hash: HashName): Promise<ScramCredential | null>;
  /** False for wrong or empty passwords and unknown or disabled users. */
  verifyPassword(host: string, username: string, password: string): Promise<boolean>;
  /** Creates a user; false when the user exists already. DirectoryReadOnly where accounts are not managed here. */
  createUser(host: string, username: string, password: string): Promise<boolean>;
  /** False when there is no such user. DirectoryReadOnly where passwords are not managed here. */
  setPassword(host: string, username: string, password: string): Promise<boolean>;
  /** False when there is no such user. DirectoryReadOnly where accounts are not managed here. */
  deleteUser(host: string, username: string): Promise<boolean>;
  listUsers(host: string): Promise<string[]>;

  /** Mail, mobile, name of a user for the gateways; null when there is no such user. */
  userAttributes(host: string, username: string): Promise<UserAttributes | null>;
  /** The user's vCard from the directory; null when the directory keeps none (use the stored one). */
  vcard(host: string, username: string): Promise<DirectoryVcard | null>;
  /** The search form of a host (XEP-0055). */
  searchForm(host: string): SearchForm;
  /** Users whose fields match every non-empty criterion (by field `var`), at most `limit`. */
  search(host: string, criteria: Record<string, string>, limit: number): Promise<SearchHit[]>;
}
