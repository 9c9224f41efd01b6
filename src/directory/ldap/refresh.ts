// Account lifecycle: at every interval, the users with open sessions on LDAP hosts are looked
// up again, and the sessions of those deleted or disabled in the directory are closed. While
// the directory cannot answer, nobody is disconnected. One round at a time; the timer does
// not keep the process alive.
import type { Logger } from '../../core/log.js';
import { DirectoryUnavailable } from '../port.js';
import type { LdapDirectory } from './ldap-directory.js';

/** What the refresh needs of the sessions: who is online, and a way to disconnect them. */
export interface OnlineUsers {
  /** Usernames with at least one bound session on `host`. */
  usernames(host: string): string[];
  /** Closes every session of the user; returns how many. */
  disconnect(host: string, username: string): number;
}

/** Lookups run at once during a round, so a round does not take the whole pool. */
const CONCURRENCY = 2;

export class DirectoryRefresh {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly directories: LdapDirectory[],
    private readonly online: OnlineUsers,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.directories.length === 0) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every LDAP host's online users; resolves when done. */
  async round(): Promise<void> {
    for (const directory of this.directories) {
      if (this.stopped) return;
      const queue = this.online.usernames(directory.host);
      const worker = async () => {
        for (let username = queue.shift(); username !== undefined && !this.stopped; username = queue.shift()) {
          await this.check(directory, username);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
  }

  private async check(directory: LdapDirectory, username: string): Promise<void> {
    let valid: boolean;
    try {
      valid = await directory.stillValid(username);
    } catch (err) {
      if (!(err instanceof DirectoryUnavailable)) this.log.error({ err, host: directory.host, user: username }, 'directory refresh failed');
      return;
    }
    if (valid) return;
    const closed = this.online.disconnect(directory.host, username);
    this.log.info({ user: `${username}@${directory.host}`, sessions: closed }, 'user deleted or disabled in LDAP: sessions closed');
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => this.log.error({ err }, 'directory refresh failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
