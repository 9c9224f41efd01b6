// The relay failing: temporary refusals are retried until the mail goes through, once;
// permanent refusals and a relay that stays down leave dead letters the operator sees and can
// send again. Nothing is lost.
import assert from 'node:assert/strict';
import { writePrefs } from '../src/core/notification-prefs.js';
import type { DeadJob } from '../src/queue/port.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';
import { freePort } from './support/ports.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SMTP gateway: the relay failing', function () {
  this.timeout(30_000);
  let relayPort = 0;
  let sink: SmtpSink | undefined;

  before(async () => {
    relayPort = await freePort();
  });
  afterEach(async () => {
    await sink?.stop();
    sink = undefined;
  });

  const suite = useHub({
    yaml: () => `smtp:
  relay: { host: 127.0.0.1, port: ${relayPort}, tls: none, timeout: 2 }
  retry: { attempts: 3, initial_delay: 0.2, max_delay: 0.4 }
  inbound: { port: null }
hosts:
  - domain: localhost
    require_encryption: optional
    notifications: { delay: 0, digest_window: 0 }
`,
  });
  const queue = () => suite.hub.hub.queue;

  async function notifyOffline(body: string): Promise<{ alice: TestClient; mailbox: string }> {
    const alice = await suite.login(await suite.account('alice'));
    const bob = await suite.account('bob');
    const mailbox = `${bob}@example.test`;
    await writePrefs(suite.hub.hub.store.kv, 'localhost', bob, { email: mailbox });
    await alice.send(xml('message', { to: `${bob}@localhost`, type: 'chat' }, xml('body', {}, body)));
    return { alice, mailbox };
  }

  async function deadLetter(mailbox: string): Promise<DeadJob> {
    for (let i = 0; i < 100; i++) {
      const dead = (await queue().deadLetters('smtp')).find((job) => (job.payload as { to: string[] }).to.includes(mailbox));
      if (dead) return dead;
      await sleep(100);
    }
    throw new Error(`no dead letter for ${mailbox}`);
  }

  async function delivered(mailbox: string): Promise<number> {
    for (let i = 0; i < 100 && !sink!.accepted.some((m) => m.to && JSON.stringify(m.to).includes(mailbox)); i++) await sleep(100);
    return sink!.accepted.filter((m) => JSON.stringify(m.to).includes(mailbox)).length;
  }

  it('retries temporary refusals and sends the mail once', async () => {
    sink = await startSmtpSink(relayPort);
    sink.script({ code: 451, message: '4.3.0 try later' }, { code: 421, message: '4.4.2 busy' });
    const { mailbox } = await notifyOffline('after two refusals');
    assert.equal(await delivered(mailbox), 1);
    await sleep(500);
    assert.equal(sink.accepted.filter((m) => JSON.stringify(m.to).includes(mailbox)).length, 1, 'sent once');
    assert.equal(sink.attempts, 3);
    assert.ok(suite.hub.logs.some((l) => l.level === 40 && /451/.test(String((l.err as { message?: string } | undefined)?.message ?? l.error ?? ''))),
      'each retry is logged');
  });

  it('dead-letters a mail the relay refuses for good, and sends it when the operator retries', async () => {
    sink = await startSmtpSink(relayPort);
    sink.script({ code: 550, message: '5.7.1 relaying denied' });
    const { mailbox } = await notifyOffline('refused for good');
    const dead = await deadLetter(mailbox);
    assert.equal(dead.attempts, 1, 'no retry after a 5xx');
    assert.match(dead.error, /550|relaying denied/);
    const counts = (await queue().counts()).find((c) => c.destination === 'smtp')!;
    assert.ok(counts.dead >= 1);
    assert.ok(suite.hub.logs.some((l) => l.level === 50 && l.id === dead.id), 'the dead letter is logged as an error');

    assert.equal(await queue().retry('smtp', dead.id), true);
    assert.equal(await delivered(mailbox), 1);
  });

  it('keeps mail while the relay is down, then dead-letters it; nothing is lost', async () => {
    const { mailbox } = await notifyOffline('relay down');
    const dead = await deadLetter(mailbox);
    assert.equal(dead.attempts, 3);
    sink = await startSmtpSink(relayPort);
    assert.equal(await queue().retry('smtp', dead.id), true);
    assert.equal(await delivered(mailbox), 1);
    const mail = sink.accepted.find((m) => JSON.stringify(m.to).includes(mailbox))!;
    assert.match(mail.text ?? '', /relay down/);
  });
});
