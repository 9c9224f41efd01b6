// Shared roster groups read from a real OpenLDAP slapd (fixtures/ldap/example.ldif): Sales
// (groupOfUniqueNames), Development (groupOfNames) and operations (posixGroup) members see
// each other in their rosters, with display names from their entries, and online; a member
// added to or removed from a group mid-test reaches online rosters (roster push) and presence
// within the refresh interval; the groups survive an outage of the directory.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { connect, xml, type TestClient } from './support/client.js';
import { startHub, type TestHub } from './support/hub.js';
import { GROUPS_DN, PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd } from './support/slapd.js';
import { bare } from './support/stanzas.js';

const ROSTER = 'jabber:iq:roster';
/** Seconds between readings of the groups (and the account refresh). */
const REFRESH_SECONDS = 1;
/** Longest wait for a change in LDAP to reach a client: a few refresh intervals. */
const CHANGE_TIMEOUT_MS = 8000;

const getRoster = (client: TestClient) => client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));

/** The roster as { jid: [subscription, name, groups] }. */
function rosterOf(result: Element): Record<string, [string | undefined, string | undefined, string[]]> {
  const items = result.getChild('query', ROSTER)?.getChildren('item') ?? [];
  return Object.fromEntries(items.map((item) => [
    item.attrs.jid!, [item.attrs.subscription, item.attrs.name, item.getChildren('group').map((g) => g.getText()).sort()],
  ]));
}

const pushOf = (contact: string, subscription?: string) => (el: Element) => {
  const item = el.is('iq') && el.attrs.type === 'set' ? el.getChild('query', ROSTER)?.getChild('item') : undefined;
  return item?.attrs.jid === contact && (subscription === undefined || item.attrs.subscription === subscription);
};
const presenceFrom = (user: string, type?: string) => (el: Element) =>
  el.is('presence') && el.attrs.from?.startsWith(`${user}/`) === true && el.attrs.type === type;

function hubYaml(slapd: Slapd): string {
  return `ldap:
  servers: ["${slapd.ldapsUrl}"]
  bind_dn: "${SERVICE_DN}"
  bind_password: ${SERVICE_PASSWORD}
  ca_file: ${JSON.stringify(slapd.caFile)}
  refresh_interval: ${REFRESH_SECONDS}
  reconnect: { min_delay: 0.2, max_delay: 1 }
hosts:
  - domain: localhost
    require_encryption: optional
    directory: ldap
    ldap:
      base: "${PEOPLE_DN}"
      enabled_filter: "(!(employeeType=disabled))"
    ldap_shared_groups:
      base: "${GROUPS_DN}"
`;
}

describe('shared roster groups from LDAP', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let hub: TestHub;
  const clients: TestClient[] = [];
  before(async () => {
    slapd = await Slapd.create();
    hub = await startHub({ yaml: hubYaml(slapd) });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  after(async () => {
    await hub?.stop();
    await slapd?.destroy();
  });

  async function login(username: string, resource = 'r'): Promise<TestClient> {
    const client = await connect(hub, { username, resource, password: `${username}-pw` });
    clients.push(client);
    return client;
  }

  it('shows the members of each group, with their names, and presence flows without a handshake', async () => {
    const carol = await login('carol');
    assert.deepEqual(rosterOf(await getRoster(carol)), { [bare('dave')]: ['both', 'Dave Debugger', ['Development']] });
    const dave = await login('dave');
    assert.deepEqual(rosterOf(await getRoster(dave)), {
      [bare('alice')]: ['both', 'Alice Liddell', ['operations']],
      [bare('carol')]: ['both', 'Carol Coder', ['Development']],
    });
    await carol.waitFor(presenceFrom(bare('dave')));
    await dave.waitFor(presenceFrom(bare('carol')));

    const alice = await login('alice');
    const bob = await login('bob');
    assert.deepEqual(rosterOf(await getRoster(bob)), { [bare('alice')]: ['both', 'Alice Liddell', ['Sales']] });
    await bob.waitFor(presenceFrom(bare('alice')));
    await alice.waitFor(presenceFrom(bare('bob')));
    await alice.waitFor(presenceFrom(bare('dave')));
    assert.ok(!carol.received.some(presenceFrom(bare('alice'))), 'carol shares no group with alice');

    await bob.stop();
    await alice.waitFor(presenceFrom(bare('bob'), 'unavailable'));
  });

  it('pushes a member added to a group to online rosters within the refresh interval, with presence; and a removal', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');
    for (const client of [alice, bob, carol]) await getRoster(client);

    await slapd.modify(`dn: cn=Sales,${GROUPS_DN}\nchangetype: modify\nadd: uniqueMember\nuniqueMember: uid=carol,${PEOPLE_DN}\n`);
    const push = await alice.waitFor(pushOf(bare('carol'), 'both'), CHANGE_TIMEOUT_MS);
    const item = push.getChild('query', ROSTER)!.getChild('item')!;
    assert.equal(item.attrs.name, 'Carol Coder');
    assert.deepEqual(item.getChildren('group').map((g) => g.getText()), ['Sales']);
    await bob.waitFor(pushOf(bare('carol'), 'both'), CHANGE_TIMEOUT_MS);
    await carol.waitFor(pushOf(bare('alice'), 'both'), CHANGE_TIMEOUT_MS);
    await carol.waitFor(pushOf(bare('bob'), 'both'), CHANGE_TIMEOUT_MS);
    // Newly visible members get each other's presence at once.
    await alice.waitFor(presenceFrom(bare('carol')), CHANGE_TIMEOUT_MS);
    await carol.waitFor(presenceFrom(bare('alice')), CHANGE_TIMEOUT_MS);
    assert.deepEqual(rosterOf(await getRoster(carol))[bare('alice')], ['both', 'Alice Liddell', ['Sales']]);

    await slapd.modify(`dn: cn=Sales,${GROUPS_DN}\nchangetype: modify\ndelete: uniqueMember\nuniqueMember: uid=carol,${PEOPLE_DN}\n`);
    await alice.waitFor(pushOf(bare('carol'), 'remove'), CHANGE_TIMEOUT_MS);
    await alice.waitFor(presenceFrom(bare('carol'), 'unavailable'), CHANGE_TIMEOUT_MS);
    await carol.waitFor(pushOf(bare('alice'), 'remove'), CHANGE_TIMEOUT_MS);
    assert.ok(!(bare('carol') in rosterOf(await getRoster(alice))));
  });

  it('adds a new LDAP user to the rosters of the group they join', async () => {
    const carol = await login('carol');
    await getRoster(carol);
    await slapd.add(`dn: uid=frank,${PEOPLE_DN}
objectClass: inetOrgPerson
uid: frank
cn: Frank Fresh
sn: Fresh
displayName: Frank Fresh
employeeType: staff
userPassword: frank-pw
`);
    await slapd.modify(`dn: cn=Development,${GROUPS_DN}\nchangetype: modify\nadd: member\nmember: uid=frank,${PEOPLE_DN}\n`);
    const push = await carol.waitFor(pushOf(bare('frank'), 'both'), CHANGE_TIMEOUT_MS);
    assert.equal(push.getChild('query', ROSTER)!.getChild('item')!.attrs.name, 'Frank Fresh');
    const frank = await login('frank');
    assert.deepEqual(rosterOf(await getRoster(frank))[bare('carol')], ['both', 'Carol Coder', ['Development']]);
    await carol.waitFor(presenceFrom(bare('frank')));
  });

  it('keeps the groups while the directory is down, and follows changes again once it is back', async () => {
    const alice = await login('alice');
    await getRoster(alice);
    await slapd.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, 3 * REFRESH_SECONDS * 1000));
      assert.deepEqual(rosterOf(await getRoster(alice))[bare('bob')], ['both', 'Bob Builder', ['Sales']]);
    } finally {
      await slapd.start();
    }
    await slapd.modify(`dn: cn=operations,${GROUPS_DN}\nchangetype: modify\nadd: memberUid\nmemberUid: bob\n`);
    await alice.waitFor((el) => pushOf(bare('bob'), 'both')(el)
      && el.getChild('query', ROSTER)!.getChild('item')!.getChildren('group').length === 2, 3 * CHANGE_TIMEOUT_MS);
  });
});
