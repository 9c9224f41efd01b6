// The hub killed with SIGKILL while notifications wait in the durable queue: after a restart
// each one is mailed exactly once (Postfix's mailboxes are the witness).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, xml, type TestClient } from './support/client.js';
import { testConfigYaml } from './support/hub.js';
import { freePort } from './support/ports.js';
import { startPostfix, type Postfix } from './support/postfix.js';
import { killHub, runCli, startProcessHub, type RunningHub } from './support/process-hub.js';
import { sync } from './support/stanzas.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RECIPIENTS = ['bob', 'carol', 'dave'];

describe('offline notifications across a crash', function () {
  this.timeout(90_000);
  let postfix: Postfix;
  let dir: string;
  let config: string;
  let hub: RunningHub | undefined;
  let alice: TestClient | undefined;

  before(async () => {
    postfix = await startPostfix({ mailboxDomains: ['example.test'] });
  });
  after(async () => {
    await postfix?.stop();
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    config = join(dir, 'switchboard.yaml');
    await configure(postfix.port, 2);
    for (const name of ['alice', ...RECIPIENTS]) {
      const added = await runCli(['user', 'add', `${name}@localhost`, '--password', 'secret', '--config', config]);
      assert.equal(added.code, 0, added.stderr);
    }
    for (const name of RECIPIENTS) {
      const set = await runCli(['notify', 'set', `${name}@localhost`, '--email', `${name}-${dir.slice(-6).toLowerCase()}@example.test`, '--config', config]);
      assert.equal(set.code, 0, set.stderr);
    }
  });
  afterEach(async () => {
    await alice?.stop();
    if (hub) await killHub(hub);
    hub = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const mailbox = (name: string) => `${name}-${dir.slice(-6).toLowerCase()}@example.test`;

  async function configure(relayPort: number, delay: number): Promise<void> {
    const base = testConfigYaml('info').split('\nhosts:')[0];
    writeFileSync(config, `${base}\ndata_dir: ${JSON.stringify(join(dir, 'data'))}
smtp:
  relay: { host: 127.0.0.1, port: ${relayPort}, tls: none, timeout: 2 }
  retry: { attempts: 20, initial_delay: 0.5, max_delay: 1 }
  inbound: { port: null }
hosts:
  - domain: localhost
    require_encryption: optional
    notifications: { delay: ${delay}, digest_window: 60 }
`);
  }

  async function chatToEveryone(): Promise<void> {
    hub = await startProcessHub(config);
    alice = await connect(hub.target, { username: 'alice', password: 'secret' });
    for (const name of RECIPIENTS) {
      await alice.send(xml('message', { to: `${name}@localhost`, type: 'chat' }, xml('body', {}, `hello ${name}`)));
      await alice.send(xml('message', { to: `${name}@localhost`, type: 'chat' }, xml('body', {}, `are you there, ${name}?`)));
    }
    await sync(alice);
    await alice.stop();
    alice = undefined;
  }

  async function expectOneMailEach(): Promise<void> {
    for (const name of RECIPIENTS) {
      const [mail] = await postfix.waitForMail(mailbox(name), 1, 20_000);
      assert.match(mail!, new RegExp(`hello ${name}`));
      assert.match(mail!, new RegExp(`are you there, ${name}\\?`));
    }
    await sleep(3000);
    for (const name of RECIPIENTS) assert.equal((await postfix.mailbox(mailbox(name))).length, 1, `exactly one mail for ${name}`);
  }

  it('sends digests that were scheduled when the hub was killed, once each', async () => {
    await chatToEveryone();
    await sleep(300);
    await killHub(hub!);
    for (const name of RECIPIENTS) assert.deepEqual(await postfix.mailbox(mailbox(name)), [], 'nothing sent before the crash');
    hub = await startProcessHub(config);
    await expectOneMailEach();
    const status = await runCli(['status', '--config', config]);
    assert.match(status.stdout, new RegExp(`Gateway smtp \\(mail\\.localhost\\): relay 127\\.0\\.0\\.1:${postfix.port}, 3 mails sent`));
    assert.match(status.stdout, /Delivery queue \(embedded\): .*smtp 0 pending, 0 dead/);
  });

  it('sends mails that were waiting for a relay that was down when the hub was killed, once each', async () => {
    await configure(await freePort(), 0);
    await chatToEveryone();
    await waitForLog(hub!, (l) => l.level === 40 && l.destination === 'smtp', 10_000);
    await killHub(hub!);
    await configure(postfix.port, 0);
    hub = await startProcessHub(config);
    await expectOneMailEach();
  });
});

async function waitForLog(hub: RunningHub, match: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!hub.logs.some(match)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a log line');
    await sleep(100);
  }
}
