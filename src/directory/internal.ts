// The embedded directory: accounts in the hub's own store, passwords kept only as SCRAM
// salted keys for SHA-1 and SHA-256 (so every SCRAM variant and PLAIN work).
import { randomBytes } from 'node:crypto';
import type { AccountStore, StoredScram } from '../store/ports.js';
import type { HashName, ScramCredential } from '../xmpp/sasl/mechanism.js';
import type { Directory, DirectoryVcard, SearchForm, SearchHit, UserAttributes } from './port.js';
import { deriveScram, verifyPasswordAgainst } from './scram.js';

const HASHES: HashName[] = ['sha1', 'sha256'];
const SEARCH_FORM: SearchForm = { fields: [{ var: 'user', label: 'Username' }], reported: [] };

function encode(c: ScramCredential): StoredScram {
  return {
    salt: c.salt.toString('base64'),
    iterations: c.iterations,
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
  };
}

function decode(s: StoredScram): ScramCredential {
  return {
    salt: Buffer.from(s.salt, 'base64'),
    iterations: s.iterations,
    storedKey: Buffer.from(s.storedKey, 'base64'),
    serverKey: Buffer.from(s.serverKey, 'base64'),
  };
}

export class InternalDirectory implements Directory {
  constructor(private readonly accounts: AccountStore, private readonly iterations: number) {}

  supportsScram(): boolean {
    return true;
  }

  canSetPassword(): boolean {
    return true;
  }

  managesAccounts(): boolean {
    return true;
  }

  providesVcards(): boolean {
    return false;
  }

  private async secrets(password: string): Promise<Record<string, StoredScram>> {
    const entries = await Promise.all(
      HASHES.map(async (hash) => [hash, encode(await deriveScram(password, hash, this.iterations))] as const));
    return Object.fromEntries(entries);
  }

  async userExists(host: string, username: string): Promise<boolean> {
    return (await this.accounts.get(host, username)) !== null;
  }

  async getScram(host: string, username: string, hash: HashName): Promise<ScramCredential | null> {
    const stored = (await this.accounts.get(host, username))?.scram[hash];
    return stored ? decode(stored) : null;
  }

  async verifyPassword(host: string, username: string, password: string): Promise<boolean> {
    const cred = await this.getScram(host, username, 'sha256');
    if (cred) return verifyPasswordAgainst(cred, 'sha256', password);
    // Same work for unknown users, so response time does not reveal who exists.
    await verifyPasswordAgainst(await this.decoy(), 'sha256', password);
    return false;
  }

  private decoyCredential: Promise<ScramCredential> | undefined;
  private decoy(): Promise<ScramCredential> {
    return (this.decoyCredential ??= deriveScram(randomBytes(16).toString('hex'), 'sha256', this.iterations));
  }

  async createUser(host: string, username: string, password: string): Promise<boolean> {
    if (await this.userExists(host, username)) return false;
    return this.accounts.create(host, username, await this.secrets(password));
  }

  async setPassword(host: string, username: string, password: string): Promise<boolean> {
    return this.accounts.setCredentials(host, username, await this.secrets(password));
  }

  deleteUser(host: string, username: string): Promise<boolean> {
    return this.accounts.delete(host, username);
  }

  listUsers(host: string): Promise<string[]> {
    return this.accounts.list(host);
  }

  /** Accounts hold no attributes: the gateways get an empty set for a user who exists. */
  async userAttributes(host: string, username: string): Promise<UserAttributes | null> {
    return (await this.userExists(host, username)) ? {} : null;
  }

  /** Users keep their own vCards in the store. */
  async vcard(): Promise<DirectoryVcard | null> {
    return null;
  }

  searchForm(): SearchForm {
    return SEARCH_FORM;
  }

  /** Usernames containing the `user` criterion (case-insensitive). */
  async search(host: string, criteria: Record<string, string>, limit: number): Promise<SearchHit[]> {
    const wanted = (criteria.user ?? '').toLowerCase();
    if (wanted === '') return [];
    const users = await this.accounts.list(host);
    return users.filter((user) => user.toLowerCase().includes(wanted)).slice(0, limit).map((username) => ({ username, values: {} }));
  }
}
