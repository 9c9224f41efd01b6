// Shared roster groups from the configuration, through real clients: members see each other
// in their rosters under the group name with subscription "both", and online without any
// subscription handshake; `@all@`; one-way visibility with displayed_groups; a personal item
// merged with the shared one, which the user cannot remove for good; roster versioning.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminOps } from '../src/cli/admin-ops.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { configuredGroups } from '../src/directory/shared-groups-config.js';
import { Membership, type GroupDefinition } from '../src/directory/shared-groups-membership.js';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';
import { PLAIN_ALLOWED, testConfigYaml } from './support/hub.js';
import { bare, flush } from './support/stanzas.js';

const ROSTER = 'jabber:iq:roster';

const getRoster = (client: TestClient, attrs: Record<string, string> = {}) =>
  client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ...attrs })));
const setItem = (client: TestClient, item: Element) => client.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, item)));

/** The roster as { jid: [subscription, name, groups] }. */
function rosterOf(result: Element): Record<string, [string | undefined, string | undefined, string[]]> {
  const items = result.getChild('query', ROSTER)?.getChildren('item') ?? [];
  return Object.fromEntries(items.map((item) => [
    item.attrs.jid!, [item.attrs.subscription, item.attrs.name, item.getChildren('group').map((g) => g.getText()).sort()],
  ]));
}

const pushOf = (contact: string) => (el: Element) =>
  el.is('iq') && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === contact;
const pushedItem = (el: Element) => el.getChild('query', ROSTER)!.getChild('item')!;
const presenceFrom = (from: string, type?: string) => (el: Element) =>
  el.is('presence') && el.attrs.from === from && el.attrs.type === type;
const anyPresenceFrom = (user: string) => (el: Element) => el.is('presence') && el.attrs.from?.startsWith(`${user}/`) === true;

describe('shared roster groups from the configuration', () => {
  const suite = useHub({
    yaml: PLAIN_ALLOWED + `hosts:
  - domain: localhost
    require_encryption: optional
    shared_groups:
      - name: Sales
        description: The sales team
        members: [alice, bob@localhost]
      - name: Development
        members: [carol, dave]
      - name: Management
        members: [mia]
        displayed_groups: [Management, Sales, Development]
`,
    users: ['alice', 'bob', 'carol', 'dave', 'mia', 'zoe'],
  });
  const login = (username: string, resource = 'r') => suite.login(username, { resource });

  it('shows the members of a group to each other with the group name and subscription "both"', async () => {
    const alice = await login('alice');
    assert.deepEqual(rosterOf(await getRoster(alice)), { [bare('bob')]: ['both', undefined, ['Sales']] });
    const carol = await login('carol');
    assert.deepEqual(rosterOf(await getRoster(carol)), { [bare('dave')]: ['both', undefined, ['Development']] });
    const zoe = await login('zoe');
    assert.deepEqual(rosterOf(await getRoster(zoe)), {}, 'someone in no group sees nobody');
  });

  it('lets members see each other online without any subscription handshake, and going offline', async () => {
    const bob = await login('bob', 'desk');
    await bob.send(xml('presence', {}, xml('status', {}, 'selling')));
    const alice = await login('alice', 'laptop');
    // The probe at alice's login is answered, and alice's presence reaches bob.
    const seen = await alice.waitFor((el) => presenceFrom(`${bare('bob')}/desk`)(el) && el.getChildText('status') === 'selling');
    assert.equal(seen.attrs.type, undefined);
    await bob.waitFor(presenceFrom(`${bare('alice')}/laptop`));
    await alice.send(xml('presence', {}, xml('show', {}, 'away')));
    await bob.waitFor((el) => presenceFrom(`${bare('alice')}/laptop`)(el) && el.getChildText('show') === 'away');

    const carol = await login('carol');
    await flush(alice, carol);
    assert.ok(!carol.received.some(anyPresenceFrom(bare('alice'))), 'carol is in another group');
    assert.ok(!alice.received.some(anyPresenceFrom(bare('carol'))));
    assert.ok(!alice.received.some((el) => el.is('presence') && el.attrs.type === 'subscribe'), 'no subscription request');

    await bob.stop();
    await alice.waitFor(presenceFrom(`${bare('bob')}/desk`, 'unavailable'));
  });

  it('answers a probe from a member and ignores one from a non-member', async () => {
    const alice = await login('alice');
    await alice.send(xml('presence', {}, xml('status', {}, 'probe me')));
    const bob = await login('bob');
    await bob.waitFor(presenceFrom(`${bare('alice')}/r`));
    const before = bob.received.length;
    await bob.send(xml('presence', { type: 'probe', to: bare('alice') }));
    await bob.waitFor((el) => bob.received.indexOf(el) >= before && presenceFrom(`${bare('alice')}/r`)(el));

    const zoe = await login('zoe');
    await zoe.send(xml('presence', { type: 'probe', to: bare('alice') }));
    await flush(zoe, zoe);
    assert.ok(!zoe.received.some(anyPresenceFrom(bare('alice'))));
  });

  it('shows displayed groups one way: a manager sees Sales and Development, who do not see the manager', async () => {
    const mia = await login('mia');
    assert.deepEqual(rosterOf(await getRoster(mia)), {
      [bare('alice')]: ['to', undefined, ['Sales']],
      [bare('bob')]: ['to', undefined, ['Sales']],
      [bare('carol')]: ['to', undefined, ['Development']],
      [bare('dave')]: ['to', undefined, ['Development']],
    });
    const alice = await login('alice');
    assert.ok(!(bare('mia') in rosterOf(await getRoster(alice))));
    await mia.waitFor(presenceFrom(`${bare('alice')}/r`));
    await mia.send(xml('presence', {}, xml('status', {}, 'managing')));
    await flush(mia, alice);
    assert.ok(!alice.received.some(anyPresenceFrom(bare('mia'))), 'alice does not see the manager');
  });

  it('approves at once a subscription request from someone who already sees the user', async () => {
    const bob = await login('bob');
    await getRoster(bob);
    const alice = await login('alice');
    await alice.send(xml('presence', { type: 'subscribe', to: bare('bob') }));
    await alice.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === bare('bob'));
    await flush(alice, bob);
    assert.ok(!bob.received.some((el) => el.is('presence') && el.attrs.type === 'subscribe'), 'bob is not asked');
  });

  it('merges a personal item with the shared one; removing it removes only the personal part', async () => {
    const alice = await login('alice');
    const other = await login('alice', 'other');
    await getRoster(alice);
    await getRoster(other);
    await setItem(alice, xml('item', { jid: bare('bob'), name: 'Bobby' }, xml('group', {}, 'Friends'), xml('group', {}, 'Sales')));
    const push = await other.waitFor(pushOf(bare('bob')));
    assert.deepEqual([pushedItem(push).attrs.subscription, pushedItem(push).attrs.name], ['both', 'Bobby']);
    assert.deepEqual(rosterOf(await getRoster(alice))[bare('bob')], ['both', 'Bobby', ['Friends', 'Sales']]);

    // A personal contact outside the groups sits next to the shared ones.
    await setItem(alice, xml('item', { jid: 'partner@example.org' }, xml('group', {}, 'Partners')));
    assert.deepEqual(rosterOf(await getRoster(alice))['partner@example.org'], ['none', undefined, ['Partners']]);

    const pushes = other.received.length;
    await setItem(alice, xml('item', { jid: bare('bob'), subscription: 'remove' }));
    const kept = await other.waitFor((el) => other.received.indexOf(el) >= pushes && pushOf(bare('bob'))(el));
    assert.equal(pushedItem(kept).attrs.subscription, 'both', 'the shared contact stays');
    assert.deepEqual(rosterOf(await getRoster(alice))[bare('bob')], ['both', undefined, ['Sales']]);
  });

  it('versions the roster with the shared contacts (XEP-0237)', async () => {
    const carol = await login('carol');
    const version = (await getRoster(carol)).getChild('query', ROSTER)!.attrs.ver!;
    assert.ok(version);
    assert.equal((await getRoster(carol, { ver: version })).getChild('query'), undefined, 'current: empty result');
    await setItem(carol, xml('item', { jid: bare('dave'), name: 'Dave' }));
    const push = await carol.waitFor(pushOf(bare('dave')));
    const newer = push.getChild('query', ROSTER)!.attrs.ver!;
    assert.notEqual(newer, version);
    const full = await getRoster(carol, { ver: version });
    assert.equal(full.getChild('query', ROSTER)!.attrs.ver, newer);
    assert.deepEqual(rosterOf(full)[bare('dave')], ['both', 'Dave', ['Development']]);
  });
});

describe('a shared group of everyone (@all@)', () => {
  const suite = useHub({
    yaml: PLAIN_ALLOWED + `hosts:
  - domain: localhost
    require_encryption: optional
    shared_groups:
      - name: Everyone
        members: ["@all@"]
`,
    users: ['ann', 'ben', 'cat'],
  });

  it('shows every user of the host to every other, online', async () => {
    const ann = await suite.login('ann');
    assert.deepEqual(rosterOf(await getRoster(ann)), {
      [bare('ben')]: ['both', undefined, ['Everyone']],
      [bare('cat')]: ['both', undefined, ['Everyone']],
    });
    const ben = await suite.login('ben');
    await ben.waitFor(presenceFrom(`${ann.jid}`));
    await ann.waitFor(presenceFrom(`${ben.jid}`));
  });
});

describe('shared groups made with the admin commands', () => {
  const suite = useHub({
    yaml: PLAIN_ALLOWED + `hosts:
  - domain: localhost
    require_encryption: optional
    shared_groups:
      - name: Sales
        members: [alice]
`,
    users: ['alice', 'bob', 'carol'],
  });
  const admin = () => {
    const { hub } = suite.hub;
    return new AdminOps({ config: hub.config, store: hub.store, directory: hub.directory, hub });
  };

  it('applies a new group to online members at once, lists it, and applies its deletion', async () => {
    const alice = await suite.login('alice');
    const bob = await suite.login('bob');
    await getRoster(alice);
    await getRoster(bob);
    const ops = admin();
    assert.deepEqual(await ops.call('group.set', { domain: 'localhost', name: 'Project', members: ['alice', 'bob'] }),
      { domain: 'localhost', name: 'Project', created: true });
    const push = await alice.waitFor(pushOf(bare('bob')));
    assert.deepEqual([pushedItem(push).attrs.subscription, pushedItem(push).getChildText('group')], ['both', 'Project']);
    await bob.waitFor(pushOf(bare('alice')));
    await alice.waitFor(presenceFrom(bob.jid));
    await bob.waitFor(presenceFrom(alice.jid));

    assert.deepEqual((await ops.call('group.list', {})).groups, [
      { domain: 'localhost', name: 'Sales', members: ['alice'], source: 'configuration' },
      { domain: 'localhost', name: 'Project', members: ['alice', 'bob'], source: 'admin' },
    ]);
    await assert.rejects(ops.call('group.set', { domain: 'localhost', name: 'Sales', members: ['bob'] }), /a group of the configuration file/);
    await assert.rejects(ops.call('group.set', { domain: 'localhost', name: 'Bad', members: ['bob@localhost/phone'] }),
      /"bob@localhost\/phone" is not a username or bare JID/);

    await ops.call('group.delete', { domain: 'localhost', name: 'Project' });
    await alice.waitFor((el) => pushOf(bare('bob'))(el) && pushedItem(el).attrs.subscription === 'remove');
    await alice.waitFor(presenceFrom(bob.jid, 'unavailable'));
    await assert.rejects(ops.call('group.delete', { domain: 'localhost', name: 'Project' }), /no group "Project" on localhost/);
  });

  it('works from the command line with the hub stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-groups-'));
    try {
      const config = join(dir, 'switchboard.yaml');
      writeFileSync(config, `${testConfigYaml('error')}data_dir: ${JSON.stringify(dir)}\n`);
      const cli = (...args: string[]) => runCli([...args, '--config', config]);
      assert.equal(await cli('group', 'set', 'localhost', 'Team', '--member', 'alice', '--member', '@all@', '--display', 'Team'),
        'created the group Team of localhost\n');
      assert.match(await cli('group', 'list'), /^DOMAIN +GROUP +MEMBERS +SEES +DEFINED IN\nlocalhost +Team +alice, @all@ +Team +admin\n$/);
      assert.equal(await cli('group', 'delete', 'localhost', 'Team'), 'deleted the group Team of localhost\n');
      assert.equal(await cli('group', 'list', 'localhost'), 'no shared groups\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Runs the built `switchboard` command; resolves with its standard output (rejects on failure). */
function runCli(args: string[]): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SWITCHBOARD_')));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`switchboard ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('shared group configuration errors', () => {
  const groupsOf = (members: string, extra = '') => {
    const { config } = loadConfig({ text: `hosts:\n  - domain: localhost\n    shared_groups:\n      - name: Team\n        members: ${members}\n${extra}`, env: {} });
    return configuredGroups(config.hosts[0]!, 0);
  };

  it('refuses a member that is not a username or bare JID, and a group name used twice', () => {
    assert.throws(() => groupsOf('["bob@localhost/laptop"]'),
      (err) => err instanceof ConfigError && /hosts\[0\]\.shared_groups\[0\]\.members\[0\]: "bob@localhost\/laptop" is not a username or bare JID/.test(err.message));
    assert.throws(() => groupsOf('[alice]', '      - name: Team\n        members: [bob]\n'),
      (err) => err instanceof ConfigError && /shared_groups\[1\]\.name: "Team" is already the name of another group/.test(err.message));
  });

  it('reads usernames and bare JIDs as prepared bare JIDs', async () => {
    const { groups } = await groupsOf('[Alice, "Bob@LocalHost", "@all@"]').load();
    assert.deepEqual(groups, [{ host: 'localhost', name: 'Team', members: ['alice@localhost', 'bob@localhost'], everyone: true }]);
  });
});

describe('shared group membership', () => {
  const group = (name: string, members: string[], extra: Partial<GroupDefinition> = {}): GroupDefinition =>
    ({ host: 'a.example', name, members: members.map((m) => `${m}@a.example`), everyone: false, ...extra });
  const membership = (groups: GroupDefinition[], users: string[] = [], warnings: string[] = []) =>
    new Membership(groups, new Map([['a.example', users.map((u) => `${u}@a.example`)]]), new Map([['bob@a.example', 'Bob']]),
      (w) => warnings.push(w));

  it('answers who sees whom, one way or both, with group names and display names', () => {
    const m = membership([
      group('Sales', ['alice', 'bob']),
      group('Dev', ['bob', 'carol']),
      group('Bosses', ['mia'], { displayed: ['Sales', 'Dev'] }),
    ]);
    assert.deepEqual([...m.contactsOf('bob@a.example').values()], [
      { jid: 'alice@a.example', groups: ['Sales'], mutual: true },
      { jid: 'carol@a.example', groups: ['Dev'], mutual: true },
    ]);
    assert.deepEqual(m.contactOf('mia@a.example', 'bob@a.example'), { jid: 'bob@a.example', groups: ['Dev', 'Sales'], mutual: false, name: 'Bob' });
    assert.equal(m.sees('mia@a.example', 'alice@a.example'), true);
    assert.equal(m.sees('alice@a.example', 'mia@a.example'), false);
    assert.deepEqual([...m.watchersOf('bob@a.example')].sort(), ['alice@a.example', 'carol@a.example', 'mia@a.example']);
    assert.deepEqual([...m.watchersOf('mia@a.example')], [], 'nobody sees the boss, the boss included');
  });

  it('counts every user of the host in an @all@ group, listed or not, and no one of another host', () => {
    const m = membership([group('All', [], { everyone: true })], ['ann', 'ben']);
    assert.deepEqual([...m.contactsOf('ann@a.example').keys()], ['ben@a.example']);
    assert.equal(m.sees('newcomer@a.example', 'ann@a.example'), true);
    assert.equal(m.sees('ann@a.example', 'newcomer@a.example'), true);
    assert.equal(m.sees('ann@b.example', 'ben@a.example'), false);
  });

  it('versions what a user sees, and fingerprints the whole membership', () => {
    const one = membership([group('Sales', ['alice', 'bob'])]);
    const same = membership([group('Sales', ['bob', 'alice'])]);
    const more = membership([group('Sales', ['alice', 'bob', 'carol'])]);
    assert.equal(one.versionOf('alice@a.example'), same.versionOf('alice@a.example'));
    assert.equal(one.fingerprint, same.fingerprint);
    assert.notEqual(one.versionOf('alice@a.example'), more.versionOf('alice@a.example'));
    assert.notEqual(one.fingerprint, more.fingerprint);
    assert.equal(one.versionOf('zoe@a.example'), undefined, 'no version for someone who sees nobody');
  });

  it('warns about a displayed group that does not exist and a name used twice', () => {
    const warnings: string[] = [];
    membership([group('Sales', ['alice'], { displayed: ['Sales', 'Nope'] }), group('Sales', ['bob'])], [], warnings);
    assert.deepEqual(warnings, [
      'shared group "Sales" of a.example is defined twice; the first definition is used',
      'shared group "Sales" of a.example displays "Nope", which does not exist',
    ]);
  });
});
