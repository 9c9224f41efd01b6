// Load generator for the SMTP gateway's mail arrivals (gateways/smtp, docs/mail.md): copies of
// users' mail handed to the hub over SMTP become "New mail" headlines to the users who are
// online. Measures what that costs the IM path and how many mails per second the hub takes.
//
//   taskset -c 0 node --expose-gc dist/bench/server.js --users 1000 --smtp-port 15225
//   taskset -c 1 node dist/bench/mail-load.js mail [options]
//
// Scenario `mail` (see bench/README.md, "Mail arrivals"): K users log in over TCP; then, per
// round, (a) one-to-one IM at --im-rate between pairs u2k <-> u2k+1 for --seconds, alone, and
// (b) the same IM load while --mail-rate mails/s go over SMTP to <user>@mail.<domain> of online
// users; then (c) mails alone at each of --mail-steps for --step-seconds, up to the first step
// the hub cannot take. Mails are sent open-loop (1 ms ticks) over --connections raw SMTP
// connections with PIPELINING (envelope and DATA in one write, one transaction in flight per
// connection, as an MTA's delivery agents do); each is a ~4 KB multipart/alternative (text +
// HTML, quoted-printable, UTF-8, RFC 2047 subject) built once with nodemailer's MailComposer,
// its subject carrying `ref:m<id>` so the headline it causes can be matched: latency is from
// the write of the end of DATA to the headline's arrival at the user's client.
//
// Options: --users 1000 --im-rate 5000 --seconds 15 --mail-rate 200 --rounds 3 --retries 2
//   --mail-steps 100,200,400,800,1200,1600 --step-seconds 10 --smtp-port 15225 --connections 8
//   --drain-ms 5000 --mech SCRAM-SHA-1 --warmup-seconds 3
//   --mark-phases: SIGUSR2 to the hub at the start and end of each measured window, so that its
//   stdout (STATS lines, with a timestamp) marks them, e.g. in a `node --trace-gc` log.
//   The summary takes the median over the rounds in which other processes stayed under
//   --quiet-pct (all rounds if none did).
//   --profile FILE: after the measurements, CPU profiles of one more window of each kind
//   (FILE-mixed.cpuprofile: IM + mails; FILE-mail.cpuprofile: mails alone at --mail-rate);
//   their rows are labelled `<label>-profiled` (not measurements).
// Common: --port 15222 --stats http://127.0.0.1:15280 | --pid N, --label, --quiet-pct, --quiet-wait.
// Progress on stderr; one `RESULT {json}` line per measurement on stdout.
//
//   node dist/bench/mail-load.js report results.jsonl [...]   # the mail tables (markdown) of a run
import { once } from 'node:events';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Args, BENCH_RESOURCE, benchUser, log, MESSAGE_PAD, pool, cell, measuredRows, printResult, round, runScenario, Samples, sleep, targetFromArgs } from './common.js';
import { HubMonitor, otherCpu, otherCpuPct } from './hub-monitor.js';
import { measureMessageStep, type Receipts } from './message-step.js';
import { type Conn, tcpLogin } from './tcp-client.js';
import { type Mechanism, scan } from './xmpp-client.js';

const args = new Args(process.argv.slice(2), new Set(['mark-phases']));
const scenario = args.positional[0] ?? '';
const target = targetFromArgs(args);
const DOMAIN = target.domain;
const MAIL_DOMAIN = args.str('mail-domain', `mail.${DOMAIN}`);
const SMTP_PORT = args.num('smtp-port', 15225);
const LABEL = args.str('label', 'switchboard');
const monitor = HubMonitor.fromArgs(args);
const QUIET_PCT = monitor.quietPct;
/** Longest wait for one SMTP reply before the connection is given up. */
const REPLY_TIMEOUT_MS = args.num('reply-timeout', 15_000);
/** The marker in each mail's subject, and so in its headline: `ref:m<id> `. */
const MARK = 'ref:m';

const genLoopDelay = monitorEventLoopDelay({ resolution: 10 });
genLoopDelay.enable();

// --- the mails ---------------------------------------------------------------------------------

interface MailTemplate {
  from: string;
  /** The raw message around the per-mail Subject header and Message-ID, dot-stuffed, CRLF. */
  head: string;
  middle: string;
  tail: string;
  subject(id: number): string;
}

const TEMPLATES = [
  {
    name: 'Zoë Müller', address: 'zoe.mueller@example.com',
    subject: (id: number) => `Re: Quartalsbericht Q3 – Überprüfung ${MARK}${id} bis Freitag ✓`,
    text: `Hallo,

anbei die Zahlen für das dritte Quartal. Der Umsatz liegt bei 4,2 Mio. € (+7,5 % gegenüber dem
Vorjahr), die Marge bei 18 %. Bitte prüfe insbesondere die Positionen für München und Zürich –
dort gab es Nachbuchungen im Oktober, die noch nicht in der Vorschau enthalten waren.

Die vollständige Übersicht findest du im Wiki unter Finanzen › Berichte › 2026 › Q3. Wenn bis
Freitag keine Einwände kommen, schicke ich den Bericht an die Geschäftsführung weiter.

Viele Grüße
Zoë

-- 
Zoë Müller · Controlling
Beispiel GmbH · Hauptstraße 5 · 80331 München
Tel. +49 89 1234567 · https://example.com

Am 3. November 2026 um 09:14 schrieb Carol <carol@example.com>:
> Hallo Zoë,
>
> kannst du mir die Q3-Zahlen schicken, bevor wir sie intern verteilen? Ich würde gern
> vorher noch die Abgrenzungen für Zürich durchgehen.
>
> Danke und Gruß
> Carol
`,
    rows: [['München', '1.840.000 €', '+9,1 %'], ['Zürich', '1.120.000 €', '+4,3 %'], ['Wien', '760.000 €', '+6,8 %'], ['Gesamt', '4.200.000 €', '+7,5 %']],
  },
  {
    name: 'Amélie Durand', address: 'amelie.durand@example.fr',
    subject: (id: number) => `Réunion budget 2027 : ordre du jour ${MARK}${id} (salle Étoile, 14 h)`,
    text: `Bonjour à tous,

voici l'ordre du jour de la réunion de jeudi (salle Étoile, 14 h – 15 h 30) :

1. Bilan de l'exercice 2026 et écarts par rapport au prévisionnel ;
2. Hypothèses de croissance pour 2027 (scénarios « prudent » et « ambitieux ») ;
3. Répartition des investissements : infrastructure, recrutement, formation ;
4. Questions diverses.

Merci de m'envoyer vos remarques d'ici mercredi midi. Les documents préparatoires sont déjà
disponibles sur l'espace partagé, dossier « Budget 2027 ».

Bien cordialement,
Amélie

-- 
Amélie Durand — Direction financière
Exemple SARL · 12, rue de la Paix · 75002 Paris
Tél. : +33 1 23 45 67 89
`,
    rows: [['Infrastructure', '350 000 €', '−2 %'], ['Recrutement', '620 000 €', '+12 %'], ['Formation', '85 000 €', '+5 %'], ['Total', '1 055 000 €', '+6 %']],
  },
  {
    name: 'Łukasz Nowak', address: 'lukasz.nowak@example.pl',
    subject: (id: number) => `Your order ${MARK}${id} has shipped 📦 — arriving Thursday`,
    text: `Hi there,

good news: your order has left our warehouse in Poznań and is on its way. You can follow the
parcel with the tracking link in your account; delivery is expected on Thursday between
10:00 and 14:00.

What's in the parcel:
  • 2 × Ergonomic keyboard (Nordic layout) — 2 × 89,00 zł
  • 1 × USB-C docking station — 249,00 zł
  • 1 × Cable organiser, set of 5 — 29,00 zł

If something isn't right, reply to this email within 30 days and we'll sort it out.

Thanks for shopping with us!
Łukasz from the Example Store team

-- 
Example Store sp. z o.o. · ul. Główna 1 · 61-001 Poznań
`,
    rows: [['Ergonomic keyboard', '2', '178,00 zł'], ['USB-C docking station', '1', '249,00 zł'], ['Cable organiser', '1', '29,00 zł'], ['Total', '4', '456,00 zł']],
  },
];

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function htmlOf(t: (typeof TEMPLATES)[number]): string {
  const paragraphs = t.text.split('\n-- \n')[0]!.split(/\n\n+/)
    .map((p) => `<p style="margin:0 0 12px 0;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:20px;color:#222">${escapeHtml(p).replace(/\n/g, '<br>\n')}</p>`);
  const rows = t.rows.map((r) => `<tr>${r.map((c) => `<td style="padding:4px 12px;border-bottom:1px solid #ddd">${escapeHtml(c)}</td>`).join('')}</tr>`);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{margin:0;padding:0;background:#f4f4f4} .wrap{max-width:640px;margin:0 auto;background:#fff} a{color:#0b5fff}</style>
</head><body><div class="wrap"><table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td style="padding:24px">
${paragraphs.join('\n')}
<table cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-family:Helvetica,Arial,sans-serif;font-size:13px;margin:8px 0 16px 0">
${rows.join('\n')}
</table>
<p style="margin:24px 0 0 0;font-family:Helvetica,Arial,sans-serif;font-size:12px;color:#777">${escapeHtml(t.text.split('\n-- \n')[1] ?? '').replace(/\n/g, '<br>\n')}</p>
</td></tr></table></div></body></html>
`;
}

const SUBJECT_PLACEHOLDER = 'BENCHSUBJECTPLACEHOLDER';
const ID_PLACEHOLDER = 'BENCHMESSAGEIDPLACEHOLDER';

async function buildTemplates(): Promise<MailTemplate[]> {
  const out: MailTemplate[] = [];
  for (const t of TEMPLATES) {
    const raw = (await new MailComposer({
      from: { name: t.name, address: t.address },
      to: `im-copy@${MAIL_DOMAIN}`,
      subject: SUBJECT_PLACEHOLDER,
      messageId: `<${ID_PLACEHOLDER}@${t.address.split('@')[1]}>`,
      date: new Date('2026-11-25T09:30:00Z'),
      text: t.text,
      html: htmlOf(t),
      headers: { 'X-Mailer': 'Bench Mailer 1.0' },
    }).compile().build()).toString('latin1');
    // Received lines an MTA adds in front; dot-stuffing once for the whole template.
    const received = `Received: from mx.${t.address.split('@')[1]} (mx.${t.address.split('@')[1]} [192.0.2.25])\r\n` +
      `\tby mx.${DOMAIN} (Postfix) with ESMTPS id 4Q1B2c3D4eZ5\r\n\tfor <carol@${DOMAIN}>; Wed, 25 Nov 2026 09:30:01 +0000 (UTC)\r\n`;
    const stuffed = (received + raw).replace(/\r\n\./g, '\r\n..');
    const subjectLine = `Subject: ${SUBJECT_PLACEHOLDER}\r\n`;
    const [head, rest] = split(stuffed, subjectLine);
    const [middle, tail] = split(rest, ID_PLACEHOLDER);
    out.push({ from: t.address, head, middle, tail: tail.endsWith('\r\n') ? tail : `${tail}\r\n`, subject: t.subject });
  }
  return out;
}

function split(s: string, at: string): [string, string] {
  const i = s.indexOf(at);
  if (i < 0 || s.indexOf(at, i + 1) >= 0) throw new Error(`mail template: expected one "${at.trim()}"`);
  return [s.slice(0, i), s.slice(i + at.length)];
}

/** RFC 2047 B-encoded words of at most 24 characters each (never splitting a surrogate pair), folded. */
function subjectHeader(subject: string): string {
  const chars = Array.from(subject);
  const words: string[] = [];
  for (let i = 0; i < chars.length; i += 24) words.push(`=?UTF-8?B?${Buffer.from(chars.slice(i, i + 24).join('')).toString('base64')}?=`);
  return `Subject: ${words.join('\r\n ')}\r\n`;
}

interface OutgoingMail {
  from: string;
  to: string;
  /** The message, dot-stuffed, followed by the end of DATA. */
  data: string;
}

let templates: MailTemplate[] = [];

function mailFor(id: number, users: number): OutgoingMail {
  const t = templates[id % templates.length]!;
  const message = t.head + subjectHeader(t.subject(id)) + t.middle + `m${id}.${process.pid}` + t.tail;
  return { from: t.from, to: `${benchUser(id % users)}@${MAIL_DOMAIN}`, data: `${message}.\r\n` };
}

// --- a raw SMTP client ----------------------------------------------------------------------------

interface Reply {
  code: number;
  text: string;
}

class SmtpClient {
  private buf = '';
  private lines: string[] = [];
  private got: Reply[] = [];
  private waiter: { n: number; resolve(r: Reply[]): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;
  dead = '';

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.setNoDelay(true);
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (err) => this.fail(err.message));
    sock.on('close', () => this.fail('closed'));
  }

  static async open(port: number): Promise<SmtpClient> {
    const sock = net.connect({ host: '127.0.0.1', port });
    await once(sock, 'connect');
    const c = new SmtpClient(sock);
    const [greeting] = await c.replies(1);
    if (greeting!.code !== 220) throw new Error(`SMTP greeting: ${greeting!.text}`);
    c.sock.write('EHLO mx.bench.example\r\n');
    const [ehlo] = await c.replies(1);
    if (ehlo!.code !== 250) throw new Error(`EHLO: ${ehlo!.text}`);
    if (!ehlo!.text.includes('PIPELINING')) throw new Error('the server does not offer PIPELINING');
    return c;
  }

  /** One transaction; `dataEnd` is called right after the end of DATA is written. True when accepted (250). */
  async send(mail: OutgoingMail, dataEnd: () => void): Promise<{ ok: boolean; reply: string }> {
    this.sock.write(`MAIL FROM:<${mail.from}> SIZE=${mail.data.length}\r\nRCPT TO:<${mail.to}>\r\nDATA\r\n`);
    const [, , data] = await this.replies(3);
    if (data!.code !== 354) {
      this.sock.write('RSET\r\n');
      await this.replies(1);
      return { ok: false, reply: data!.text };
    }
    this.sock.write(mail.data);
    dataEnd();
    const [end] = await this.replies(1);
    return { ok: end!.code === 250, reply: end!.text };
  }

  close(): void {
    if (this.dead) return;
    this.sock.end('QUIT\r\n');
    this.dead = 'quit';
  }

  private replies(n: number): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new Error(`SMTP connection ${this.dead}`));
      const timer = setTimeout(() => {
        this.fail(`no reply in ${REPLY_TIMEOUT_MS} ms`);
        this.sock.destroy();
      }, REPLY_TIMEOUT_MS);
      this.waiter = { n, resolve, reject, timer };
      this.check();
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.charCodeAt(i - 1) === 13 ? this.buf.slice(0, i - 1) : this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      this.lines.push(line);
      if (line.charAt(3) === '-') continue;
      this.got.push({ code: Number(line.slice(0, 3)), text: this.lines.join('\n') });
      this.lines = [];
    }
    this.check();
  }

  private check(): void {
    const w = this.waiter;
    if (!w || this.got.length < w.n) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(this.got.splice(0, w.n));
  }

  private fail(reason: string): void {
    this.dead ||= reason;
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.reject(new Error(`SMTP connection: ${reason}`));
  }
}

// --- mail runs ------------------------------------------------------------------------------------

/** What one run of mails counts; headlines are matched to it by id. */
interface MailRun {
  firstId: number;
  planned: number;
  started: number;
  accepted: number;
  refused: number;
  /** Not sent: the backlog waiting for a free connection was full (the hub takes less than the rate). */
  skipped: number;
  /** Transactions lost with their connection. */
  failed: number;
  firstRefusal: string;
  headlines: number;
  headlineLatency: Samples;
  smtpLatency: Samples;
  start: number;
  lastAccept: number;
  lastHeadline: number;
  maxBacklog: number;
}

class MailSender {
  private clients: SmtpClient[] = [];
  private idle: SmtpClient[] = [];
  private backlog: number[] = [];
  private backlogHead = 0;
  private inFlight = 0;
  private nextId = 0;
  /** When the end of DATA of each mail not yet announced was written. */
  private readonly dataEndAt = new Map<number, number>();
  run: MailRun | undefined;
  strayHeadlines = 0;

  constructor(private readonly connections: number, private readonly users: number) {}

  /** (Re)opens the connections that are not alive. */
  async connect(): Promise<void> {
    this.clients = this.clients.filter((c) => !c.dead);
    while (this.clients.length < this.connections) this.clients.push(await SmtpClient.open(SMTP_PORT));
    this.idle = [...this.clients];
  }

  /** A headline with `ref:m<id>` reached a client at `now`. */
  headline(id: number, now: number): void {
    const sentAt = this.dataEndAt.get(id);
    const run = this.run;
    if (sentAt === undefined || !run || id < run.firstId) {
      this.strayHeadlines++;
      return;
    }
    this.dataEndAt.delete(id);
    run.headlines++;
    run.headlineLatency.push(now - sentAt);
    run.lastHeadline = now;
  }

  /**
   * Sends `rate` mails/s for `seconds`, open-loop: each mail due goes to an idle connection or
   * waits in a backlog of at most `backlogSeconds` worth of mails (beyond: skipped). Then waits
   * for the transactions and the headlines, each at most `drainMs`.
   */
  async send(rate: number, seconds: number, drainMs: number, backlogSeconds = 1): Promise<MailRun> {
    await this.connect();
    const total = Math.round(rate * seconds);
    const run: MailRun = {
      firstId: this.nextId, planned: total, started: 0, accepted: 0, refused: 0, skipped: 0, failed: 0, firstRefusal: '',
      headlines: 0, headlineLatency: new Samples(), smtpLatency: new Samples(), start: performance.now(), lastAccept: 0, lastHeadline: 0, maxBacklog: 0,
    };
    this.run = run;
    this.dataEndAt.clear();
    this.backlog = [];
    this.backlogHead = 0;
    const maxBacklog = Math.max(20, Math.round(rate * backlogSeconds));
    let due = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const target = Math.min(total, Math.floor(((now - run.start) * rate) / 1000));
        for (; due < target; due++) {
          if (this.backlog.length - this.backlogHead >= maxBacklog) {
            run.skipped++;
            this.nextId++;
            continue;
          }
          this.backlog.push(this.nextId++);
        }
        run.maxBacklog = Math.max(run.maxBacklog, this.backlog.length - this.backlogHead);
        this.pump(run);
        if (due >= total) return resolve();
        setTimeout(tick, 1);
      };
      tick();
    });
    let drainStart = performance.now();
    while ((this.inFlight > 0 || this.backlogHead < this.backlog.length) && performance.now() - drainStart < drainMs) await sleep(5);
    // What the hub did not take in time is given up; transactions in flight end or time out.
    run.skipped += this.backlog.length - this.backlogHead;
    this.backlogHead = this.backlog.length;
    drainStart = performance.now();
    while (this.inFlight > 0 && performance.now() - drainStart < REPLY_TIMEOUT_MS + 1000) await sleep(5);
    drainStart = performance.now();
    while (run.headlines < run.accepted && performance.now() - drainStart < drainMs) await sleep(5);
    return run;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  private pump(run: MailRun): void {
    while (this.backlogHead < this.backlog.length && this.idle.length > 0) {
      const client = this.idle.pop()!;
      const id = this.backlog[this.backlogHead++]!;
      void this.transact(run, client, id);
    }
    if (this.backlogHead > 4096 && this.backlogHead === this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
  }

  private async transact(run: MailRun, client: SmtpClient, id: number): Promise<void> {
    this.inFlight++;
    run.started++;
    let dataEnd = 0;
    try {
      const { ok, reply } = await client.send(mailFor(id, this.users), () => {
        dataEnd = performance.now();
        this.dataEndAt.set(id, dataEnd);
      });
      if (ok) {
        const now = performance.now();
        run.accepted++;
        run.smtpLatency.push(now - dataEnd);
        run.lastAccept = now;
      } else {
        run.refused++;
        run.firstRefusal ||= reply;
        this.dataEndAt.delete(id);
      }
    } catch (err) {
      run.failed++;
      run.firstRefusal ||= (err as Error).message;
      this.dataEndAt.delete(id);
    } finally {
      this.inFlight--;
    }
    if (client.dead) return;
    this.idle.push(client);
    this.pump(run);
  }
}

/** The mail side of a run as result fields. */
function mailFields(run: MailRun, rate: number, seconds: number): Record<string, unknown> {
  const h = run.headlineLatency.summary();
  const s = run.smtpLatency.summary();
  const acceptSpan = Math.max(seconds, (run.lastAccept - run.start) / 1000);
  const headlineSpan = Math.max(seconds, (run.lastHeadline - run.start) / 1000);
  return {
    mailTarget: rate,
    mailPlanned: run.planned,
    mailAccepted: run.accepted,
    mailRefused: run.refused,
    mailSkipped: run.skipped,
    mailFailed: run.failed,
    mailFirstRefusal: run.firstRefusal || undefined,
    mailMaxBacklog: run.maxBacklog,
    mailsAcceptedPerSec: round(run.accepted / acceptSpan, 1),
    headlines: run.headlines,
    headlinesPerSec: round(run.headlines / headlineSpan, 1),
    headlineP50: h.p50,
    headlineP90: h.p90,
    headlineP99: h.p99,
    headlineMax: h.max,
    smtpP50: s.p50,
    smtpP99: s.p99,
  };
}

// --- the scenario ---------------------------------------------------------------------------------

const MiB = 1048576;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function pct(after: number, before: number): number {
  return round(((after - before) / before) * 100, 1);
}

async function mailScenario(): Promise<void> {
  const users = args.num('users', 1000);
  const imRate = args.num('im-rate', 5000);
  const seconds = args.num('seconds', 15);
  const mailRate = args.num('mail-rate', 200);
  const rounds = args.num('rounds', 3);
  const retries = args.num('retries', 2);
  const markPhases = args.flag('mark-phases');
  const mailSteps = args.list('mail-steps', [100, 200, 400, 800, 1200, 1600]);
  const stepSeconds = args.num('step-seconds', 10);
  const connections = args.num('connections', 8);
  const drainMs = args.num('drain-ms', 5000);
  const warmupSeconds = args.num('warmup-seconds', 3);
  const mech = args.str('mech', 'SCRAM-SHA-1') as Mechanism;
  const profiling = args.has('profile');
  if (users % 2 !== 0 || users < 2) throw new Error('--users must be even');
  templates = await buildTemplates();
  const sampleSize = mailFor(0, users).data.length;

  log(`mail: logging in ${users} users`);
  const conns: Conn[] = new Array<Conn>(users);
  const logins = await pool(users, 100, async (i) => {
    conns[i] = await tcpLogin(target, benchUser(i), { mech, tls: false, resource: BENCH_RESOURCE });
    conns[i]!.index = i;
  }, 10);
  if (logins.failed > 0) throw new Error(`${logins.failed} logins failed: ${logins.firstError}`);

  const sender = new MailSender(connections, users);
  await sender.connect();
  const receipts: Receipts = { samples: new Samples(), received: 0, errors: 0 };
  for (const c of conns) {
    const mailScan = { tail: '' };
    c.onText = (chunk) => {
      const now = performance.now();
      if (scan(c, chunk, '<body>t=', (value) => {
        receipts.samples.push(now - Number(value));
        receipts.received++;
      })) receipts.errors++;
      scan(mailScan, chunk, MARK, (value) => sender.headline(Number(value), now));
    };
  }
  const prefixes = conns.map((_, i) => `<message type='chat' to='${benchUser(i ^ 1)}@${DOMAIN}/${BENCH_RESOURCE}' id='`);
  let seq = 0;
  const sendOne = (k: number): void => {
    conns[k]!.sock.write(`${prefixes[k]}${(seq++).toString(36)}'><body>t=${performance.now().toFixed(3)} ${MESSAGE_PAD}</body></message>`);
  };
  const imStep = (rate: number, secs: number): Promise<Record<string, unknown>> => measureMessageStep({
    rate, seconds: secs, senders: users, sendOne, receipts, monitor, genLoopDelay, drainMs: 3000,
    closed: () => conns.filter((c) => c.closed).length,
  });
  const hubPid = (await monitor.stats()).pid;
  const quiet = async (): Promise<void> => {
    if (QUIET_PCT > 0) await monitor.waitQuiet(hubPid);
  };
  const mark = (what: string): void => {
    if (!markPhases || !hubPid) return;
    log(`mail: mark ${what}`);
    process.kill(hubPid, 'SIGUSR2');
  };

  /** IM at imRate for `secs`, with mails at `rate` alongside (0: none). */
  const mixed = async (rate: number, secs: number): Promise<Record<string, unknown>> => {
    mark(`start IM${rate > 0 ? ` + ${rate} mails/s` : ' alone'}`);
    const mails = rate > 0 ? sender.send(rate, secs, drainMs) : undefined;
    const im = await imStep(imRate, secs);
    const run = mails && (await mails);
    mark('end');
    const after = await monitor.stats();
    return { ...im, ...(run ? mailFields(run, rate, secs) : {}), rssMiB: round(after.rss / MiB, 1),
      heapMiB: after.heapUsed === undefined ? undefined : round(after.heapUsed / MiB, 1) };
  };

  /** Mails alone at `rate` for `secs`, with the hub's CPU and memory. */
  const mailsAlone = async (rate: number, secs: number): Promise<Record<string, unknown>> => {
    const before = await monitor.stats();
    const others = otherCpu(before.pid);
    const gen = process.cpuUsage();
    genLoopDelay.reset();
    const t0 = performance.now();
    mark(`start ${rate} mails/s alone`);
    const run = await sender.send(rate, secs, drainMs);
    mark('end');
    const elapsed = (performance.now() - t0) / 1000;
    const after = await monitor.stats();
    const hubCpu = after.cpu - before.cpu;
    const g = process.cpuUsage(gen);
    const fields = mailFields(run, rate, secs);
    const pass = run.skipped === 0 && run.failed === 0 && run.refused === 0 && run.accepted === run.planned &&
      run.headlines === run.accepted && (fields.mailsAcceptedPerSec as number) >= 0.95 * rate && (fields.headlineP99 as number) < 1000;
    return {
      ...fields,
      seconds: secs,
      hubCpuPct: round((hubCpu / 1e6 / elapsed) * 100, 0),
      hubUsPerMail: round(hubCpu / Math.max(1, run.accepted), 0),
      genCpuPct: round(((g.user + g.system) / 1e6 / elapsed) * 100, 0),
      hubLoopDelayMaxMs: after.loopDelayMaxMs === undefined ? undefined : round(after.loopDelayMaxMs, 1),
      genLoopDelayMaxMs: round(genLoopDelay.max / 1e6, 1),
      otherCpuPct: otherCpuPct(others, otherCpu(before.pid), elapsed),
      rssMiB: round(after.rss / MiB, 1),
      heapMiB: after.heapUsed === undefined ? undefined : round(after.heapUsed / MiB, 1),
      pass,
    };
  };

  const base = await monitor.stats(true);
  log(`mail: ${users} users online, hub RSS ${round(base.rss / MiB, 1)} MiB after GC; mails of ~${round(sampleSize / 1024, 1)} KB over ${connections} SMTP connections`);
  log(`mail: warm-up ${warmupSeconds} s: IM at 2000/s, mails at ${Math.min(mailRate, 100)}/s, then both`);
  await imStep(2000, warmupSeconds);
  await sender.send(Math.min(mailRate, 100), warmupSeconds, drainMs);
  await mixed(mailRate, warmupSeconds);
  await sleep(500);

  // (a) and (b), interleaved per round so that drift on the shared machine hits both.
  const alone: Array<Record<string, unknown>> = [];
  const withMail: Array<Record<string, unknown>> = [];
  const clean: boolean[] = [];
  for (let r = 1; r <= rounds; r++) {
    let a: Record<string, unknown> = {};
    let b: Record<string, unknown> = {};
    let noisy = false;
    for (let attempt = 0; attempt <= retries; attempt++) {
      await quiet();
      a = await mixed(0, seconds);
      await sleep(500);
      await quiet();
      b = await mixed(mailRate, seconds);
      await sleep(500);
      noisy = Math.max(a.otherCpuPct as number, b.otherCpuPct as number) >= QUIET_PCT && QUIET_PCT > 0;
      if (!noisy || attempt === retries) break;
      log(`mail: round ${r} had other processes at ${a.otherCpuPct}% / ${b.otherCpuPct}% of a core; again`);
    }
    clean.push(!noisy);
    for (const [phase, row, list] of [['im-alone', a, alone], ['im+mail', b, withMail]] as const) {
      list.push(row);
      result({ scenario: 'mail-im', phase, round: r, imRate, mailRate: phase === 'im-alone' ? 0 : mailRate, users, seconds, noisy, ...row });
    }
    log(`mail: round ${r}: IM alone p50 ${a.p50} p99 ${a.p99} ms, ${a.achieved}/s, loss ${a.loss}, hub ${a.hubCpuPct}% | ` +
      `with ${mailRate} mails/s p50 ${b.p50} p99 ${b.p99} ms, ${b.achieved}/s, loss ${b.loss}, hub ${b.hubCpuPct}%; ` +
      `mails ${b.mailAccepted}/${b.mailPlanned} accepted, ${b.headlines} headlines p50 ${b.headlineP50} p99 ${b.headlineP99} ms; other ${a.otherCpuPct}/${b.otherCpuPct}%`);
  }

  // (c) mails alone, rising.
  const steps: Array<Record<string, unknown>> = [];
  for (const rate of mailSteps) {
    await quiet();
    const row = await mailsAlone(rate, stepSeconds);
    steps.push({ ...row, target: rate });
    result({ scenario: 'mail-arrivals', users, connections, mailBytes: sampleSize, ...row });
    log(`mail: ${rate} mails/s alone: ${row.mailsAcceptedPerSec} accepted/s (${row.mailAccepted}/${row.mailPlanned}, skipped ${row.mailSkipped}), ` +
      `${row.headlinesPerSec} headlines/s p50 ${row.headlineP50} p99 ${row.headlineP99} ms, SMTP p50 ${row.smtpP50} p99 ${row.smtpP99} ms, ` +
      `hub ${row.hubCpuPct}% (${row.hubUsPerMail} µs/mail), RSS ${row.rssMiB} MiB, other ${row.otherCpuPct}%`);
    if (!row.pass) break;
    await sleep(1000);
  }

  const end = await monitor.stats(true);
  // Rounds in which other processes took CPU say more about them than about the hub.
  const useAll = !clean.some((c) => c);
  const m = (rows: Array<Record<string, unknown>>, key: string): number =>
    round(median(rows.filter((_, i) => useAll || clean[i]).map((r) => r[key] as number)), 2);
  const a = { p50: m(alone, 'p50'), p90: m(alone, 'p90'), p99: m(alone, 'p99'), achieved: m(alone, 'achieved'), hubCpuPct: m(alone, 'hubCpuPct'), loss: m(alone, 'loss') };
  const b = { p50: m(withMail, 'p50'), p90: m(withMail, 'p90'), p99: m(withMail, 'p99'), achieved: m(withMail, 'achieved'), hubCpuPct: m(withMail, 'hubCpuPct'), loss: m(withMail, 'loss') };
  const passed = steps.filter((s) => s.pass);
  const best = passed.at(-1);
  const most = Math.max(0, ...steps.map((s) => s.mailsAcceptedPerSec as number));
  const slowP50 = pct(b.p50, a.p50);
  const slowP99 = pct(b.p99, a.p99);
  const rateDrop = pct(a.achieved, b.achieved);
  const summary = {
    scenario: 'mail-summary', users, imRate, mailRate, rounds, cleanRounds: clean.filter((c) => c).length, seconds,
    imAlone: a, imWithMail: b,
    slowdownP50Pct: slowP50, slowdownP90Pct: pct(b.p90, a.p90), slowdownP99Pct: slowP99, deliveredDropPct: rateDrop,
    hubCpuAddedPct: round(b.hubCpuPct - a.hubCpuPct, 1),
    headlineP50: m(withMail, 'headlineP50'), headlineP99: m(withMail, 'headlineP99'),
    mailsAcceptedWithIm: m(withMail, 'mailsAcceptedPerSec'),
    mailCeilingStep: best?.target ?? 0, mailCeilingAcceptedPerSec: most,
    mailCeilingHubCpuPct: best?.hubCpuPct, hubUsPerMailAtRate: steps.find((s) => s.target === mailRate)?.hubUsPerMail,
    rssAfterGcMiB: round(end.rss / MiB, 1), rssBeforeMiB: round(base.rss / MiB, 1),
    strayHeadlines: sender.strayHeadlines,
    targetMet: a.loss === 0 && b.loss === 0 && slowP50 <= 10 && slowP99 <= 10 && rateDrop <= 10,
  };
  result(summary);
  log(`mail: IM ${imRate}/s alone p50 ${a.p50} / p99 ${a.p99} ms; with ${mailRate} mails/s p50 ${b.p50} / p99 ${b.p99} ms ` +
    `(${slowP50 >= 0 ? '+' : ''}${slowP50} % / ${slowP99 >= 0 ? '+' : ''}${slowP99} %), delivered ${a.achieved} → ${b.achieved}/s; ` +
    `mail ceiling ${summary.mailCeilingStep}/s passed (most accepted ${most}/s); target ${summary.targetMet ? 'met' : 'missed'}`);

  if (profiling) {
    // Not measurements: the profiler's own overhead is in them.
    log('mail: profiled windows (IM + mails, then mails alone)');
    await quiet();
    await monitor.profile('start');
    const pm = await mixed(mailRate, seconds);
    await monitor.profile('stop', 'mixed');
    printResult(`${LABEL}-profiled`, { scenario: 'mail-im', phase: 'im+mail', imRate, mailRate, users, seconds, ...pm });
    await quiet();
    await monitor.profile('start');
    const ps = await mailsAlone(mailRate, seconds);
    await monitor.profile('stop', 'mail');
    printResult(`${LABEL}-profiled`, { scenario: 'mail-arrivals', users, connections, ...ps });
  }

  sender.close();
  for (const c of conns) c.destroy();
  await sleep(500);
}

function result(data: Record<string, unknown>): void {
  printResult(LABEL, data);
}

// --- report ----------------------------------------------------------------------------------------

/** The mail scenario's rows of a run's RESULT lines as markdown tables. */
function report(files: string[]): void {
  const measured = measuredRows(files);
  const im = measured.filter((r) => r.scenario === 'mail-im');
  const alone = measured.filter((r) => r.scenario === 'mail-arrivals');
  const summary = measured.filter((r) => r.scenario === 'mail-summary').at(-1);
  const v = cell;
  let out = '';
  if (im.length > 0) {
    const first = im[0]!;
    out += `\nMail arrivals next to IM (${v(first.users)} users online, IM ${v(first.imRate)} msg/s in pairs, ${v(first.seconds)} s per phase)\n\n`;
    out += '| round | phase | IM achieved/s | loss | p50 ms | p90 ms | p99 ms | max ms | hub CPU | mails accepted/s | headlines | headline p50 / p99 ms | SMTP p50 / p99 ms | hub loop stall ms | other CPU |\n';
    out += '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
    for (const r of im) {
      const mail = r.mailTarget !== undefined;
      out += `| ${v(r.round)}${r.noisy ? ' (noisy)' : ''} | ${v(r.phase)} | ${v(r.achieved)} | ${v(r.loss)} | ${v(r.p50)} | ${v(r.p90)} | ${v(r.p99)} | ${v(r.max)} | ${v(r.hubCpuPct)}% | ` +
        `${mail ? `${v(r.mailsAcceptedPerSec)} (${v(r.mailAccepted)}/${v(r.mailPlanned)})` : '—'} | ${mail ? v(r.headlines) : '—'} | ` +
        `${mail ? `${v(r.headlineP50)} / ${v(r.headlineP99)}` : '—'} | ${mail ? `${v(r.smtpP50)} / ${v(r.smtpP99)}` : '—'} | ${v(r.hubLoopDelayMaxMs)} | ${v(r.otherCpuPct)}% |\n`;
    }
  }
  if (alone.length > 0) {
    out += `\nMails alone (${v(alone[0]!.connections)} SMTP connections, ~${v(round(Number(alone[0]!.mailBytes) / 1024, 1))} KB each, ${v(alone[0]!.seconds)} s per step)\n\n`;
    out += '| mails/s | accepted/s | skipped | headlines/s | headline p50 / p99 / max ms | SMTP p50 / p99 ms | hub CPU | hub µs/mail | hub RSS MiB | other CPU | sustained |\n';
    out += '|---|---|---|---|---|---|---|---|---|---|---|\n';
    for (const r of alone) {
      out += `| ${v(r.mailTarget)} | ${v(r.mailsAcceptedPerSec)} | ${v(r.mailSkipped)} | ${v(r.headlinesPerSec)} | ${v(r.headlineP50)} / ${v(r.headlineP99)} / ${v(r.headlineMax)} | ` +
        `${v(r.smtpP50)} / ${v(r.smtpP99)} | ${v(r.hubCpuPct)}% | ${v(r.hubUsPerMail)} | ${v(r.rssMiB)} | ${v(r.otherCpuPct)}% | ${r.pass ? 'yes' : 'no'} |\n`;
    }
  }
  if (summary) {
    const a = summary.imAlone as Record<string, number>;
    const b = summary.imWithMail as Record<string, number>;
    const signed = (x: unknown): string => (typeof x === 'number' && x >= 0 ? `+${x}` : v(x));
    const used = summary.cleanRounds ? `${v(summary.cleanRounds)} of ${v(summary.rounds)} rounds, those with other processes under the limit` : `${v(summary.rounds)} rounds, none quiet`;
    out += `\nIM at ${v(summary.imRate)} msg/s (median of ${used}): alone p50 ${v(a.p50)} / p99 ${v(a.p99)} ms, ${v(a.achieved)}/s, hub ${v(a.hubCpuPct)}%; ` +
      `with ${v(summary.mailRate)} mails/s p50 ${v(b.p50)} / p99 ${v(b.p99)} ms, ${v(b.achieved)}/s, hub ${v(b.hubCpuPct)}%: ` +
      `p50 ${signed(summary.slowdownP50Pct)} %, p90 ${signed(summary.slowdownP90Pct)} %, p99 ${signed(summary.slowdownP99Pct)} %, delivered ${signed(-Number(summary.deliveredDropPct))} %. ` +
      `Mail ceiling (mails alone): ${v(summary.mailCeilingStep)}/s sustained, at most ${v(summary.mailCeilingAcceptedPerSec)} accepted/s. ` +
      `Hub RSS after GC ${v(summary.rssBeforeMiB)} → ${v(summary.rssAfterGcMiB)} MiB. ` +
      `Target (≤ 10 % IM slowdown at ${v(summary.mailRate)} mails/s): ${summary.targetMet ? 'met ✅' : 'missed ❌'}\n`;
  }
  process.stdout.write(out);
}

runScenario(scenario, {
  mail: mailScenario,
  report: () => report(args.positional.slice(1)),
}, 'mail-load.js mail [options] | report results.jsonl');
