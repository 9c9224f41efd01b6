// The SMS gateway end to end: xmpp.js clients chat with phone numbers through the hub, and an
// SMSC simulator running as its own process (test/support/smsc-simulator.ts) receives the
// submit_sm, sends SMS and delivery receipts, throttles and drops the link on command.
import assert from 'node:assert/strict';
import { writePrefs } from '../src/core/notification-prefs.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { startSmsc, type Smsc } from './support/smsc.js';
import { stanzaErrorCondition } from './support/stanzas.js';

const SMS = 'sms.localhost';
const SENDER = '+40700000001';
const RECEIPTS = 'urn:xmpp:receipts';

type SubmitEvent = Record<string, unknown> & { destination_addr: string; data_coding: number; short_message_hex: string };

const chat = (to: string, body: string, id: string, receipt = false): Element =>
  xml('message', { to, type: 'chat', id }, xml('body', {}, body), ...(receipt ? [xml('request', { xmlns: RECEIPTS })] : []));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An SMSC simulator process for the enclosing describe block, and the hub's `sms` section
 * bound to it (short keepalive, timeouts and retries), followed by `hosts` YAML.
 */
function useSmsc(hostsYaml: string, link = ''): { smsc: () => Smsc; yaml: () => string } {
  let smsc: Smsc | undefined;
  before(async () => {
    smsc = await startSmsc({ systemId: 'switchboard', password: 'secret' });
  });
  after(async () => {
    await smsc?.stop();
  });
  return {
    smsc: () => smsc!,
    yaml: () => `sms:
  smsc: [{ host: 127.0.0.1, port: ${smsc!.port}, system_id: switchboard, password: secret }]
  enquire_link: 2
  response_timeout: 3
  reconnect: { min_delay: 0.2, max_delay: 0.5 }
  retry: { attempts: 10, initial_delay: 0.2, max_delay: 0.5 }
${link}${hostsYaml}`,
  };
}

describe('SMS gateway with an SMSC simulator', function () {
  this.timeout(60_000);
  const peer = useSmsc(`hosts:
  - domain: localhost
    require_encryption: optional
    notifications: { delay: 1, digest_window: 2 }
    sms:
      default_country: RO
      sender: "${SENDER}"
      user_rate: 5
      deny_prefixes: ["+40900"]
      keywords: [{ keyword: HELPDESK, user: helpdesk }]
`, '  window: 5\n  throughput: 0\n');
  let smsc: Smsc;
  before(() => {
    smsc = peer.smsc();
  });

  const suite = useHub({
    yaml: peer.yaml,
    users: ['helpdesk'],
  });

  const submitsTo = (digits: string) => (smsc.submits() as unknown as SubmitEvent[]).filter((s) => s.destination_addr === digits && s.command_status === 0);
  async function waitForSubmits(digits: string, count: number): Promise<SubmitEvent[]> {
    await smsc.waitFor(() => submitsTo(digits).length >= count, 15_000);
    return submitsTo(digits);
  }
  const login = async (): Promise<TestClient> => suite.login(await suite.account('alice'));

  it('sends a chat to a number as submit_sm: E.164 destination, the host\'s sender, GSM for Latin text', async () => {
    const alice = await login();
    await alice.send(chat(`+40723555001@${SMS}`, 'Hello from the chat, €5 [ok]', 'a1'));
    const [submit] = await waitForSubmits('40723555001', 1);
    assert.equal(submit!.dest_addr_ton, 1);
    assert.equal(submit!.dest_addr_npi, 1);
    assert.equal(submit!.source_addr, '40700000001');
    assert.equal(submit!.data_coding, 0);
    assert.ok(submit!.short_message_hex.includes('1b65'), 'the euro sign as the GSM escape sequence');
  });

  it('uses UCS-2 for Cyrillic and emoji and splits long texts with a concatenation header', async () => {
    const alice = await login();
    await alice.send(chat(`0723555002@${SMS}`, 'Привет 👋', 'c1'));
    const [cyrillic] = await waitForSubmits('40723555002', 1);
    assert.equal(cyrillic!.data_coding, 8);
    assert.equal(Buffer.from(cyrillic!.short_message_hex, 'hex').toString('utf16le').length > 0, true);

    await alice.send(chat(`+40723555003@${SMS}`, 'x'.repeat(200), 'long'));
    const parts = await waitForSubmits('40723555003', 2);
    assert.equal(parts.length, 2);
    for (const part of parts) assert.ok((part.esm_class as number) & 0x40, 'UDHI set');
  });

  it('turns delivery receipts into XEP-0184 receipts, and failed ones into errors with the reason', async () => {
    const alice = await login();
    await smsc.command({ cmd: 'auto_receipt', on: true, stat: 'DELIVRD' });
    await alice.send(chat(`+40723555004@${SMS}`, 'did you get this?', 'r1', true));
    const received = await alice.waitFor((el) => el.getChild('received', RECEIPTS)?.attrs.id === 'r1', 15_000);
    assert.equal(received.attrs.from, `+40723555004@${SMS}`);

    await smsc.command({ cmd: 'auto_receipt', on: true, stat: 'UNDELIV' });
    await alice.send(chat(`+40723555005@${SMS}`, 'anyone there?', 'r2', true));
    const error = await alice.waitFor((el) => el.attrs.type === 'error' && el.attrs.id === 'r2', 15_000);
    assert.equal(stanzaErrorCondition(error), 'recipient-unavailable');
    assert.match(error.getChild('error')?.getChildText('text') ?? '', /UNDELIV/);
    await smsc.command({ cmd: 'auto_receipt', on: false });
  });

  it('retries an SMS the SMSC throttles, and sends it once', async () => {
    const alice = await login();
    await smsc.command({ cmd: 'throttle', count: 2 });
    await alice.send(chat(`+40723555006@${SMS}`, 'throttled once or twice', 't1'));
    await waitForSubmits('40723555006', 1);
    await sleep(1000);
    const tries = smsc.submits().filter((e) => e.destination_addr === '40723555006');
    assert.equal(tries.length, 3, 'refused twice, then taken');
    assert.equal(submitsTo('40723555006').length, 1, 'accepted once');
  });

  it('keeps SMS sent while the SMSC is away and sends them after reconnecting', async () => {
    const alice = await login();
    await smsc.stop();
    await alice.send(chat(`+40723555007@${SMS}`, 'sent during the outage', 'o1'));
    await sleep(500);
    await smsc.restart();
    const [submit] = await waitForSubmits('40723555007', 1);
    assert.ok(submit);
    const status = suite.hub.hub.gateways.find((g) => g.name === 'sms')!.status!();
    assert.match(status.summary, /bound/);
  });

  it('routes an SMS from a number to the user who last wrote to it, and keywords to their user', async () => {
    const alice = await login();
    await alice.send(chat(`+40723555008@${SMS}`, 'call me back', 'i1'));
    await waitForSubmits('40723555008', 1);
    await smsc.command({ cmd: 'deliver', source_addr: '40723555008', source_addr_ton: 1, destination_addr: '40700000001', text: 'ok, calling now' });
    const answer = await alice.waitFor((el) => el.getChildText('body') === 'ok, calling now', 15_000);
    assert.equal(answer.attrs.from, `+40723555008@${SMS}`);

    const helpdesk = await suite.login('helpdesk');
    await smsc.command({ cmd: 'deliver', source_addr: '40723555009', source_addr_ton: 1, destination_addr: '40700000001', text: 'HELPDESK my screen is black' });
    const ticket = await helpdesk.waitFor((el) => el.getChildText('body') === 'my screen is black', 15_000);
    assert.equal(ticket.attrs.from, `+40723555009@${SMS}`);

    await smsc.command({ cmd: 'deliver', source_addr: '40723555010', source_addr_ton: 1, destination_addr: '40700000001', text: 'who is this?' });
    const [help] = await waitForSubmits('40723555010', 1);
    assert.ok(Buffer.from(help!.short_message_hex, 'hex').toString('latin1').includes('forwards replies'), 'answered with the help text');
  });

  it('refuses invalid numbers, denied prefixes and users over their rate', async () => {
    const alice = await login();
    await alice.send(chat(`not-a-number@${SMS}`, 'x', 'bad'));
    assert.equal(stanzaErrorCondition(await alice.waitFor((el) => el.attrs.id === 'bad' && el.attrs.type === 'error')), 'jid-malformed');
    await alice.send(chat(`+40900123456@${SMS}`, 'premium', 'premium'));
    assert.equal(stanzaErrorCondition(await alice.waitFor((el) => el.attrs.id === 'premium' && el.attrs.type === 'error')), 'not-allowed');
    for (let i = 0; i < 6; i++) await alice.send(chat(`+40723555011@${SMS}`, `n${i}`, `rate${i}`));
    assert.equal(stanzaErrorCondition(await alice.waitFor((el) => el.attrs.id === 'rate5' && el.attrs.type === 'error')), 'resource-constraint');
  });

  it('accepts subscriptions, shows numbers available, and answers disco and the XEP-0100 prompt', async () => {
    const alice = await login();
    await alice.send(xml('presence', { to: `+40723555012@${SMS}`, type: 'subscribe' }));
    await alice.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === `+40723555012@${SMS}`);
    await alice.waitFor((el) => el.is('presence') && el.attrs.type === undefined && el.attrs.from === `+40723555012@${SMS}`);

    const items = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
    assert.deepEqual(items.getChild('query')!.getChildren('item').map((i) => [i.attrs.jid, i.attrs.name]), [[SMS, 'SMS']], 'the server lists its gateway');
    const info = await alice.iq(xml('iq', { type: 'get', to: SMS }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const identity = info.getChild('query')!.getChild('identity')!;
    assert.deepEqual([identity.attrs.category, identity.attrs.type], ['gateway', 'sms']);
    assert.ok(info.getChild('query')!.getChildren('feature').some((f) => f.attrs.var === 'jabber:iq:gateway'));

    const prompt = await alice.iq(xml('iq', { type: 'get', to: SMS }, xml('query', { xmlns: 'jabber:iq:gateway' })));
    assert.equal(prompt.getChild('query')!.getChildText('prompt'), 'Phone number');
    const made = await alice.iq(xml('iq', { type: 'set', to: SMS }, xml('query', { xmlns: 'jabber:iq:gateway' }, xml('prompt', {}, '0723 555 013'))));
    assert.equal(made.getChild('query')!.getChildText('jid'), `+40723555013@${SMS}`);
  });

  it('notifies a user who chose SMS of chats missed while offline, and brings the SMS reply back as a chat', async () => {
    const alice = await login();
    const bob = await suite.account('bob');
    await writePrefs(suite.hub.hub.store.kv, 'localhost', bob, { offline: 'sms', mobile: '0723555014' });
    await alice.send(chat(`${bob}@localhost`, 'see you at 5', 'n1'));
    const [notice] = await waitForSubmits('40723555014', 1);
    const text = Buffer.from(notice!.short_message_hex, 'hex').toString('latin1');
    assert.match(text, new RegExp(`^alice\\d+: see you at 5 - reply to answer$`));
    await smsc.command({ cmd: 'deliver', source_addr: '40723555014', source_addr_ton: 1, destination_addr: '40700000001', text: 'running late' });
    const reply = await alice.waitFor((el) => el.getChildText('body') === 'running late', 15_000);
    assert.equal(reply.attrs.from?.split('/')[0], `${bob}@localhost`);
  });
});

describe('SMS gateway: who may send, daily caps, hostile SMSC input', function () {
  this.timeout(60_000);
  const peer = useSmsc(`hosts:
  - domain: localhost
    require_encryption: optional
    shared_groups: [{ name: Texters, members: [carol, erin] }]
    sms:
      sender: "+40700000001"
      send_allowed: group
      send_group: Texters
      user_daily_cap: 2
`);
  let smsc: Smsc;
  before(() => {
    smsc = peer.smsc();
  });

  const suite = useHub({
    yaml: peer.yaml,
    users: ['carol', 'dave', 'erin'],
  });

  const errorOf = (client: TestClient, id: string) => client.waitFor((el) => el.attrs.id === id && el.attrs.type === 'error');

  it('lets only the members of the SMS group send, each up to the daily cap', async () => {
    const carol = await suite.login('carol');
    const dave = await suite.login('dave');
    await dave.send(chat(`+40723555101@${SMS}`, 'may I?', 'd1'));
    assert.equal(stanzaErrorCondition(await errorOf(dave, 'd1')), 'forbidden');
    await carol.send(chat(`+40723555102@${SMS}`, 'one', 'c1'));
    await carol.send(chat(`+40723555102@${SMS}`, 'two', 'c2'));
    await carol.send(chat(`+40723555102@${SMS}`, 'three', 'c3'));
    const capped = await errorOf(carol, 'c3');
    assert.equal(stanzaErrorCondition(capped), 'policy-violation');
    assert.match(capped.getChild('error')?.getChildText('text') ?? '', /daily limit of 2/);
    await smsc.waitFor(() => smsc.submits().filter((s) => s.destination_addr === '40723555102').length >= 2, 15_000);
  });

  it('delivers SMS in unknown encodings as unreadable, and survives garbage and unknown PDUs from the SMSC', async () => {
    const erin = await suite.login('erin');
    await erin.send(chat(`+40723555103@${SMS}`, 'ping', 'g1'));
    await smsc.waitFor((e) => e.event === 'submit_sm' && e.destination_addr === '40723555103', 15_000);
    await smsc.command({ cmd: 'deliver', source_addr: '40723555103', source_addr_ton: 1, destination_addr: '40700000001', short_message_hex: 'deadbeef', data_coding: 4 });
    const unreadable = await erin.waitFor((el) => el.attrs.from === `+40723555103@${SMS}` && el.getChildText('body') !== null, 15_000);
    assert.match(unreadable.getChildText('body')!, /unreadable SMS/);

    await smsc.command({ cmd: 'unknown_pdu' });
    const nack = await smsc.waitFor((e) => e.event === 'generic_nack', 10_000);
    assert.equal(nack.command_status, 3, 'the unknown PDU answered with generic_nack ESME_RINVCMDID');
    await smsc.command({ cmd: 'garbage' });
    await sleep(1000);
    await erin.send(chat(`+40723555104@${SMS}`, 'still there?', 'g2'));
    await smsc.waitFor((e) => e.event === 'submit_sm' && e.destination_addr === '40723555104' && e.command_status === 0, 15_000);
  });
});
