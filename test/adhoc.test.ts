// Ad-hoc commands (XEP-0050) on the server, through the notification settings command: the
// command list, a one-stage form, sessions and their errors, and who may run it.
import assert from 'node:assert/strict';
import { readPrefs, writePrefs } from '../src/core/notification-prefs.js';
import { DirectoryUnavailable } from '../src/directory/port.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';

const COMMANDS = 'http://jabber.org/protocol/commands';
const ITEMS = 'http://jabber.org/protocol/disco#items';
const INFO = 'http://jabber.org/protocol/disco#info';
const DATA = 'jabber:x:data';
const NODE = 'urn:switchboard:notification-settings';

interface CommandError {
  condition?: string;
  application?: Element;
}

/** Rejects with the given condition, and the XEP-0050 one when given. */
const failsWith = (condition: string, specific?: string) => (err: CommandError) =>
  err.condition === condition && err.application?.name === specific && (specific === undefined || err.application?.attrs.xmlns === COMMANDS);

describe('ad-hoc commands (XEP-0050): notification settings', () => {
  const suite = useHub({
    yaml: `hosts:
  - domain: localhost
    require_encryption: optional
    notifications: { offline: email, mail_arrival: contacts }
  - domain: other.localhost
    require_encryption: optional
`,
  });

  before(async () => {
    await suite.hub.addUser('carol', 'secret', 'other.localhost');
  });

  const prefsOf = (user: string) => readPrefs(suite.hub.hub.store.kv, 'localhost', user);

  async function command(client: TestClient, attrs: Record<string, string>, ...children: Element[]): Promise<Element> {
    const result = await client.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, node: NODE, ...attrs }, ...children)));
    return result.getChild('command', COMMANDS)!;
  }

  /** The form's values by field. */
  function values(cmd: Element): Record<string, string[]> {
    const form = cmd.getChild('x', DATA)!;
    return Object.fromEntries(form.getChildren('field').map((f) => [f.attrs.var, f.getChildren('value').map((v) => v.getText())]));
  }

  function submit(fields: Record<string, string[]>): Element {
    return xml('x', { xmlns: DATA, type: 'submit' },
      ...Object.entries(fields).map(([name, vals]) => xml('field', { var: name }, ...vals.map((v) => xml('value', {}, v)))));
  }

  it('lists the command for the host\'s users and describes its node', async () => {
    const alice = await suite.login(await suite.account('alice'));
    const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: INFO })));
    assert.ok(info.getChild('query', INFO)!.getChildren('feature').some((f) => f.attrs.var === COMMANDS));

    const list = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: ITEMS, node: COMMANDS })));
    const items = list.getChild('query', ITEMS)!.getChildren('item').map((i) => ({ ...i.attrs }));
    assert.deepEqual(items, [{ jid: 'localhost', node: NODE, name: 'Notification settings' }]);

    const node = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: INFO, node: NODE })));
    const query = node.getChild('query', INFO)!;
    assert.deepEqual({ ...query.getChild('identity')!.attrs }, { category: 'automation', type: 'command-node', name: 'Notification settings' });
    assert.deepEqual(query.getChildren('feature').map((f) => f.attrs.var), [COMMANDS, DATA]);

    // Other nodes are still the disco module's.
    await assert.rejects(alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: INFO, node: 'nope' }))), failsWith('item-not-found'));
  });

  it('shows the effective settings in a one-stage form', async () => {
    const name = await suite.account('alice');
    await writePrefs(suite.hub.hub.store.kv, 'localhost', name, { offline: 'sms', mail_senders: ['boss@example.org', '@example.com'] });
    const alice = await suite.login(name);
    const cmd = await command(alice, { action: 'execute' });
    assert.equal(cmd.attrs.status, 'executing');
    assert.ok(cmd.attrs.sessionid);
    const actions = cmd.getChild('actions')!;
    assert.equal(actions.attrs.execute, 'complete');
    assert.deepEqual(actions.getChildElements().map((a) => a.name), ['complete']);
    const form = cmd.getChild('x', DATA)!;
    assert.equal(form.attrs.type, 'form');
    assert.equal(form.getChildText('title'), 'Notification settings');
    assert.match(form.getChildText('instructions')!, /no email address for you/);
    assert.deepEqual(values(cmd), {
      FORM_TYPE: [NODE],
      offline: ['sms'],
      email: [],
      mobile: [],
      mail_arrival: ['contacts'],
      mail_senders: ['boss@example.org', '@example.com'],
    });
    const offline = form.getChildren('field').find((f) => f.attrs.var === 'offline')!;
    assert.equal(offline.attrs.type, 'list-single');
    assert.deepEqual(offline.getChildren('option').map((o) => o.getChildText('value')), ['none', 'email', 'sms', 'both']);
  });

  it('names the directory\'s address, and shows the form while the directory is down', async () => {
    const alice = await suite.login(await suite.account('alice'));
    const instructions = async () => (await command(alice, {})).getChild('x', DATA)!.getChildText('instructions')!;
    const { directory } = suite.hub.hub;
    const original = directory.userAttributes;
    try {
      directory.userAttributes = async () => ({ mail: 'alice.smith@example.org' });
      assert.match(await instructions(), /go to alice\.smith@example\.org, your address in the user directory;/);
      directory.userAttributes = async () => {
        throw new DirectoryUnavailable('LDAP servers unreachable');
      };
      assert.match(await instructions(), /go to your address in the user directory, or to the address below when it has none/);
    } finally {
      directory.userAttributes = original;
    }
  });

  it('stores a submitted form and shows it the next time', async () => {
    const name = await suite.account('alice');
    const alice = await suite.login(name);
    const first = await command(alice, {});
    const done = await command(alice, { sessionid: first.attrs.sessionid!, action: 'complete' }, submit({
      FORM_TYPE: [NODE],
      offline: ['both'],
      email: ['alice@example.org'],
      mobile: ['+40 723 555 666'],
      mail_arrival: ['listed'],
      mail_senders: ['boss@example.org\n@example.com', ''],
    }));
    assert.equal(done.attrs.status, 'completed');
    assert.equal(done.attrs.sessionid, first.attrs.sessionid);
    assert.equal(done.getChild('note')!.attrs.type, 'info');
    assert.deepEqual(await prefsOf(name), {
      offline: 'both', email: 'alice@example.org', mobile: '+40 723 555 666', mail_arrival: 'listed', mail_senders: ['boss@example.org', '@example.com'],
    });

    const again = await command(alice, {});
    assert.deepEqual(values(again), {
      FORM_TYPE: [NODE], offline: ['both'], email: ['alice@example.org'], mobile: ['+40 723 555 666'], mail_arrival: ['listed'], mail_senders: ['boss@example.org', '@example.com'],
    });
    await assert.rejects(command(alice, { sessionid: first.attrs.sessionid! }, submit({ offline: ['none'] })), failsWith('not-allowed', 'session-expired'));
  });

  it('cancels a session', async () => {
    const alice = await suite.login(await suite.account('alice'));
    const first = await command(alice, {});
    const canceled = await command(alice, { sessionid: first.attrs.sessionid!, action: 'cancel' });
    assert.equal(canceled.attrs.status, 'canceled');
    await assert.rejects(command(alice, { sessionid: first.attrs.sessionid!, action: 'complete' }), failsWith('not-allowed', 'session-expired'));
  });

  it('refuses unknown sessions, actions the stage does not offer and malformed actions', async () => {
    const name = await suite.account('alice');
    const alice = await suite.login(name);
    await assert.rejects(command(alice, { sessionid: 'forged', action: 'complete' }), failsWith('bad-request', 'bad-sessionid'));
    const first = await command(alice, {});
    await assert.rejects(command(alice, { sessionid: first.attrs.sessionid!, action: 'next' }), failsWith('bad-request', 'bad-action'));
    await assert.rejects(command(alice, { sessionid: first.attrs.sessionid!, action: 'jump' }), failsWith('bad-request', 'malformed-action'));
    await assert.rejects(command(alice, { action: 'complete' }), failsWith('bad-request', 'bad-action'));
    const other = await suite.login(name, { resource: 'other' });
    await assert.rejects(command(other, { sessionid: first.attrs.sessionid!, action: 'complete' }), failsWith('bad-request', 'bad-sessionid'),
      'a session belongs to the full JID that started it');
    await assert.rejects(alice.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, node: 'nope' }))), failsWith('item-not-found'));
  });

  it('gives back an invalid form with an error note, storing nothing', async () => {
    const name = await suite.account('alice');
    const alice = await suite.login(name);
    const first = await command(alice, {});
    const bad = await command(alice, { sessionid: first.attrs.sessionid! }, submit({
      offline: ['none'], email: ['not an address'], mail_arrival: ['all'], mail_senders: ['@example.com', 'bogus'],
    }));
    assert.equal(bad.attrs.status, 'executing');
    const notes = bad.getChildren('note');
    assert.deepEqual(notes.map((n) => n.attrs.type), ['error', 'error']);
    assert.match(notes[0]!.getText(), /"not an address" is not an email address/);
    assert.match(notes[1]!.getText(), /"bogus"/);
    assert.deepEqual(values(bad).email, ['not an address'], 'the form shows what was typed');
    assert.deepEqual(await prefsOf(name), {});

    const fixed = await command(alice, { sessionid: first.attrs.sessionid! }, submit({ email: ['alice@example.org'] }));
    assert.equal(fixed.attrs.status, 'completed');
    assert.deepEqual(await prefsOf(name), { email: 'alice@example.org' });
  });

  it('is not offered to users of another host', async () => {
    const carol = await suite.login('carol', { domain: 'other.localhost', password: 'secret' });
    const list = await carol.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: ITEMS, node: COMMANDS })));
    assert.deepEqual(list.getChild('query', ITEMS)!.getChildren('item'), []);
    await assert.rejects(command(carol, {}), failsWith('forbidden'));
    await assert.rejects(carol.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: INFO, node: NODE }))), failsWith('forbidden'));
  });
});
