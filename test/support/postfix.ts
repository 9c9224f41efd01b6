// A real Debian Postfix for a test: its own private instance (config_directory, queue_directory,
// data_directory, Maildirs and mail log in a temporary folder), started with `postfix -c <dir>
// start`, listening only on 127.0.0.1:<free port>, stopped by the master's pid. It never
// touches the system instance (/etc/postfix, /var/spool/postfix, port 25): as root, `postfix -c`
// needs no alternate_config_directories entry, and the default main.cf is only read if present.
//
// Mail for `mailboxDomains` is stored by the virtual(8) delivery agent in one Maildir per domain
// (virtual(8) refuses regexp substitution in virtual_mailbox_maps, so a per-address path is not
// possible without listing the addresses); mailbox(address) picks that address's messages by the
// Delivered-To header virtual(8) prepends. Mail for `transports` domains goes where the transport
// says; every other domain bounces at once (default_transport = error), so nothing leaves loopback.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { accepts, freePort } from './ports.js';

const POSTFIX = '/usr/sbin/postfix';
const POSTQUEUE = '/usr/sbin/postqueue';
const SWAKS = 'swaks';

/** uid/gid the virtual(8) agent writes Maildirs as (Debian's nobody/nogroup; need not exist). */
const MAILDIR_UID = 65534;
const MAILDIR_GID = 65534;

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 3;
const DEFAULT_WAIT_MS = 10_000;
const POLL_MS = 100;

export interface PostfixOptions {
  /** Domains whose mail Postfix stores in its own Maildirs (read back with mailbox()). */
  mailboxDomains: string[];
  /** Domains whose mail Postfix hands on: domain -> transport, e.g. 'smtp:[127.0.0.1]:2525' or 'lmtp:[127.0.0.1]:2424'. */
  transports?: Record<string, string>;
  /** recipient_bcc_maps: recipient address -> address that also receives a copy. */
  recipientBcc?: Record<string, string>;
}

export interface SendArgs {
  from: string;
  /** One recipient, or several separated by commas (swaks --to). */
  to: string;
  /** Headers added to (or replacing those of) swaks's default message. */
  headers?: Record<string, string>;
  body?: string;
  /** A whole raw message (headers and body) instead of swaks's default message. */
  data?: string;
}

export interface Postfix {
  readonly host: '127.0.0.1';
  /** The loopback port its smtpd listens on (a free port chosen at start). */
  readonly port: number;
  /** The temporary folder holding config/, queue/, data/, mail/ and mail.log. */
  readonly dir: string;
  /**
   * Raw RFC 5322 messages delivered to this address's Maildir, oldest first, as stored: the
   * virtual(8) agent prepends Return-Path, X-Original-To and Delivered-To.
   */
  mailbox(address: string): Promise<string[]>;
  /** Waits (bounded) until the mailbox holds at least `count` messages; rejects with the mail log tail on timeout. */
  waitForMail(address: string, count?: number, timeoutMs?: number): Promise<string[]>;
  /** Postfix's mail log so far (for assertions on deferrals/bounces and for failure messages). */
  log(): Promise<string>;
  /** Sends a message with swaks to this Postfix: returns swaks's exit code and output. */
  send(args: SendArgs): Promise<{ code: number; output: string }>;
  /** Asks Postfix to retry deferred mail now (postqueue -f). */
  flush(): Promise<void>;
  /** Stops the instance and removes its folder; safe to call more than once. */
  stop(): Promise<void>;
}

/** Creates a private Postfix instance in a new temporary folder and starts it. */
export async function startPostfix(options: PostfixOptions): Promise<Postfix> {
  if (process.getuid?.() !== 0) throw new Error('the Postfix test harness must run as root (postfix start needs it)');
  if (!existsSync(POSTFIX)) throw new Error(`${POSTFIX} is missing (Debian package postfix)`);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const instance = new PostfixInstance(options, await freePort());
    try {
      await instance.start();
      return instance;
    } catch (err) {
      lastError = err;
      await instance.stop();
      // Only a lost race for the port is worth another try.
      if (!/address already in use/i.test(String(err))) break;
    }
  }
  throw lastError;
}

/** Instances not stopped yet: killed when the test process exits without stopping them. */
const live = new Set<PostfixInstance>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of live) instance.killNow();
  });
}

class PostfixInstance implements Postfix {
  readonly host = '127.0.0.1' as const;
  readonly dir: string;
  private readonly configDir: string;
  private readonly queueDir: string;
  private readonly mailDir: string;
  private readonly logFile: string;
  private readonly mailboxDomains: string[];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: PostfixOptions,
    readonly port: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'switchboard-postfix-'));
    // Postfix daemons run as the postfix user and must reach the queue below this folder.
    chmodSync(this.dir, 0o755);
    assertTraversable(this.dir);
    live.add(this);
    installExitHook();
    this.configDir = join(this.dir, 'config');
    this.queueDir = join(this.dir, 'queue');
    this.mailDir = join(this.dir, 'mail');
    this.logFile = join(this.dir, 'mail.log');
    this.mailboxDomains = options.mailboxDomains.map((domain) => domain.toLowerCase());
  }

  async start(): Promise<void> {
    this.configure();
    const result = await run(POSTFIX, ['-c', this.configDir, 'start']);
    if (result.code !== 0) {
      throw new Error(`postfix start failed (exit ${result.code}): ${result.output}\n${await this.logTail()}`);
    }
    // `postfix start` returns once the master has opened its listeners; the loop covers a slow box.
    const started = Date.now();
    const deadline = started + START_TIMEOUT_MS;
    for (;;) {
      if (await accepts(this.port)) return;
      if (this.masterPid() === undefined && Date.now() > started + 2_000) {
        throw new Error(`the postfix master is not running:\n${await this.logTail()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`postfix did not listen on 127.0.0.1:${this.port} within ${START_TIMEOUT_MS} ms:\n${await this.logTail()}`);
      }
      await delay(50);
    }
  }

  async mailbox(address: string): Promise<string[]> {
    const at = address.lastIndexOf('@');
    const domain = address.slice(at + 1).toLowerCase();
    if (at < 1 || !this.mailboxDomains.includes(domain)) {
      throw new Error(`${address} is not in a mailbox domain of this Postfix (${this.mailboxDomains.join(', ')})`);
    }
    const wanted = address.toLowerCase();
    const files: { name: string; path: string }[] = [];
    for (const sub of ['new', 'cur']) {
      const folder = join(this.mailDir, domain, sub);
      let names: string[];
      try {
        names = await readdir(folder);
      } catch {
        continue; // not created before the domain's first delivery
      }
      for (const name of names) files.push({ name, path: join(folder, name) });
    }
    files.sort((a, b) => compareMaildirNames(a.name, b.name));
    const messages: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file.path, 'utf8');
      } catch {
        continue; // moved between new/ and cur/ meanwhile
      }
      if (deliveredTo(text)?.toLowerCase() === wanted) messages.push(text);
    }
    return messages;
  }

  async waitForMail(address: string, count = 1, timeoutMs = DEFAULT_WAIT_MS): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.mailbox(address);
      if (messages.length >= count) return messages;
      if (Date.now() >= deadline) {
        throw new Error(
          `${address} has ${messages.length} message(s), expected at least ${count} within ${timeoutMs} ms\n` +
            `${await this.queueListing()}\n${await this.logTail()}`,
        );
      }
      await delay(POLL_MS);
    }
  }

  async log(): Promise<string> {
    try {
      return await readFile(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async send(args: SendArgs): Promise<{ code: number; output: string }> {
    const swaksArgs = ['--server', this.host, '--port', String(this.port), '--from', args.from, '--to', args.to, '--timeout', '10'];
    let input: string | undefined;
    if (args.data !== undefined) {
      swaksArgs.push('--data', '-');
      input = args.data;
    } else {
      const headers: Record<string, string> = {
        'MIME-Version': '1.0',
        'Content-Type': 'text/plain; charset=UTF-8',
        'Content-Transfer-Encoding': '8bit',
      };
      for (const [name, value] of Object.entries(args.headers ?? {})) {
        for (const existing of Object.keys(headers)) {
          if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
        }
        headers[name] = value;
      }
      for (const [name, value] of Object.entries(headers)) swaksArgs.push('--header', `${name}: ${value}`);
      if (args.body !== undefined) swaksArgs.push('--body', args.body);
    }
    return run(SWAKS, swaksArgs, input);
  }

  async flush(): Promise<void> {
    const result = await run(POSTQUEUE, ['-c', this.configDir, '-f']);
    if (result.code !== 0) throw new Error(`postqueue -f failed (exit ${result.code}): ${result.output}`);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  /** Synchronous last resort at process exit: SIGTERM to the master (it stops its children). */
  killNow(): void {
    const pid = this.masterPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  private async shutDown(): Promise<void> {
    try {
      const pid = this.masterPid();
      if (pid !== undefined) {
        // What `postfix stop` does, without its 1 s polling: SIGTERM to the master, which
        // terminates its process group (all Postfix daemons of this instance); SIGKILL if it hangs.
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        while (groupAlive(pid)) {
          if (Date.now() > deadline) {
            killGroup(pid);
            break;
          }
          await delay(50);
        }
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      live.delete(this);
    }
  }

  /** The master's pid while its pid file exists and the process runs. */
  private masterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.queueDir, 'pid', 'master.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async logTail(lines = 40): Promise<string> {
    const text = await this.log();
    return `--- last lines of ${this.logFile} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }

  private async queueListing(): Promise<string> {
    const result = await run(POSTQUEUE, ['-c', this.configDir, '-p']);
    return `--- postqueue -p ---\n${result.output.trimEnd()}`;
  }

  private configure(): void {
    mkdirSync(this.configDir, { mode: 0o755 });
    // post-install (run by `postfix start`) creates the queue subfolders and data_directory.
    mkdirSync(this.queueDir, { mode: 0o755 });
    mkdirSync(this.mailDir, { mode: 0o755 });
    chownSync(this.mailDir, MAILDIR_UID, MAILDIR_GID);
    writeFileSync(this.logFile, '');

    const transports = Object.entries(this.options.transports ?? {});
    const bcc = Object.entries(this.options.recipientBcc ?? {});
    const file = (name: string) => join(this.configDir, name);
    const main = [
      `# Private test instance made by test/support/postfix.ts (${new Date().toISOString()}).`,
      'compatibility_level = 3.6',
      `queue_directory = ${this.queueDir}`,
      `data_directory = ${join(this.dir, 'data')}`,
      `maillog_file = ${this.logFile}`,
      `maillog_file_prefixes = ${this.dir}`,
      'myhostname = postfix.test',
      'mydomain = postfix.test',
      'myorigin = $myhostname',
      'mydestination =',
      'inet_interfaces = loopback-only',
      'mynetworks = 127.0.0.0/8 [::1]/128',
      'alias_maps =',
      'alias_database =',
      'local_recipient_maps =',
      'biff = no',
      'append_dot_mydomain = no',
      'smtpd_banner = $myhostname ESMTP Postfix (test)',
      'smtpd_peername_lookup = no',
      'smtpd_tls_security_level = none',
      'smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination',
      `relay_domains = ${transports.map(([domain]) => domain).join(', ')}`,
      // No DNS, nothing beyond loopback: only transport_maps entries route mail anywhere.
      'smtp_dns_support_level = disabled',
      'smtp_host_lookup = native',
      'lmtp_host_lookup = native',
      'default_transport = error:5.1.2 no transport for this domain in the test Postfix',
      'relay_transport = $default_transport',
      'smtp_tls_security_level = may',
      'smtp_tls_loglevel = 1',
      'smtp_connect_timeout = 5s',
      'lmtp_connect_timeout = 5s',
      // Retries within a test.
      'queue_run_delay = 1s',
      'minimal_backoff_time = 1s',
      'maximal_backoff_time = 2s',
      `virtual_mailbox_domains = ${this.mailboxDomains.join(', ')}`,
      `virtual_mailbox_base = ${this.mailDir}`,
      `virtual_mailbox_maps = regexp:${file('virtual_mailbox')}`,
      `virtual_uid_maps = static:${MAILDIR_UID}`,
      `virtual_gid_maps = static:${MAILDIR_GID}`,
      `transport_maps = texthash:${file('transport')}`,
      `recipient_bcc_maps = texthash:${file('recipient_bcc')}`,
    ];
    writeFileSync(file('main.cf'), main.join('\n') + '\n');
    writeFileSync(file('master.cf'), masterCf(this.port));
    // One Maildir per domain: "<domain>/" (the trailing slash selects Maildir format).
    writeFileSync(
      file('virtual_mailbox'),
      this.mailboxDomains.map((domain) => `/@${escapeRegExp(domain)}$/ ${domain}/\n`).join(''),
    );
    writeFileSync(file('transport'), transports.map(([domain, transport]) => `${domain} ${transport}\n`).join(''));
    writeFileSync(file('recipient_bcc'), bcc.map(([address, copy]) => `${address} ${copy}\n`).join(''));
  }
}

/** master.cf: smtpd on 127.0.0.1:<port> only, no chroot, postlogd for maillog_file. */
function masterCf(port: number): string {
  return `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${port} inet n -      n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

/** The first Delivered-To header of a stored message (the one virtual(8) prepended). */
function deliveredTo(message: string): string | undefined {
  const end = message.search(/\r?\n\r?\n/);
  const head = end < 0 ? message : message.slice(0, end);
  return /^Delivered-To:[ \t]*(.*?)\s*$/im.exec(head)?.[1];
}

/** Maildir names from virtual(8) are "<seconds>.V<dev>I<inode>M<microseconds>.<host>". */
function compareMaildirNames(a: string, b: string): number {
  const key = (name: string): [number, number] => {
    const match = /^(\d+)\.[^.]*?M(\d+)/.exec(name);
    return match ? [Number(match[1]), Number(match[2])] : [Number.parseInt(name, 10) || 0, 0];
  };
  const [as, au] = key(a);
  const [bs, bu] = key(b);
  return as - bs || au - bu || (a < b ? -1 : a > b ? 1 : 0);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Postfix's unprivileged daemons need search permission on every folder above the queue. */
function assertTraversable(dir: string): void {
  for (let folder = dirname(dir); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${folder} is not searchable by others, so the postfix user cannot reach ${dir}: set TMPDIR to e.g. /tmp`);
    }
    if (folder === dirname(folder)) return;
  }
}

/** Runs a command (bounded in time); resolves with its exit code and combined output. */
function run(command: string, args: string[], input?: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (!err) return resolve({ code: 0, output });
      const code = typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: output || err.message });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** False for a pid that is gone or a zombie (Postfix's master is reparented to init). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether any live (non-zombie) process is in process group `pgid` (the master's group). */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return alive(pgid);
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "(comm)": state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/** SIGKILL to the master's process group (the master is a session leader). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
