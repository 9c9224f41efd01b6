// The private Postfix of test/support/postfix.ts, used the way the SMTP gateway tests will use it:
// local Maildir delivery, hand-off to a loopback SMTP server over a transport, recipient_bcc_maps,
// and deferral + retry when the transport target is down.
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './support/ports.js';
import { startPostfix, type Postfix } from './support/postfix.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A loopback SMTP server collecting what it is given (STARTTLS offered with smtp-server's own certificate). */
class Sink {
  readonly messages: Received[] = [];
  private server: SMTPServer | undefined;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      banner: 'test sink',
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const from = session.envelope.mailFrom;
          this.messages.push({
            from: from ? from.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits (bounded) until a message for `address` has arrived. */
  async waitFor(address: string, timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((message) => message.to.includes(address));
      if (found) return found;
      if (Date.now() >= deadline) throw new Error(`no message for ${address} at the sink on port ${this.port} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('Postfix test harness', function () {
  this.timeout(30_000);

  let postfix: Postfix;
  let sink: Sink;
  let downSink: Sink;

  before(async () => {
    sink = new Sink(await freePort());
    await sink.start();
    // Nothing listens here until the deferral test starts it.
    downSink = new Sink(await freePort());
    postfix = await startPostfix({
      mailboxDomains: ['mail.test'],
      transports: {
        'gateway.test': `smtp:[127.0.0.1]:${sink.port}`,
        'down.test': `smtp:[127.0.0.1]:${downSink.port}`,
      },
      recipientBcc: { 'watched@gateway.test': 'archive@mail.test' },
    });
  });

  after(async () => {
    await postfix?.stop();
    await sink?.stop();
    await downSink?.stop();
  });

  it('stores mail for a mailbox domain with subject and UTF-8 body intact', async () => {
    assert.equal(postfix.host, '127.0.0.1');
    assert.ok(postfix.port > 0);
    const subject = 'Grüße aus dem Test ✓';
    const body = 'Héllo wörld — 日本語 ✓';
    const result = await postfix.send({ from: 'sender@elsewhere.test', to: 'Alice@mail.test', headers: { Subject: subject }, body });
    assert.equal(result.code, 0, result.output);

    const [raw] = await postfix.waitForMail('alice@mail.test');
    assert.match(raw, /^Delivered-To: Alice@mail\.test$/m);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, subject);
    assert.equal(parsed.text?.trim(), body);
    assert.deepEqual(await postfix.mailbox('bob@mail.test'), [], 'other addresses of the domain get nothing');

    const raw2 = 'From: <sender@elsewhere.test>\nTo: <alice@mail.test>\nSubject: second\nMessage-ID: <two@elsewhere.test>\n\nsecond body\n';
    assert.equal((await postfix.send({ from: 'sender@elsewhere.test', to: 'alice@mail.test', data: raw2 })).code, 0);
    const both = await postfix.waitForMail('alice@mail.test', 2);
    assert.equal(both.length, 2);
    assert.match(both[1], /^Subject: second$/m, 'oldest first');
  });

  it('hands mail for a transport domain to the loopback SMTP server and copies a bcc recipient', async () => {
    const result = await postfix.send({ from: 'sender@elsewhere.test', to: 'watched@gateway.test', headers: { Subject: 'to the gateway' }, body: 'über' });
    assert.equal(result.code, 0, result.output);

    const received = await sink.waitFor('watched@gateway.test');
    assert.equal(received.from, 'sender@elsewhere.test');
    const parsed = await simpleParser(received.raw);
    assert.equal(parsed.subject, 'to the gateway');
    assert.equal(parsed.text?.trim(), 'über');

    const [copy] = await postfix.waitForMail('archive@mail.test');
    assert.equal((await simpleParser(copy)).subject, 'to the gateway');
    assert.match(await postfix.log(), /to=<watched@gateway\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.*status=sent/);
  });

  it('defers mail while the transport target is down and delivers it after flush()', async () => {
    const result = await postfix.send({ from: 'sender@elsewhere.test', to: 'late@down.test', headers: { Subject: 'late' }, body: 'retry me' });
    assert.equal(result.code, 0, result.output);

    const deadline = Date.now() + 10_000;
    while (!/to=<late@down\.test>.*status=deferred/.test(await postfix.log())) {
      assert.ok(Date.now() < deadline, `no deferral logged:\n${await postfix.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(downSink.messages.length, 0);

    await downSink.start();
    await postfix.flush();
    const received = await downSink.waitFor('late@down.test');
    assert.equal((await simpleParser(received.raw)).subject, 'late');
  });

  it('stop() is safe to call twice', async () => {
    const other = await startPostfix({ mailboxDomains: ['other.test'] });
    await other.stop();
    await other.stop();
  });
});
