// The embedded store: one SQLite file (better-sqlite3, WAL mode). Calls are synchronous
// underneath; the hot path (routing to online users) never reaches the store.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  AccountRecord, AccountStore, KeyValueStore, OfflineMessage, OfflineStore, Roster, RosterItem, RosterStore,
  Store, StoredScram,
} from './ports.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  host TEXT NOT NULL, username TEXT NOT NULL, scram TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (host, username));
CREATE TABLE IF NOT EXISTS roster_versions (
  host TEXT NOT NULL, username TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (host, username));
CREATE TABLE IF NOT EXISTS roster_items (
  host TEXT NOT NULL, username TEXT NOT NULL, jid TEXT NOT NULL, item TEXT NOT NULL,
  PRIMARY KEY (host, username, jid));
CREATE TABLE IF NOT EXISTS kv (
  host TEXT NOT NULL, username TEXT NOT NULL, store TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (host, username, store, key));
CREATE TABLE IF NOT EXISTS offline (
  id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, username TEXT NOT NULL,
  stanza TEXT NOT NULL, stamp INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS offline_user ON offline (host, username, id);
`;

type Db = Database.Database;

class SqliteAccounts implements AccountStore {
  private readonly getStmt;
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly listStmt;
  private readonly countStmt;
  private readonly deleteAll;

  constructor(db: Db) {
    this.getStmt = db.prepare<[string, string], { username: string; scram: string; created_at: number }>(
      'SELECT username, scram, created_at FROM accounts WHERE host = ? AND username = ?');
    this.insertStmt = db.prepare('INSERT OR IGNORE INTO accounts (host, username, scram, created_at) VALUES (?, ?, ?, ?)');
    this.updateStmt = db.prepare('UPDATE accounts SET scram = ? WHERE host = ? AND username = ?');
    this.listStmt = db.prepare<[string], { username: string }>('SELECT username FROM accounts WHERE host = ? ORDER BY username');
    this.countStmt = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM accounts WHERE host = ?');
    const tables = ['accounts', 'roster_versions', 'roster_items', 'kv', 'offline'];
    const deletes = tables.map((t) => db.prepare(`DELETE FROM ${t} WHERE host = ? AND username = ?`));
    this.deleteAll = db.transaction((host: string, username: string) => {
      const [account, ...userData] = deletes;
      const existed = account!.run(host, username).changes > 0;
      for (const stmt of userData) stmt.run(host, username);
      return existed;
    });
  }

  async get(host: string, username: string): Promise<AccountRecord | null> {
    const row = this.getStmt.get(host, username);
    if (!row) return null;
    return { username: row.username, scram: JSON.parse(row.scram) as Record<string, StoredScram>, createdAt: row.created_at };
  }

  async create(host: string, username: string, scram: Record<string, StoredScram>): Promise<boolean> {
    return this.insertStmt.run(host, username, JSON.stringify(scram), Date.now()).changes > 0;
  }

  async setCredentials(host: string, username: string, scram: Record<string, StoredScram>): Promise<boolean> {
    return this.updateStmt.run(JSON.stringify(scram), host, username).changes > 0;
  }

  async delete(host: string, username: string): Promise<boolean> {
    return this.deleteAll(host, username);
  }

  async list(host: string): Promise<string[]> {
    return this.listStmt.all(host).map((r) => r.username);
  }

  async count(host: string): Promise<number> {
    return this.countStmt.get(host)?.n ?? 0;
  }
}

class SqliteRosters implements RosterStore {
  private readonly versionStmt;
  private readonly itemsStmt;
  private readonly bumpStmt;
  private readonly putStmt;
  private readonly removeStmt;
  private readonly putTx;
  private readonly removeTx;

  constructor(db: Db) {
    this.versionStmt = db.prepare<[string, string], { version: number }>(
      'SELECT version FROM roster_versions WHERE host = ? AND username = ?');
    this.itemsStmt = db.prepare<[string, string], { item: string }>(
      'SELECT item FROM roster_items WHERE host = ? AND username = ? ORDER BY jid');
    this.bumpStmt = db.prepare<[string, string], { version: number }>(
      `INSERT INTO roster_versions (host, username, version) VALUES (?, ?, 1)
       ON CONFLICT (host, username) DO UPDATE SET version = version + 1 RETURNING version`);
    this.putStmt = db.prepare('INSERT OR REPLACE INTO roster_items (host, username, jid, item) VALUES (?, ?, ?, ?)');
    this.removeStmt = db.prepare('DELETE FROM roster_items WHERE host = ? AND username = ? AND jid = ?');
    this.putTx = db.transaction((host: string, username: string, item: RosterItem) => {
      this.putStmt.run(host, username, item.jid, JSON.stringify(item));
      return this.bumpStmt.get(host, username)!.version;
    });
    this.removeTx = db.transaction((host: string, username: string, jid: string) => {
      if (this.removeStmt.run(host, username, jid).changes === 0) return this.currentVersion(host, username);
      return this.bumpStmt.get(host, username)!.version;
    });
  }

  private currentVersion(host: string, username: string): number {
    return this.versionStmt.get(host, username)?.version ?? 0;
  }

  async get(host: string, username: string): Promise<Roster> {
    const items = this.itemsStmt.all(host, username).map((r) => JSON.parse(r.item) as RosterItem);
    return { version: this.currentVersion(host, username), items };
  }

  async put(host: string, username: string, item: RosterItem): Promise<number> {
    return this.putTx(host, username, item);
  }

  async remove(host: string, username: string, jid: string): Promise<number> {
    return this.removeTx(host, username, jid);
  }
}

class SqliteKeyValue implements KeyValueStore {
  private readonly getStmt;
  private readonly setStmt;
  private readonly deleteStmt;
  private readonly entriesStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare<[string, string, string, string], { value: string }>(
      'SELECT value FROM kv WHERE host = ? AND username = ? AND store = ? AND key = ?');
    this.setStmt = db.prepare('INSERT OR REPLACE INTO kv (host, username, store, key, value) VALUES (?, ?, ?, ?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM kv WHERE host = ? AND username = ? AND store = ? AND key = ?');
    this.entriesStmt = db.prepare<[string, string, string], { key: string; value: string }>(
      'SELECT key, value FROM kv WHERE host = ? AND username = ? AND store = ? ORDER BY key');
  }

  async get<T>(host: string, username: string, store: string, key = ''): Promise<T | undefined> {
    const row = this.getStmt.get(host, username, store, key);
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async set(host: string, username: string, store: string, value: unknown, key = ''): Promise<void> {
    if (value === undefined) this.deleteStmt.run(host, username, store, key);
    else this.setStmt.run(host, username, store, key, JSON.stringify(value));
  }

  async entries<T>(host: string, username: string, store: string): Promise<Array<[string, T]>> {
    return this.entriesStmt.all(host, username, store).map((r) => [r.key, JSON.parse(r.value) as T]);
  }
}

class SqliteOffline implements OfflineStore {
  private readonly countStmt;
  private readonly insertStmt;
  private readonly listStmt;
  private readonly deleteStmt;
  private readonly pushTx;
  private readonly removeTx;

  constructor(db: Db) {
    this.countStmt = db.prepare<[string, string], { n: number }>(
      'SELECT count(*) AS n FROM offline WHERE host = ? AND username = ?');
    this.insertStmt = db.prepare('INSERT INTO offline (host, username, stanza, stamp) VALUES (?, ?, ?, ?)');
    this.listStmt = db.prepare<[string, string], OfflineMessage>(
      'SELECT id, stanza, stamp FROM offline WHERE host = ? AND username = ? ORDER BY id');
    this.deleteStmt = db.prepare('DELETE FROM offline WHERE host = ? AND username = ? AND id = ?');
    this.pushTx = db.transaction((host: string, username: string, stanza: string, stamp: number, quota: number) => {
      if (this.countStmt.get(host, username)!.n >= quota) return false;
      this.insertStmt.run(host, username, stanza, stamp);
      return true;
    });
    this.removeTx = db.transaction((host: string, username: string, ids: number[]) => {
      for (const id of ids) this.deleteStmt.run(host, username, id);
    });
  }

  async push(host: string, username: string, stanza: string, stamp: number, quota: number): Promise<boolean> {
    return this.pushTx(host, username, stanza, stamp, quota);
  }

  async list(host: string, username: string): Promise<OfflineMessage[]> {
    return this.listStmt.all(host, username);
  }

  async count(host: string, username: string): Promise<number> {
    return this.countStmt.get(host, username)!.n;
  }

  async remove(host: string, username: string, ids: number[]): Promise<void> {
    this.removeTx(host, username, ids);
  }
}

export class SqliteStore implements Store {
  readonly accounts: AccountStore;
  readonly rosters: RosterStore;
  readonly kv: KeyValueStore;
  readonly offline: OfflineStore;
  private readonly db: Db;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.accounts = new SqliteAccounts(this.db);
    this.rosters = new SqliteRosters(this.db);
    this.kv = new SqliteKeyValue(this.db);
    this.offline = new SqliteOffline(this.db);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
