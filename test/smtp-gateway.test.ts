// The SMTP gateway end to end, with a real Postfix on loopback: offline chats from xmpp.js
// clients become emails in Postfix mailboxes; mail through Postfix becomes headlines and,
// for replies to notifications, chats; the relay failing leaves dead letters, never losses.
import assert from 'node:assert/strict';
import { simpleParser, type ParsedMail } from 'mailparser';
import { writePrefs } from '../src/core/notification-prefs.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { freePort } from './support/ports.js';
import { startPostfix, type Postfix } from './support/postfix.js';
import { sync } from './support/stanzas.js';

const MAILBOXES = 'example.test';

function gatewayYaml(relayPort: number, inboundPort: number, hostSettings = ''): string {
  return `smtp:
  relay: { host: 127.0.0.1, port: ${relayPort}, tls: none, timeout: 5 }
  retry: { attempts: 3, initial_delay: 0.2, max_delay: 0.5 }
  inbound: { interfaces: ["127.0.0.1"], port: ${inboundPort} }
hosts:
  - domain: localhost
    require_encryption: optional
    notifications: { delay: 1, digest_window: 2 }
${hostSettings}`;
}

const chat = (to: string, body: string, id?: string): Element => xml('message', { to, type: 'chat', ...(id ? { id } : {}) }, xml('body', {}, body));

async function parsed(raw: string[]): Promise<ParsedMail[]> {
  return Promise.all(raw.map((r) => simpleParser(r)));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SMTP gateway with Postfix', function () {
  this.timeout(60_000);
  let postfix: Postfix;
  let inboundPort = 0;

  before(async () => {
    inboundPort = await freePort();
    postfix = await startPostfix({
      mailboxDomains: [MAILBOXES],
      transports: { 'mail.localhost': `smtp:[127.0.0.1]:${inboundPort}` },
      recipientBcc: { 'carol@example.test': 'carol@mail.localhost', 'dave@example.test': 'dave@mail.localhost' },
    });
  });
  after(async () => {
    await postfix?.stop();
  });

  const suite = useHub({
    yaml: () => gatewayYaml(postfix.port, inboundPort, '    mail: { archive_addresses: [archive@example.test], archive_interval: 10 }\n'),
    users: ['carol', 'dave'],
  });
  const kv = () => suite.hub.hub.store.kv;

  /** A fresh pair: the sender logged in, the recipient offline with a mail address. */
  async function pair(): Promise<{ alice: TestClient; bob: string; mailbox: string }> {
    const alice = await suite.login(await suite.account('alice'));
    const bob = await suite.account('bob');
    const mailbox = `${bob}@${MAILBOXES}`;
    await writePrefs(kv(), 'localhost', bob, { email: mailbox });
    return { alice, bob, mailbox };
  }

  it('mails a digest of the chats a user missed: sender named, messages in order, UTF-8, reply address and IM headers', async () => {
    const { alice, bob, mailbox } = await pair();
    await alice.send(chat(`${bob}@localhost`, 'see you at 5 🎉'));
    await alice.send(chat(`${bob}@localhost`, 'שלום, مرحبا\nsecond line'));
    const [mail] = await parsed(await postfix.waitForMail(mailbox, 1, 15_000));
    const aliceBare = alice.jid.split('/')[0]!;
    assert.equal(mail!.from?.value[0]?.address, 'im-notify@localhost');
    assert.equal(mail!.from?.value[0]?.name, `${aliceBare.split('@')[0]} via IM`);
    assert.match(mail!.subject ?? '', /^2 messages from alice\d+$/);
    const text = mail!.text ?? '';
    assert.ok(text.indexOf('see you at 5 🎉') < text.indexOf('שלום, مرحبا'), 'messages in order, intact');
    assert.match(text, /\[\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC\] see you at 5/);
    assert.match(mail!.html || '', /<td dir="auto" style="white-space:pre-wrap">שלום, مرحبا\nsecond line<\/td>/);
    assert.match(text, /http:\/\/localhost:\d+\/chat\/|https:\/\/localhost:\d+\/chat\//, 'a link to the web client');
    assert.match(mail!.replyTo?.value[0]?.address ?? '', /^reply-[a-z2-7]{20}@mail\.localhost$/);
    assert.equal(mail!.headers.get('x-im-from'), aliceBare);
    assert.equal(mail!.headers.get('x-im-to'), `${bob}@localhost`);
    assert.equal(mail!.headers.get('auto-submitted'), 'auto-generated');
    assert.match(mail!.messageId ?? '', /^<[0-9a-f]{32}@mail\.localhost>$/);
    assert.match(String(mail!.references ?? ''), /conversation\.[a-z2-7]{20}@mail\.localhost/);

    // Later messages of the conversation wait for the digest window and join one email.
    await alice.send(chat(`${bob}@localhost`, 'third'));
    await alice.send(chat(`${bob}@localhost`, 'fourth'));
    const both = await parsed(await postfix.waitForMail(mailbox, 2, 15_000));
    assert.match(both[1]!.text ?? '', /third[\s\S]*fourth/);
    assert.equal(both[1]!.replyTo?.value[0]?.address, mail!.replyTo?.value[0]?.address, 'one reply address per conversation');
    await sleep(2500);
    assert.equal((await postfix.mailbox(mailbox)).length, 2, 'no further email');
  });

  it('sends nothing when the user comes back and reads the messages before the digest', async () => {
    const { alice, bob, mailbox } = await pair();
    await alice.send(chat(`${bob}@localhost`, 'quick question', 'q1'));
    await sync(alice);
    const back = await suite.login(bob);
    await back.waitFor((el) => el.attrs.id === 'q1');
    await sleep(2500);
    assert.deepEqual(await postfix.mailbox(mailbox), []);
  });

  it('follows the preference and ignores chat states and messages without a body', async () => {
    const { alice, bob, mailbox } = await pair();
    await writePrefs(kv(), 'localhost', bob, { email: mailbox, offline: 'none' });
    await alice.send(chat(`${bob}@localhost`, 'you will not hear of this'));
    const other = await suite.account('bob');
    const otherMailbox = `${other}@${MAILBOXES}`;
    await writePrefs(kv(), 'localhost', other, { email: otherMailbox });
    await alice.send(xml('message', { to: `${other}@localhost`, type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await alice.send(xml('message', { to: `${other}@localhost`, type: 'chat' }, xml('subject', {}, 'only a subject')));
    await alice.send(xml('message', { to: `${other}@localhost`, type: 'headline' }, xml('body', {}, 'headlines are not stored')));
    await sleep(2500);
    assert.deepEqual(await postfix.mailbox(mailbox), []);
    assert.deepEqual(await postfix.mailbox(otherMailbox), []);
  });

  it('turns a reply to the notification into a chat from the user, without the quote and signature', async () => {
    const { alice, bob, mailbox } = await pair();
    await alice.send(chat(`${bob}@localhost`, 'are you coming?'));
    const [mail] = await parsed(await postfix.waitForMail(mailbox, 1, 15_000));
    const replyTo = mail!.replyTo!.value[0]!.address!;
    const sent = await postfix.send({
      from: mailbox,
      to: replyTo,
      headers: { Subject: `Re: ${mail!.subject}`, 'In-Reply-To': mail!.messageId! },
      body: 'Yes, on my way!\n\nOn Tue, 24 Nov 2026 at 14:02, Alice via IM <im-notify@localhost> wrote:\n> are you coming?\n\n-- \nBob, sent from the road',
    });
    assert.equal(sent.code, 0, sent.output);
    const answer = await alice.waitFor((el) => el.is('message') && el.getChildText('body') !== null && el.attrs.from?.startsWith(`${bob}@localhost`) === true, 15_000);
    assert.equal(answer.getChildText('body'), 'Yes, on my way!');
    assert.equal(answer.attrs.type, 'chat');
  });

  it('refuses replies from another address than the user\'s', async () => {
    const { alice, bob, mailbox } = await pair();
    await alice.send(chat(`${bob}@localhost`, 'secret plans'));
    const [mail] = await parsed(await postfix.waitForMail(mailbox, 1, 15_000));
    const replyTo = mail!.replyTo!.value[0]!.address!;
    await postfix.send({ from: 'mallory@example.test', to: replyTo, headers: { From: `Bob <${mailbox}>`, Subject: 'Re: plans' }, body: 'forged' });
    await waitUntil(async () => /Replies are accepted only from/.test(await postfix.log()), 15_000);
    await sync(alice);
    assert.equal(alice.received.filter((el) => el.getChildText('body') === 'forged').length, 0);
    const refused = suite.hub.logs.find((l) => l.msg === 'reply by email refused: not from the user\'s address');
    assert.ok(refused, 'the refusal is logged');
  });

  it('announces arriving mail to the user online, as a headline with sender, subject and a snippet', async () => {
    const carol = await suite.login('carol');
    const sent = await postfix.send({
      from: 'erin@example.test',
      to: 'carol@example.test',
      headers: { From: 'Erin <erin@example.test>', Subject: 'Quarterly <b>report</b> \u202Egnp.exe' },
      body: `Hi Carol,\n\nthe numbers are in. ${'Long text. '.repeat(100)}\n\n-- \nErin`,
    });
    assert.equal(sent.code, 0, sent.output);
    const headline = await carol.waitFor((el) => el.is('message') && el.attrs.type === 'headline', 15_000);
    assert.equal(headline.attrs.from, 'mail.localhost');
    const body = headline.getChildText('body') ?? '';
    assert.match(body, /^New mail from Erin <erin@example\.test>\nSubject: Quarterly <b>report<\/b> gnp\.exe\n\nHi Carol, the numbers are in\./);
    assert.ok(!body.includes('\u202E'), 'bidi override removed');
    assert.ok(body.length < 450, 'a snippet, not the whole mail');
    assert.equal((await postfix.mailbox('carol@example.test')).length, 1, 'the mail itself was delivered to the mailbox');
  });

  it('announces only mail from roster contacts under the "contacts" rule', async () => {
    await writePrefs(kv(), 'localhost', 'dave', { mail_arrival: 'contacts' });
    await suite.hub.hub.store.rosters.put('localhost', 'dave', { jid: 'frank@example.test', subscription: 'both', groups: [] });
    const dave = await suite.login('dave');
    await postfix.send({ from: 'stranger@example.test', to: 'dave@example.test', headers: { Subject: 'spam' }, body: 'buy now' });
    await postfix.send({ from: 'frank@example.test', to: 'dave@example.test', headers: { Subject: 'lunch?' }, body: 'at noon' });
    const headline = await dave.waitFor((el) => el.attrs.type === 'headline', 15_000);
    assert.match(headline.getChildText('body') ?? '', /frank@example\.test[\s\S]*lunch\?/);
    await postfix.waitForMail('dave@example.test', 2, 15_000);
    await sync(dave);
    assert.equal(dave.received.filter((el) => el.attrs.type === 'headline').length, 1);
  });

  it('archives conversations as emails to the archive address', async () => {
    const alice = await suite.login(await suite.account('alice'));
    const bob = await suite.login(await suite.account('bob'));
    await alice.send(chat(bob.jid, 'archived hello'));
    await bob.waitFor((el) => el.getChildText('body') === 'archived hello');
    await bob.send(chat(alice.jid, 'archived answer'));
    await alice.waitFor((el) => el.getChildText('body') === 'archived answer');
    await waitUntil(async () => (await postfix.mailbox('archive@example.test')).some((raw) => raw.includes('archived hello')), 30_000);
    const archived = await parsed(await postfix.mailbox('archive@example.test'));
    const transcript = archived.find((m) => m.text?.includes('archived hello'));
    assert.ok(transcript, 'the conversation was archived');
    assert.deepEqual(transcript.to && 'value' in transcript.to ? transcript.to.value.map((a) => a.address) : [], ['archive@example.test']);
    assert.equal(transcript.headers.get('x-im-thread') !== undefined, true);
    assert.match(transcript.subject ?? '', /^IM conversation: alice\d+@localhost and bob\d+@localhost/);
    assert.ok(transcript.text!.indexOf('archived hello') < transcript.text!.indexOf('archived answer'));
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(200);
  }
}
