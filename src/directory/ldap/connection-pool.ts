// A small pool of LDAP connections (ldapts clients) to the first configured server that
// answers, each upgraded with StartTLS (or ldaps) and bound as the service account when the
// pool has one. A connection is leased to one operation at a time. When no server answers, the
// pool stays down for a backoff delay (doubling up to a maximum) and fails at once meanwhile,
// so an outage costs callers nothing and the directory is not hammered; the first success
// after it resets the delay.
import net from 'node:net';
import tls from 'node:tls';
import { BusyError, Client, ResultCodeError, TimeLimitExceededError, UnavailableError } from 'ldapts';
import type { Logger } from '../../core/log.js';
import { DirectoryUnavailable } from '../port.js';

export interface LdapServerOptions {
  /** `ldap://` or `ldaps://` URLs, tried in order. */
  urls: string[];
  /** Upgrade `ldap://` connections with StartTLS. */
  startTls: boolean;
  /** CA certificates (PEM) and verification for ldaps and StartTLS. */
  ca?: string;
  verify: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
}

export interface LdapPoolOptions extends LdapServerOptions {
  /** For logs: what the pool's connections are for. */
  name: string;
  size: number;
  /** Bound after connecting; absent, connections stay anonymous (e.g. for user binds). */
  bind?: { dn: string; password: string };
  backoff: { minMs: number; maxMs: number };
}

interface Connection {
  client: Client;
  url: string;
}

interface Waiter {
  wake(): void;
}

export class LdapPool {
  private readonly idle: Connection[] = [];
  private readonly waiters: Waiter[] = [];
  /** Connections open or being opened, leased or idle. */
  private count = 0;
  private downUntil = 0;
  private delayMs: number;
  private down = false;
  private closed = false;

  constructor(private readonly options: LdapPoolOptions, private readonly log: Logger) {
    this.delayMs = options.backoff.minMs;
  }

  /**
   * Runs `operation` on a leased connection. LDAP result codes (no such object, invalid
   * credentials...) reach the caller as ldapts errors; an unreachable, failing or slow server
   * becomes DirectoryUnavailable. A reused connection found broken is replaced once.
   */
  async use<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { connection, reused } = await this.acquire();
      try {
        const result = await operation(connection.client);
        this.release(connection);
        return result;
      } catch (err) {
        if (isAnswer(err)) {
          this.release(connection);
          throw err;
        }
        this.discard(connection);
        if (reused && attempt === 0) continue;
        throw unavailable(`LDAP server ${connection.url} failed`, err);
      }
    }
  }

  /** Opens a connection now (bypassing the backoff), and says to which server; for `switchboard check`. */
  async probe(): Promise<string> {
    const connection = await this.openFirst();
    void connection.client.unbind().catch(() => {});
    return connection.url;
  }

  /** Closes every idle connection and refuses further work; leased ones close when released. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.wake();
    await Promise.all(this.idle.splice(0).map((c) => c.client.unbind().catch(() => {})));
  }

  private async acquire(): Promise<{ connection: Connection; reused: boolean }> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      if (this.closed) throw new DirectoryUnavailable('the LDAP pool is closed');
      const idle = this.idle.pop();
      if (idle) {
        if (idle.client.isConnected) return { connection: idle, reused: true };
        this.discard(idle);
        continue;
      }
      if (this.count < this.options.size) return { connection: await this.open(), reused: false };
      const left = deadline - Date.now();
      if (left <= 0) throw new DirectoryUnavailable(`all ${this.options.size} LDAP connections (${this.options.name}) are busy`);
      await this.waitForSlot(left);
    }
  }

  private waitForSlot(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve();
      }, ms);
      this.waiters.push(waiter);
    });
  }

  private release(connection: Connection): void {
    if (this.closed || !connection.client.isConnected) return this.discard(connection);
    this.idle.push(connection);
    this.waiters.shift()?.wake();
  }

  private discard(connection: Connection): void {
    this.count--;
    void connection.client.unbind().catch(() => {});
    this.waiters.shift()?.wake();
  }

  /** A new connection, counted in the pool; fails fast while the servers are in backoff. */
  private async open(): Promise<Connection> {
    const now = Date.now();
    if (now < this.downUntil) {
      throw new DirectoryUnavailable(`LDAP servers unreachable; next attempt in ${Math.ceil((this.downUntil - now) / 1000)} s`);
    }
    this.count++;
    try {
      const connection = await this.openFirst();
      if (this.down) this.log.info({ pool: this.options.name, server: connection.url }, 'LDAP directory reachable again');
      this.down = false;
      this.delayMs = this.options.backoff.minMs;
      return connection;
    } catch (err) {
      this.count--;
      this.waiters.shift()?.wake();
      if (Date.now() >= this.downUntil) {
        this.downUntil = Date.now() + this.delayMs;
        if (!this.down) this.log.warn({ pool: this.options.name, err: (err as Error).message }, 'LDAP directory unreachable');
        this.down = true;
        this.delayMs = Math.min(this.delayMs * 2, this.options.backoff.maxMs);
      }
      throw err;
    }
  }

  /** Connects to the first server that accepts (TLS, then the service bind). */
  private async openFirst(): Promise<Connection> {
    const problems: string[] = [];
    for (const url of this.options.urls) {
      const client = newClient(url, this.options);
      try {
        if (url.startsWith('ldap:') && this.options.startTls) await client.startTLS(startTlsOptions(url, this.options));
        if (this.options.bind) await client.bind(this.options.bind.dn, this.options.bind.password);
        return { client, url };
      } catch (err) {
        void client.unbind().catch(() => {});
        problems.push(`${url}: ${describe(err)}`);
      }
    }
    throw new DirectoryUnavailable(`no LDAP server answered (${problems.join('; ')})`);
  }
}

function newClient(url: string, options: LdapServerOptions): Client {
  // ldapts reconnects by itself when a connection drops, without StartTLS and without binding
  // again; each socket factory therefore works once, and a dropped connection stays dropped.
  let plainUsed = false;
  let secureUsed = false;
  const createConnection = ((port: number, host: string) => {
    if (plainUsed) return refused();
    plainUsed = true;
    return net.connect(port, host);
  }) as typeof net.connect;
  const createSecureConnection = ((...args: Parameters<typeof tls.connect>) => {
    if (secureUsed) return refused();
    secureUsed = true;
    return tls.connect(...args);
  }) as typeof tls.connect;
  return new Client({
    url,
    timeout: options.timeoutMs,
    connectTimeout: options.connectTimeoutMs,
    // ldapts speaks TLS from the start whenever tlsOptions are given: only for ldaps.
    ...(url.startsWith('ldaps:') ? { tlsOptions: { ca: options.ca, rejectUnauthorized: options.verify } } : {}),
    createConnection,
    createSecureConnection,
  });
}

/** TLS options for StartTLS: the server name to verify is not known to tls.connect otherwise. */
function startTlsOptions(url: string, options: LdapServerOptions): tls.ConnectionOptions {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  return { ca: options.ca, rejectUnauthorized: options.verify, host, ...(net.isIP(host) ? {} : { servername: host }) };
}

function refused(): net.Socket & tls.TLSSocket {
  const socket = new net.Socket();
  queueMicrotask(() => socket.destroy(new Error('connection lost')));
  return socket as net.Socket & tls.TLSSocket;
}

/** True for a definite answer of the server; false for server trouble (busy, unavailable, too slow). */
function isAnswer(err: unknown): boolean {
  return err instanceof ResultCodeError
    && !(err instanceof BusyError || err instanceof UnavailableError || err instanceof TimeLimitExceededError);
}

function unavailable(what: string, err: unknown): DirectoryUnavailable {
  return err instanceof DirectoryUnavailable ? err : new DirectoryUnavailable(`${what}: ${describe(err)}`, { cause: err });
}

/** One line; LDAP result codes by name (InvalidCredentialsError, code 49), which ldapts' messages often lack. */
function describe(err: unknown): string {
  if (err instanceof ResultCodeError) return `${err.name} (LDAP result ${err.code})${err.message.startsWith(' Code') ? '' : `: ${err.message}`}`;
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
