// The SMTP/LMTP listener of the mail gateway, driven by a real client (nodemailer) for
// ordinary mail and by a raw socket for protocol-level and hostile cases.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import {
  InboundMailServer,
  type InboundMail,
  type InboundMailOptions,
  type RecipientVerdict,
} from '../gateways/smtp/inbound-server.js';
import { ParsePool, ParsePoolUnavailable } from '../gateways/smtp/parse-pool.js';
import { createLogger } from '../src/core/log.js';

const MAIL_FIXTURES = new URL('../../fixtures/mail/', import.meta.url);
const MAX_SIZE = 100_000;
const LOCAL_USERS = new Set(['alice', 'bob', 'carol']);

/** The gateway's answer: local users of example.org only (anything else is relaying). */
async function localUsers(address: string): Promise<RecipientVerdict> {
  const [local, domain] = address.split('@');
  if (domain !== 'example.org') return { accept: false, code: 550, message: 'Relaying denied' };
  return LOCAL_USERS.has(local.toLowerCase()) ? { accept: true } : { accept: false, code: 550, message: 'No such user here' };
}

interface Harness {
  server: InboundMailServer;
  port: number;
  deliveries: Array<{ mail: InboundMail; recipients: string[] }>;
  checked: string[];
  logs: Array<Record<string, unknown>>;
  /** What the callbacks answer; tests replace them. */
  checkRecipient: InboundMailOptions['checkRecipient'];
  deliver: InboundMailOptions['deliver'];
  /** The last delivered mail. */
  last(): InboundMail;
  reset(): void;
}

async function startServer(options: Partial<InboundMailOptions> = {}): Promise<Harness> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const deliverAll: InboundMailOptions['deliver'] = async (_mail, recipients) => recipients.map(() => ({ ok: true }));
  const h = {
    deliveries: [],
    checked: [],
    logs,
    checkRecipient: localUsers,
    deliver: deliverAll,
    last: () => h.deliveries.at(-1)!.mail,
    reset() {
      h.deliveries.length = 0;
      h.checked.length = 0;
      h.logs.length = 0;
      h.checkRecipient = localUsers;
      h.deliver = deliverAll;
    },
  } as unknown as Harness;
  h.server = new InboundMailServer({
    interfaces: ['127.0.0.1'],
    port: 0,
    protocol: 'smtp',
    maxSize: MAX_SIZE,
    hostname: 'mx.example.org',
    maxRecipients: 3,
    log: createLogger({ level: 'debug', format: 'json' }, sink),
    checkRecipient: (address) => {
      h.checked.push(address);
      return h.checkRecipient(address);
    },
    deliver: (mail, recipients) => {
      h.deliveries.push({ mail, recipients });
      return h.deliver(mail, recipients);
    },
    ...options,
  });
  await h.server.start();
  h.port = h.server.addresses[0].port;
  return h;
}

const openWires = new Set<Wire>();

/** A raw SMTP/LMTP client: one command, one reply (all lines of a multi-line reply). */
class Wire {
  private buffer = '';
  private wake?: () => void;
  private closed = false;

  static async open(port: number): Promise<Wire> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const wire = new Wire(socket);
    assert.match(await wire.reply(), /^220 mx\.example\.org /);
    return wire;
  }

  constructor(readonly socket: net.Socket) {
    openWires.add(this);
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  async reply(): Promise<string> {
    for (;;) {
      const match = /^(?:\d{3}-.*\r\n)*\d{3}(?: .*)?\r\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return match[0].trimEnd();
      }
      if (this.closed) throw new Error(`connection closed, pending: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** MAIL, RCPTs (all must be accepted), DATA and the message; the reply to the message. */
  async send(from: string, recipients: string[], message: string | Buffer): Promise<string> {
    assert.match(await this.command(`MAIL FROM:<${from}>`), /^250 /);
    for (const rcpt of recipients) assert.match(await this.command(`RCPT TO:<${rcpt}>`), /^250 /);
    assert.match(await this.command('DATA'), /^354 /);
    this.socket.write(message);
    this.socket.write('\r\n.\r\n');
    return this.reply();
  }

  /** STARTTLS, then the same conversation over TLS. */
  async startTls(servername?: string): Promise<{ wire: Wire; cn: unknown }> {
    assert.match(await this.command('STARTTLS'), /^220 /);
    this.socket.removeAllListeners('data');
    openWires.delete(this);
    const secure = tls.connect({ socket: this.socket, servername, rejectUnauthorized: false });
    await once(secure, 'secureConnect');
    return { wire: new Wire(secure), cn: secure.getPeerCertificate().subject.CN };
  }

  async quit(): Promise<void> {
    assert.match(await this.command('QUIT'), /^221 /);
    this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
    openWires.delete(this);
  }
}

/** A fixture mail as sent over SMTP: CRLF line ends, dot-stuffed, bytes kept as they are. */
async function fixture(name: string): Promise<Buffer> {
  const text = (await readFile(new URL(name, MAIL_FIXTURES))).toString('latin1');
  return Buffer.from(text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..'), 'latin1');
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function transport(port: number, options: { requireTLS?: boolean; servername?: string } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: !options.requireTLS,
    requireTLS: options.requireTLS,
    tls: { rejectUnauthorized: false, servername: options.servername },
  });
}

afterEach(() => {
  for (const wire of openWires) wire.destroy();
});

describe('inbound mail listener (SMTP)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(() => h.server.stop());
  beforeEach(() => h.reset());

  it('takes mail from a real client and parses UTF-8 headers and body', async () => {
    const info = await transport(h.port).sendMail({
      from: { name: 'Zoë 👩‍💻 Ψ', address: 'zoe@sender.example' },
      to: 'Alice@EXAMPLE.org',
      subject: 'Grüße 🎉 — שלום עולם — مرحبا بالعالم',
      text: 'Hello 👋\nשלום\nمرحبا',
      html: '<p>Hello 👋</p>',
    });
    assert.deepEqual(h.checked, ['Alice@example.org']); // the domain lower-cased, not the local part
    assert.equal(h.deliveries.length, 1);
    const { mail, recipients } = h.deliveries[0];
    assert.deepEqual(recipients, ['Alice@example.org']);
    assert.equal(mail.envelopeFrom, 'zoe@sender.example');
    assert.deepEqual(mail.from, { address: 'zoe@sender.example', name: 'Zoë 👩‍💻 Ψ' });
    assert.equal(mail.subject, 'Grüße 🎉 — שלום עולם — مرحبا بالعالم');
    assert.equal(mail.text, 'Hello 👋\nשלום\nمرحبا');
    assert.equal(mail.messageId, info.messageId);
    assert.ok(mail.date instanceof Date);
    assert.deepEqual(mail.references, []);
    assert.equal(mail.autoSubmitted, false);
    assert.equal(mail.unreadable, false);
    assert.ok(mail.size > 200);
    assert.deepEqual(h.server.stats, { received: 1, rejected: 0, unreadable: 0 });

    const accepted = h.logs.filter((line) => line.msg === 'inbound mail accepted');
    assert.equal(accepted.length, 1);
    assert.equal(accepted[0].level, 30);
    assert.equal(accepted[0].from, 'zoe@sender.example');
    assert.deepEqual(accepted[0].recipients, ['Alice@example.org']);
    assert.equal(accepted[0].size, mail.size);
    const logged = JSON.stringify(h.logs);
    assert.ok(!logged.includes('Grüße') && !logged.includes('שלום'), 'no subject or body in the logs');
  });

  it('converts an html-only body to text', async () => {
    await transport(h.port).sendMail({
      from: 'zoe@sender.example',
      to: 'bob@example.org',
      subject: 'html',
      html: '<h1>Build</h1><p>The build is <b>green</b>.</p><script>alert(1)</script>',
    });
    assert.match(h.last().text, /The build is green\./);
    assert.doesNotMatch(h.last().text, /<|alert/);
  });

  it('parses the fixture replies of real clients', async () => {
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    assert.match(await wire.send('alice@gmail.example', ['alice@example.org'], await fixture('gmail-reply.eml')), /^250 /);
    assert.equal(h.last().subject, 'Re: New message from Bob 💬');
    assert.equal(h.last().inReplyTo, '<notify.42@chat.example.org>');
    assert.deepEqual(h.last().references, ['<notify.41@chat.example.org>', '<notify.42@chat.example.org>']);
    assert.match(h.last().text, /^Sounds good — see you at 3 🙂\n/);

    assert.match(await wire.send('dana@gmail.example', ['alice@example.org'], await fixture('hebrew-reply.eml')), /^250 /);
    assert.equal(h.last().subject, 'Re: הודעה חדשה מ-Bob');
    assert.deepEqual(h.last().from, { address: 'dana@gmail.example', name: 'דנה כהן' });
    assert.match(h.last().text, /^כן, נתראה מחר/);

    assert.match(await wire.send('alice@example.org', ['alice@example.org'], await fixture('outlook-html-only.eml')), /^250 /);
    assert.match(h.last().text, /^Ok, I'll call Bob\./);
    await wire.quit();
  });

  it('flags auto-submitted mail: Auto-Submitted, Precedence, the null sender', async () => {
    const send = (headers: Record<string, string>) =>
      transport(h.port).sendMail({ from: 'x@sender.example', to: 'bob@example.org', subject: 's', text: 't', headers });
    await send({ 'Auto-Submitted': 'auto-replied; owner-email="x@sender.example"' });
    assert.equal(h.last().autoSubmitted, true);
    await send({ Precedence: 'bulk' });
    assert.equal(h.last().autoSubmitted, true);
    await send({ 'Auto-Submitted': 'no' });
    assert.equal(h.last().autoSubmitted, false);

    const wire = await Wire.open(h.port);
    await wire.command('EHLO mailer-daemon.example');
    assert.match(await wire.send('', ['bob@example.org'], 'Subject: Undelivered Mail Returned to Sender\r\n\r\nbounce'), /^250 /);
    assert.equal(h.last().envelopeFrom, '');
    assert.equal(h.last().autoSubmitted, true);
    await wire.quit();
  });

  it('refuses an unknown recipient at RCPT with 550 5.1.1', async () => {
    const { rejected } = h.server.stats;
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    assert.match(await wire.command('MAIL FROM:<zoe@sender.example>'), /^250 /);
    assert.equal(await wire.command('RCPT TO:<nobody@Example.ORG>'), '550 5.1.1 No such user here');
    assert.match(await wire.command('RCPT TO:<bob@example.org>'), /^250 2\.1\.5 /);
    assert.match(await wire.command('DATA'), /^354 /);
    wire.socket.write('Subject: hi\r\n\r\nhello\r\n.\r\n');
    assert.match(await wire.reply(), /^250 2\.6\.0 /);
    assert.deepEqual(h.deliveries[0].recipients, ['bob@example.org']);
    const warning = h.logs.find((line) => line.level === 40 && line.rcpt === 'nobody@example.org');
    assert.ok(warning, 'a warning for the rejected recipient');
    assert.equal(warning.code, 550);
    assert.equal(h.server.stats.rejected, rejected + 1);
    await wire.quit();
  });

  it('relays nothing: no AUTH, foreign domains refused by checkRecipient', async () => {
    const wire = await Wire.open(h.port);
    const ehlo = await wire.command('EHLO client.example');
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.doesNotMatch(ehlo, /STARTTLS/); // no TLS configured
    assert.match(await wire.command('AUTH PLAIN AGFsaWNlAHNlY3JldA=='), /^5\d\d /);
    assert.match(await wire.command('MAIL FROM:<spammer@spam.example>'), /^250 /);
    assert.match(await wire.command('RCPT TO:<victim@elsewhere.example>'), /^550 /);
    assert.match(await wire.command('RCPT TO:<bob%example.org@elsewhere.example>'), /^550 /);
    assert.match(await wire.command('RCPT TO:<"bob@example.org"@elsewhere.example>'), /^5\d\d /);
    assert.match(await wire.command('DATA'), /^503 /); // no recipient
    await wire.quit();
    await assert.rejects(
      transport(h.port).sendMail({ from: 'spammer@spam.example', to: 'victim@elsewhere.example', subject: 's', text: 't' }),
      /550/,
    );
    assert.ok(h.checked.includes('victim@elsewhere.example'));
    assert.equal(h.deliveries.length, 0);
  });

  it('refuses mail over the size limit: announced with SIZE=, or sent', async () => {
    const wire = await Wire.open(h.port);
    assert.match(await wire.command('EHLO client.example'), new RegExp(`^250 SIZE ${MAX_SIZE}$`, 'm'));
    assert.match(await wire.command(`MAIL FROM:<zoe@sender.example> SIZE=${MAX_SIZE + 1}`), /^552 5\.3\.4 /);

    const big = `Subject: big\r\n\r\n${'0123456789abcdef'.repeat(60)}\r\n`.repeat(200); // ~195 kB
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org'], big), /^552 5\.3\.4 /);
    assert.equal(h.deliveries.length, 0);
    assert.ok(h.logs.some((line) => line.level === 40 && line.msg === 'inbound mail: message too big'));

    // The session goes on.
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org'], 'Subject: small\r\n\r\nok'), /^250 /);
    assert.equal(h.last().subject, 'small');
    await wire.quit();
  });

  it('answers 452 4.5.3 past the recipient limit', async () => {
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    await wire.command('MAIL FROM:<zoe@sender.example>');
    for (const user of LOCAL_USERS) assert.match(await wire.command(`RCPT TO:<${user}@example.org>`), /^250 /);
    assert.match(await wire.command('RCPT TO:<dave@example.org>'), /^452 4\.5\.3 /);
    await wire.quit();
  });

  it('accepts malformed MIME as best-effort text or unreadable, without failing', async () => {
    const { unreadable } = h.server.stats;
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    const send = async (message: string | Buffer): Promise<InboundMail> => {
      assert.match(await wire.send('mallory@evil.example', ['alice@example.org'], message), /^250 /);
      return h.last();
    };

    const broken = await send(await fixture('broken-boundary.eml'));
    assert.equal(broken.subject, 'Broken boundaries');
    assert.match(broken.text, /^The visible part\./);

    const charset = await send(await fixture('invalid-charset.eml'));
    assert.match(charset.subject, /^caf/);
    assert.match(charset.text, /au lait$/);
    assert.deepEqual(charset.from, { address: 'sender@example.net', name: '' }); // the name decoded to NULs

    // NUL bytes and bare LF line ends throughout.
    const nul = await send(Buffer.from('Subject: nul\0inside\nFrom: Eve <eve@evil.example>\n\nline\0one\nline two\n'));
    assert.equal(nul.subject, 'nul inside');
    assert.equal(nul.text, 'lineone\nline two');

    const nested = Array.from({ length: 300 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`);
    const deep = await send(`Subject: Deep\r\nMIME-Version: 1.0\r\n${nested.join('')}Content-Type: text/plain\r\n\r\ndeep\r\n`);
    assert.equal(deep.unreadable, true);
    assert.equal(deep.subject, 'Deep');

    const longHeader = await send(`Subject: long\r\nX-Filler: ${'a'.repeat(MAX_SIZE - 1000)}\r\n\r\nbody`);
    assert.deepEqual([longHeader.subject, longHeader.text, longHeader.unreadable], ['long', 'body', false]);
    const manyHeaders = Array.from({ length: 6000 }, (_, i) => `X-${i}: v\r\n`).join('');
    const hugeHead = await send(`Subject: huge\r\n${manyHeaders}\r\nbody`);
    assert.equal(hugeHead.unreadable, true);

    const deepHtml = await send(`Subject: html\r\nContent-Type: text/html\r\n\r\n${'<div>'.repeat(15_000)}deep`);
    assert.equal(deepHtml.subject, 'html');
    assert.equal(deepHtml.text, ''); // too deep to convert; still delivered

    assert.equal(h.server.stats.unreadable, unreadable + 2);
    assert.ok(h.deliveries.every(({ mail }) => !JSON.stringify(mail).includes('\\u0000')));
    await wire.quit();
  });

  it('does not end DATA at a bare-LF dot (no SMTP smuggling)', async () => {
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    const smuggled = 'Subject: one\r\n\r\nhello\n.\nMAIL FROM:<evil@evil.example>\nRCPT TO:<bob@example.org>\nDATA\nSubject: two\n';
    assert.match(await wire.send('mallory@evil.example', ['alice@example.org'], smuggled), /^250 /);
    await wire.quit();
    assert.equal(h.deliveries.length, 1);
    assert.deepEqual(h.deliveries[0].recipients, ['alice@example.org']);
    assert.match(h.last().text, /MAIL FROM:<evil@evil\.example>/);
  });

  it('keeps header injection attempts as text', async () => {
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    const message =
      'Subject: =?UTF-8?Q?Hi=0D=0ABcc:_victim@example.com=0D=0A=0D=0Abody?=\r\n' +
      'From: =?UTF-8?B?' + Buffer.from('Eve\r\nTo: victim@example.com').toString('base64') + '?= <eve@evil.example>\r\n\r\ntext';
    assert.match(await wire.send('eve@evil.example', ['alice@example.org'], message), /^250 /);
    await wire.quit();
    assert.equal(h.last().subject, 'Hi Bcc: victim@example.com body');
    assert.deepEqual(h.last().from, { address: 'eve@evil.example', name: 'Eve To: victim@example.com' });
  });

  it('answers 451 4.3.0 when checkRecipient throws, and logs it', async () => {
    h.checkRecipient = async () => {
      throw new Error('directory down');
    };
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    await wire.command('MAIL FROM:<zoe@sender.example>');
    assert.match(await wire.command('RCPT TO:<alice@example.org>'), /^451 4\.3\.0 /);
    await wire.quit();
    assert.ok(h.logs.some((line) => line.level === 50 && (line.err as { message: string }).message === 'directory down'));
  });

  it('answers 451 4.3.0 when deliver throws (the MTA retries), and logs it', async () => {
    h.deliver = async () => {
      throw new Error('queue down');
    };
    const rejected = h.server.stats.rejected;
    await assert.rejects(
      transport(h.port).sendMail({ from: 'zoe@sender.example', to: 'alice@example.org', subject: 's', text: 't' }),
      (err: { responseCode?: number; response?: string }) => err.responseCode === 451 && /^451 4\.3\.0 /.test(err.response ?? ''),
    );
    assert.ok(h.logs.some((line) => line.level === 50 && (line.err as { message: string }).message === 'queue down'));
    assert.equal(h.server.stats.rejected, rejected + 1);
  });

  it('answers DATA with the worst verdict, a temporary one before a permanent one', async () => {
    h.deliver = async () => [{ ok: true }, { ok: false, code: 550, message: 'Gone' }, { ok: false, code: 452, message: 'Mailbox full' }];
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    const reply = await wire.send('zoe@sender.example', ['alice@example.org', 'bob@example.org', 'carol@example.org'], 'Subject: s\r\n\r\nt');
    assert.equal(reply, '452 4.2.2 Mailbox full');
    await wire.quit();
    assert.ok(!h.logs.some((line) => line.msg === 'inbound mail accepted'));
    assert.equal(h.logs.filter((line) => line.msg === 'inbound mail: not delivered: Gone' || line.msg === 'inbound mail: not delivered: Mailbox full').length, 2);
  });

  it('keeps the first 64 KiB of text', async () => {
    const line = `${'abcdefghij'.repeat(7)}\n`;
    await transport(h.port).sendMail({ from: 'zoe@sender.example', to: 'alice@example.org', subject: 's', text: line.repeat(1200) });
    assert.ok(h.last().text.length <= 64 * 1024);
    assert.ok(h.last().text.startsWith(line.repeat(10)));
  });

  it('fails to start on a port in use, leaving nothing open', async () => {
    const second = new InboundMailServer({
      interfaces: ['127.0.0.1'],
      port: h.port,
      protocol: 'smtp',
      maxSize: MAX_SIZE,
      hostname: 'mx.example.org',
      log: createLogger({ level: 'silent', format: 'json' }),
      checkRecipient: localUsers,
      deliver: async () => [],
    });
    await assert.rejects(second.start(), /EADDRINUSE/);
    assert.deepEqual(second.addresses, []);
  });

  it('keeps serving after a client leaves in the middle of DATA', async () => {
    const wire = await Wire.open(h.port);
    await wire.command('EHLO client.example');
    await wire.command('MAIL FROM:<zoe@sender.example>');
    await wire.command('RCPT TO:<alice@example.org>');
    assert.match(await wire.command('DATA'), /^354 /);
    wire.socket.write('Subject: partial\r\n\r\nhalf a mess');
    await new Promise((resolve) => setTimeout(resolve, 50));
    wire.destroy();
    await until(() => h.logs.some((line) => line.msg === 'inbound mail: the client left before the end of the message'), 'the log line');

    await transport(h.port).sendMail({ from: 'zoe@sender.example', to: 'alice@example.org', subject: 'whole', text: 't' });
    assert.deepEqual(h.deliveries.map(({ mail }) => mail.subject), ['whole']);
  });
});

describe('inbound mail listener (STARTTLS)', () => {
  let h: Harness;
  let dir: string;
  const asked: Array<string | undefined> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-smtp-'));
    const contexts = new Map<string, tls.SecureContext>();
    for (const name of ['mx.example.org', 'mail.other.example']) {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.crt`);
      await promisify(execFile)('openssl', ['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert]);
      contexts.set(name, tls.createSecureContext({ key: await readFile(key), cert: await readFile(cert) }));
    }
    h = await startServer({
      tls: {
        context(servername) {
          asked.push(servername);
          return contexts.get(servername ?? '') ?? contexts.get('mx.example.org')!;
        },
      },
    });
  });
  after(async () => {
    await h.server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => h.reset());

  it('offers STARTTLS (still no AUTH) with the default certificate for clients without SNI', async () => {
    const plain = await Wire.open(h.port);
    const ehlo = await plain.command('EHLO client.example');
    assert.match(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/);
    const { wire, cn } = await plain.startTls();
    assert.equal(cn, 'mx.example.org'); // not smtp-server's built-in certificate
    assert.doesNotMatch(await wire.command('EHLO client.example'), /AUTH|STARTTLS/);
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org'], 'Subject: secret\r\n\r\nt'), /^250 /);
    await wire.quit();
    assert.equal(h.last().subject, 'secret');
  });

  it('picks the certificate by SNI name', async () => {
    const plain = await Wire.open(h.port);
    await plain.command('EHLO client.example');
    const { wire, cn } = await plain.startTls('mail.other.example');
    assert.equal(cn, 'mail.other.example');
    assert.ok(asked.includes('mail.other.example'));
    await wire.quit();
  });

  it('takes mail from a client that requires TLS', async () => {
    await transport(h.port, { requireTLS: true }).sendMail({ from: 'zoe@sender.example', to: 'bob@example.org', subject: 'tls', text: 't' });
    assert.equal(h.last().subject, 'tls');
  });
});

describe('inbound mail listener (LMTP)', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ protocol: 'lmtp' });
  });
  after(() => h.server.stop());
  beforeEach(() => h.reset());

  async function lmtp(): Promise<Wire> {
    const wire = await Wire.open(h.port);
    assert.match(await wire.command('EHLO client.example'), /^500 /);
    assert.match(await wire.command('LHLO client.example'), /^250[- ]/);
    return wire;
  }

  it('answers each recipient separately', async () => {
    h.deliver = async () => [{ ok: true }, { ok: false, code: 452, message: 'Mailbox full' }];
    const wire = await lmtp();
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org', 'bob@example.org'], 'Subject: s\r\n\r\nt'), /^250 2\.6\.0 /);
    assert.equal(await wire.reply(), '452 4.2.2 Mailbox full');
    assert.match(await wire.command('NOOP'), /^250 /); // nothing more was pending
    await wire.quit();
    const accepted = h.logs.find((line) => line.msg === 'inbound mail accepted');
    assert.deepEqual(accepted?.recipients, ['alice@example.org']);
    assert.ok(h.logs.some((line) => line.level === 40 && line.rcpt === 'bob@example.org'));
  });

  it('refuses an oversized message once per recipient', async () => {
    const wire = await lmtp();
    const big = `Subject: big\r\n\r\n${'x'.repeat(MAX_SIZE)}`;
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org', 'bob@example.org'], big), /^552 5\.3\.4 /);
    assert.match(await wire.reply(), /^552 5\.3\.4 /);
    await wire.quit();
    assert.equal(h.deliveries.length, 0);
  });

  it('fails every recipient with 451 4.3.0 when deliver throws', async () => {
    h.deliver = async () => {
      throw new Error('queue down');
    };
    const wire = await lmtp();
    assert.match(await wire.send('zoe@sender.example', ['alice@example.org', 'bob@example.org'], 'Subject: s\r\n\r\nt'), /^451 4\.3\.0 /);
    assert.match(await wire.reply(), /^451 4\.3\.0 /);
    await wire.quit();
  });
});

describe('inbound mail parse workers', () => {
  /** The real parse worker behind a test double that crashes or hangs on an `X-Test:` header. */
  const hostileWorker = new URL(`data:text/javascript,${encodeURIComponent(`
    import { parentPort } from 'node:worker_threads';
    parentPort.on('message', ({ bytes, length }) => {
      const message = Buffer.from(bytes, 0, length).toString('latin1');
      if (message.includes('X-Test: crash')) throw new Error('crash on request');
      if (message.includes('X-Test: hang')) for (;;);
    });
    await import(${JSON.stringify(new URL('../gateways/smtp/parse-worker.js', import.meta.url).href)});
  `)}`);
  /** A message in an ArrayBuffer of its own, as the listener hands it over. */
  const message = (text: string): [ArrayBuffer, number] => {
    const bytes = Buffer.from(text);
    const owned = new ArrayBuffer(bytes.length);
    bytes.copy(Buffer.from(owned));
    return [owned, bytes.length];
  };
  const quiet = createLogger({ level: 'silent', format: 'json' });

  it('takes a message whose parsing overruns the time limit as unreadable, and keeps serving', async () => {
    const h = await startServer({ parseWorkers: 1, parseTimeoutMs: 25, maxSize: 2_000_000 });
    try {
      const wire = await Wire.open(h.port);
      await wire.command('EHLO client.example');
      // ~900 kB of HTML: some 200 ms of parsing and conversion to text.
      const rows = '<tr><td class="x">Cell <b>bold</b> &amp; text</td><td><a href="http://example.org/a">link</a></td></tr>\r\n'.repeat(9000);
      const slow = `Subject: slow\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<table>\r\n${rows}</table>`;
      assert.match(await wire.send('zoe@sender.example', ['alice@example.org'], slow), /^250 /);
      assert.equal(h.last().unreadable, true);
      assert.equal(h.last().size, Buffer.byteLength(slow) + 2);
      assert.deepEqual(h.server.stats, { received: 1, rejected: 0, unreadable: 1 });

      assert.match(await wire.send('zoe@sender.example', ['bob@example.org'], 'Subject: next\r\n\r\nok'), /^250 /);
      assert.equal(h.deliveries.length, 2);
      assert.deepEqual(h.deliveries[1].recipients, ['bob@example.org']);
      await wire.quit();
    } finally {
      await h.server.stop();
    }
  });

  it('answers unreadable for a worker that crashes or hangs, and replaces it', async () => {
    const logs: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const pool = new ParsePool({ size: 1, timeoutMs: 200, log: createLogger({ level: 'warn', format: 'json' }, sink), workerUrl: hostileWorker });
    await pool.start();
    try {
      const ok = await pool.parse(...message('Subject: first\r\n\r\nbody\r\n'));
      assert.deepEqual([ok.subject, ok.text, ok.unreadable], ['first', 'body', false]);

      const crashed = await pool.parse(...message('Subject: crash\r\nX-Test: crash\r\n\r\nbody\r\n'));
      assert.deepEqual(crashed, { subject: '', text: '', references: [], autoSubmitted: false, unreadable: true });
      const hung = await pool.parse(...message('Subject: hang\r\nX-Test: hang\r\n\r\nbody\r\n'));
      assert.equal(hung.unreadable, true);

      // The replacement worker parses the next messages, these two waiting in the queue meanwhile.
      const [a, b] = await Promise.all([
        pool.parse(...message('Subject: after\r\nFrom: Bob <bob@example.net>\r\n\r\nstill here\r\n')),
        pool.parse(...message('Subject: and after\r\n\r\nstill\r\n')),
      ]);
      assert.deepEqual([a.subject, a.from, a.text, a.unreadable], ['after', { address: 'bob@example.net', name: 'Bob' }, 'still here', false]);
      assert.equal(b.subject, 'and after');
      assert.deepEqual(pool.stats, { parsed: 3, crashed: 1, timedOut: 1 });
      assert.ok(logs.some((line) => line.level === 50 && (line.err as { message?: string }).message === 'crash on request'));
      assert.ok(logs.some((line) => line.level === 40 && /overran the time limit/.test(String(line.msg))));
    } finally {
      await pool.close();
    }
  });

  it('bounds the queue, and refuses what waits when closed', async () => {
    const pool = new ParsePool({ size: 1, timeoutMs: 30_000, queueLimit: 1, log: quiet, workerUrl: hostileWorker });
    await pool.start();
    const hanging = pool.parse(...message('X-Test: hang\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 20)); // taken by the worker
    const waiting = pool.parse(...message('Subject: waits\r\n\r\n'));
    await assert.rejects(pool.parse(...message('Subject: one too many\r\n\r\n')), ParsePoolUnavailable);
    const refused = Promise.allSettled([hanging, waiting]);
    await pool.close();
    for (const outcome of await refused) assert.ok(outcome.status === 'rejected' && outcome.reason instanceof ParsePoolUnavailable);
    await assert.rejects(pool.parse(...message('Subject: late\r\n\r\n')), ParsePoolUnavailable);
  });

  it('fails to start when the worker cannot load', async () => {
    const broken = new URL(`data:text/javascript,${encodeURIComponent('throw new Error("cannot load");')}`);
    await assert.rejects(new ParsePool({ size: 2, log: quiet, workerUrl: broken }).start(), /cannot load/);
  });
});
