// The SMS gateway's SMPP link (gateways/sms/smpp-link.ts) against the SMSC simulator running as
// its own process: binds, window and throughput, throttling and rejects, deliver_sm and receipts,
// keepalive and dead links, reconnection, failover, malformed input, unbind both ways.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/core/log.js';
import {
  explainStatus, LINK_DOWN, RESPONSE_TIMEOUT, SmppError, SmppLink, statusName,
  type DeliverHandler, type LinkOptions, type SmscEndpoint,
} from '../gateways/sms/smpp-link.js';
import { startSmsc, type Smsc, type SmscEvent, type SubmitSmEvent } from './support/smsc.js';

const SYSTEM_ID = 'switchboard';
const PASSWORD = 'secret';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The `kind` events from index `from` on, once there are `count`: the simulator's stdout may lag behind its SMPP answers. */
async function eventsFrom(smsc: Smsc, kind: string, from: number, count: number): Promise<SmscEvent[]> {
  const seen = (): SmscEvent[] => smsc.events.slice(from).filter((e) => e.event === kind);
  await smsc.waitFor(() => seen().length >= count, 5_000, from);
  return seen();
}

const submitsFrom = (smsc: Smsc, from: number, count: number): Promise<SubmitSmEvent[]> =>
  eventsFrom(smsc, 'submit_sm', from, count) as Promise<SubmitSmEvent[]>;

async function rejection(promise: Promise<unknown>): Promise<SmppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SmppError, `expected an SmppError, got ${String(err)}`);
  return err;
}

const sms = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  source_addr: '40700000001', source_addr_ton: 1, source_addr_npi: 1,
  destination_addr: `4072300${String(n).padStart(4, '0')}`, dest_addr_ton: 1, dest_addr_npi: 1,
  data_coding: 0, short_message: Buffer.from(`message ${n}`), ...extra,
});

describe('SMPP link with an SMSC simulator', function () {
  this.timeout(20_000);
  let smsc: Smsc;
  const links: SmppLink[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', format: 'json' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }));

  const endpoint = (s: Smsc, extra: Partial<SmscEndpoint> = {}): SmscEndpoint => ({
    host: '127.0.0.1', port: s.port, systemId: SYSTEM_ID, password: PASSWORD, systemType: '', bind: 'transceiver', ...extra,
  });

  function link(options: Partial<LinkOptions> = {}, onDeliver: DeliverHandler = async () => 0): SmppLink {
    const l = new SmppLink({
      endpoints: [endpoint(smsc)],
      window: 10,
      throughput: 0,
      enquireLinkSeconds: 30,
      responseTimeoutSeconds: 2,
      reconnect: { minDelayMs: 100, maxDelayMs: 400 },
      log,
      ...options,
    }, onDeliver);
    links.push(l);
    l.start();
    return l;
  }

  /** The bind events from index `from` on, so far. */
  const binds = (from: number): SmscEvent[] => smsc.events.slice(from).filter((e) => e.event === 'bind');

  before(async () => {
    smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
  });
  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.stop()));
    for (const cmd of [
      { cmd: 'window_delay_ms', ms: 0 }, { cmd: 'refuse_binds', on: false }, { cmd: 'mute', on: false },
      { cmd: 'throttle', count: 0 }, { cmd: 'reject', count: 0 }, { cmd: 'no_response', count: 0 },
    ]) await smsc.command(cmd);
  });
  after(async () => {
    await smsc?.stop();
  });

  it('binds as a transceiver (SMPP 3.4); submit resolves with the SMSC\'s message id', async () => {
    const from = smsc.events.length;
    const l = link();
    await l.ready(5_000);
    assert.equal(l.state, 'bound');
    assert.equal(l.endpoint, `127.0.0.1:${smsc.port}`);
    const [bind] = await eventsFrom(smsc, 'bind', from, 1);
    assert.deepEqual([bind!.mode, bind!.system_id, bind!.interface_version, bind!.command_status], ['transceiver', SYSTEM_ID, 0x34, 0]);

    const id = await l.submit(sms(1));
    const [submit] = await submitsFrom(smsc, from, 1);
    assert.equal(submit!.message_id, id);
    assert.equal(submit!.destination_addr, '40723000001');
    assert.equal(Buffer.from(submit!.short_message_hex, 'hex').toString(), 'message 1');
    assert.equal(l.stats.submitted, 1);
    assert.equal(l.stats.inFlight, 0);
  });

  it('binds a transmitter and a receiver: submits on one, deliver_sm on the other', async () => {
    const from = smsc.events.length;
    const delivered: Array<Record<string, unknown>> = [];
    const l = link({ endpoints: [endpoint(smsc, { bind: 'transmitter_receiver' })] }, async (pdu) => {
      delivered.push(pdu);
      return 0;
    });
    await l.ready(5_000);
    const sessions = new Map((await eventsFrom(smsc, 'bind', from, 2)).map((b) => [b.mode, b.session]));
    assert.deepEqual([...sessions.keys()].sort(), ['receiver', 'transmitter']);

    const id = await l.submit(sms(2));
    const [submit] = await submitsFrom(smsc, from, 1);
    assert.deepEqual([submit!.message_id, submit!.session], [id, sessions.get('transmitter')]);

    await smsc.command({ cmd: 'deliver', source_addr: '40723555001', destination_addr: '40700000001', text: 'Привет', encoding: 'ucs2', tag: 'rx' });
    const resp = await smsc.waitFor((e) => e.event === 'deliver_sm_resp' && e.tag === 'rx', 5_000);
    assert.equal(resp.session, sessions.get('receiver'));
    assert.equal(resp.command_status, 0);
    assert.equal((delivered[0]!.short_message as { message: string }).message, 'Привет');
  });

  it('keeps at most `window` submit_sm outstanding', async () => {
    const l = link({ window: 5 });
    await l.ready(5_000);
    await smsc.command({ cmd: 'window_delay_ms', ms: 100 });
    const from = smsc.events.length;
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => l.submit(sms(100 + i))));
    assert.equal(new Set(ids).size, 30, 'unique message ids');
    const outstanding = (await submitsFrom(smsc, from, 30)).map((e) => e.outstanding);
    assert.equal(Math.max(...outstanding), 5, 'the window filled, never more');
  });

  it('paces submit_sm to the throughput (20/s)', async () => {
    const l = link({ throughput: 20 });
    await l.ready(5_000);
    const from = smsc.events.length;
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, (_, i) => l.submit(sms(200 + i))));
    assert.ok(Date.now() - started >= 1_000, '30 at 20/s take more than a second');
    const times = (await submitsFrom(smsc, from, 30)).map((e) => e.t);
    // At most 20 in any second (950 ms: the simulator's clock sees them with some jitter).
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 950).length));
    assert.ok(busiest <= 20, `${busiest} submit_sm within a second`);
  });

  it('ESME_RTHROTTLED: a temporary SmppError, and submitting pauses', async () => {
    const l = link();
    await l.ready(5_000);
    await smsc.command({ cmd: 'throttle', count: 1 });
    const err = await rejection(l.submit(sms(300)));
    assert.equal(err.status, 0x58);
    assert.equal(err.statusName, 'ESME_RTHROTTLED');
    assert.equal(err.temporary, true);
    const throttledAt = Date.now();
    await l.submit(sms(301));
    assert.ok(Date.now() - throttledAt >= 900, 'the next submit_sm waited for the pause');
    assert.equal(l.stats.throttled, 1);
  });

  it('a permanent reject: temporary false, with a human explanation', async () => {
    const l = link();
    await l.ready(5_000);
    await smsc.command({ cmd: 'reject', count: 1, status: 'ESME_RINVDSTADR' });
    const err = await rejection(l.submit(sms(400)));
    assert.deepEqual([err.status, err.statusName, err.temporary], [0x0b, 'ESME_RINVDSTADR', false]);
    assert.equal(explainStatus(err.status), 'the destination number is invalid');
    assert.match(err.message, /destination number is invalid/);
    assert.equal(statusName(0x58), 'ESME_RTHROTTLED');
    assert.equal(explainStatus(0x58), 'the SMSC is throttling: too many messages per second');
    assert.equal(statusName(0x400), '0x00000400');
    assert.equal(await l.submit(sms(401)).then(() => 'sent'), 'sent', 'the link goes on');
  });

  it('a submit_sm without response times out as temporary and frees its window slot', async () => {
    const l = link({ window: 1, responseTimeoutSeconds: 0.5 });
    await l.ready(5_000);
    await smsc.command({ cmd: 'no_response', count: 1 });
    const err = await rejection(l.submit(sms(500)));
    assert.deepEqual([err.status, err.statusName, err.temporary], [RESPONSE_TIMEOUT, 'RESPONSE_TIMEOUT', true]);
    assert.equal(l.state, 'bound');
    await l.submit(sms(501));
  });

  it('hands deliver_sm to the handler and answers with its status; a throwing handler → ESME_RX_T_APPN', async () => {
    const delivered: Array<Record<string, unknown>> = [];
    const l = link({}, async (pdu) => {
      delivered.push(pdu);
      const text = (pdu.short_message as { message: string }).message;
      if (text === 'boom') throw new Error('handler failure');
      return text === 'refuse' ? 0x45 : 0;
    });
    await l.ready(5_000);
    const deliver = { cmd: 'deliver', source_addr: '40723555002', source_addr_ton: 1, destination_addr: '40700000001' };
    await smsc.command({ ...deliver, text: 'hello', tag: 'ok' });
    await smsc.command({ ...deliver, text: 'refuse', tag: 'refuse' });
    await smsc.command({ ...deliver, text: 'boom', tag: 'boom' });
    const status = async (tag: string): Promise<unknown> =>
      (await smsc.waitFor((e) => e.event === 'deliver_sm_resp' && e.tag === tag, 5_000)).command_status;
    assert.equal(await status('ok'), 0);
    assert.equal(await status('refuse'), 0x45);
    assert.equal(await status('boom'), 0x64);
    assert.equal(delivered[0]!.source_addr, '40723555002');
    assert.equal(l.stats.received, 3);

    const id = await l.submit(sms(600, { registered_delivery: 1 }));
    await smsc.command({ cmd: 'receipt', message_id: id, stat: 'DELIVRD', tag: 'receipt' });
    await smsc.waitFor((e) => e.event === 'deliver_sm_resp' && e.tag === 'receipt', 5_000);
    const receipt = delivered[3]!;
    assert.equal(receipt.esm_class, 0x04);
    assert.equal(receipt.receipted_message_id, id);
    assert.equal(receipt.message_state, 2);
    assert.equal(receipt.source_addr, '40723000600');
    assert.match((receipt.short_message as { message: string }).message,
      new RegExp(`^id:${id} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:message 600$`));
  });

  it('sends enquire_link on an idle link and answers the SMSC\'s', async () => {
    const l = link({ enquireLinkSeconds: 0.2 });
    await l.ready(5_000);
    const from = smsc.events.length;
    await smsc.waitFor((e) => e.event === 'enquire_link' && smsc.events.slice(from).filter((f) => f.event === 'enquire_link').length >= 3, 3_000, from);
    await smsc.command({ cmd: 'enquire_link' });
    const resp = await smsc.waitFor((e) => e.event === 'enquire_link_resp', 3_000, from);
    assert.equal(resp.command_status, 0);
    assert.equal(binds(from).length, 0, 'the same bind all along');
  });

  it('an SMSC that stops answering (no enquire_link_resp) is dead: the link reconnects', async () => {
    const from = smsc.events.length;
    const l = link({ enquireLinkSeconds: 0.2, responseTimeoutSeconds: 0.3 });
    await l.ready(5_000);
    await smsc.command({ cmd: 'mute', on: true });
    await until(() => l.state !== 'bound', 3_000, 'the link to go down');
    await smsc.command({ cmd: 'mute', on: false });
    await l.ready(5_000);
    await eventsFrom(smsc, 'bind', from, 2);
    await l.submit(sms(700));
  });

  it('a dropped connection rejects what is in flight as temporary; the link binds again', async () => {
    const l = link();
    await l.ready(5_000);
    await smsc.command({ cmd: 'window_delay_ms', ms: 3_000 });
    const from = smsc.events.length;
    const inFlight = [1, 2, 3].map((i) => rejection(l.submit(sms(800 + i))));
    await submitsFrom(smsc, from, 3);
    assert.equal(l.stats.inFlight, 3);
    await smsc.command({ cmd: 'drop' });
    for (const err of await Promise.all(inFlight)) assert.deepEqual([err.status, err.temporary], [LINK_DOWN, true]);
    await smsc.command({ cmd: 'window_delay_ms', ms: 0 });
    await l.ready(5_000);
    await l.submit(sms(804));
    assert.ok(l.stats.reconnects >= 1);
  });

  it('the SMSC process killed: in-flight submits reject; the link binds again once it is back', async () => {
    const other = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    try {
      const l = link({ endpoints: [endpoint(other)] });
      await l.ready(5_000);
      await other.command({ cmd: 'window_delay_ms', ms: 5_000 });
      const inFlight = [1, 2].map((i) => rejection(l.submit(sms(900 + i))));
      await submitsFrom(other, 0, 2);
      await other.stop();
      for (const err of await Promise.all(inFlight)) assert.deepEqual([err.statusName, err.temporary], ['LINK_DOWN', true]);
      assert.notEqual(l.state, 'bound');
      assert.equal((await rejection(l.submit(sms(903)))).temporary, true, 'refused at once while down');
      await sleep(300);
      await other.restart();
      await l.ready(5_000);
      await l.submit(sms(904));
      assert.equal((await submitsFrom(other, 0, 3)).length, 3);
    } finally {
      await other.stop();
    }
  });

  it('fails over to the next SMSC when binds are refused, logging the status', async () => {
    const second = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    try {
      await smsc.command({ cmd: 'refuse_binds', on: true });
      const logged = logs.length;
      const l = link({ endpoints: [endpoint(smsc), endpoint(second, { password: 'wrong' }), endpoint(second)] });
      await l.ready(5_000);
      assert.equal(l.endpoint, `127.0.0.1:${second.port}`);
      const refusals = logs.slice(logged).filter((r) => r.level === 50).map((r) => r.status);
      assert.deepEqual(refusals, ['ESME_RBINDFAIL', 'ESME_RINVPASWD']);
      await l.submit(sms(1000));
      assert.equal((await submitsFrom(second, 0, 1)).length, 1);
    } finally {
      await second.stop();
    }
  });

  it('survives an unknown PDU (generic_nack) and garbage bytes (reconnects)', async () => {
    const from = smsc.events.length;
    const l = link();
    await l.ready(5_000);
    await smsc.command({ cmd: 'unknown_pdu', command_id: 0x999 });
    const nack = await smsc.waitFor((e) => e.event === 'generic_nack', 3_000, from);
    assert.equal(nack.command_status, 3, 'ESME_RINVCMDID');
    assert.equal(l.state, 'bound');
    assert.equal(binds(from).length, 1, 'the same bind');

    // command_length too large; too small (the package would wait forever); a truncated TLV.
    for (const hex of ['ffffffffdeadbeefdeadbeefdeadbeef', '0000000200000000', '0000001400000015000000000000000104270001']) {
      const before = smsc.events.length;
      await smsc.command({ cmd: 'garbage', hex });
      const garbageNack = await smsc.waitFor((e) => e.event === 'generic_nack', 3_000, before);
      assert.equal(garbageNack.command_status, 2, `ESME_RINVCMDLEN for ${hex}`);
      await smsc.waitFor((e) => e.event === 'bind', 3_000, before);
      await l.ready(5_000);
      await l.submit(sms(1100));
    }
  });

  it('answers the SMSC\'s unbind and binds again', async () => {
    const from = smsc.events.length;
    const l = link();
    await l.ready(5_000);
    await smsc.command({ cmd: 'unbind' });
    const resp = await smsc.waitFor((e) => e.event === 'unbind_resp', 3_000, from);
    assert.equal(resp.command_status, 0);
    await smsc.waitFor((e) => e.event === 'bind', 3_000, smsc.events.indexOf(resp));
    await l.ready(5_000);
    await l.submit(sms(1200));
  });

  it('stop() waits for in-flight responses, unbinds and does not reconnect', async () => {
    const from = smsc.events.length;
    const l = link();
    await l.ready(5_000);
    const [{ session }] = await eventsFrom(smsc, 'bind', from, 1) as [SmscEvent];
    await smsc.command({ cmd: 'window_delay_ms', ms: 200 });
    const last = l.submit(sms(1300));
    await smsc.waitFor((e) => e.event === 'submit_sm', 3_000, from);
    await l.stop();
    assert.ok(await last, 'answered before the unbind');
    assert.equal(l.state, 'down');
    await smsc.waitFor((e) => e.event === 'unbind' && e.session === session, 3_000, from);
    assert.equal((await rejection(l.submit(sms(1301)))).statusName, 'LINK_DOWN');
    await sleep(300);
    assert.equal(binds(from).length, 1, 'no bind after stop');
  });
});
