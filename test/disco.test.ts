// Service discovery (XEP-0030) of the server and of user accounts, as a client sees it.
import assert from 'node:assert/strict';
import type { Element } from '../src/xmpp/xml.js';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';

describe('service discovery (XEP-0030)', () => {
  const suite = useHub({ users: { alice: 'wonderland', bob: 'builder' } });
  let alice: TestClient;

  before(async () => {
    alice = await suite.login('alice');
  });

  const query = async (ns: string, to?: string, node?: string): Promise<Element> => {
    const result = await alice.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: ns, node })));
    return result.getChild('query', ns)!;
  };
  const identities = (q: Element) => q.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`);
  const features = (q: Element) => q.getChildren('feature').map((f) => f.attrs.var);

  it('describes the server as an IM server with the features of its modules', async () => {
    const info = await query(INFO, 'localhost');
    assert.ok(identities(info).includes('server/im'), identities(info).join(' '));
    const vars = features(info);
    for (const ns of [INFO, ITEMS, 'jabber:iq:version', 'urn:xmpp:ping', 'vcard-temp', 'jabber:iq:private',
      'jabber:iq:last', 'urn:xmpp:time']) {
      assert.ok(vars.includes(ns), `server feature ${ns} missing from ${vars.join(' ')}`);
    }
  });

  it('lists no items on the server yet', async () => {
    const items = await query(ITEMS, 'localhost');
    assert.equal(items.getChildElements().length, 0);
  });

  it('answers item-not-found for a node it does not have', async () => {
    for (const ns of [INFO, ITEMS]) {
      await assert.rejects(query(ns, 'localhost', 'no-such-node'), { condition: 'item-not-found' });
      await assert.rejects(query(ns, 'bob@localhost', 'no-such-node'), { condition: 'item-not-found' });
    }
  });

  it('answers for an account on its behalf: registered account identity and account features', async () => {
    const info = await query(INFO, 'bob@localhost');
    assert.ok(identities(info).includes('account/registered'), identities(info).join(' '));
    assert.ok(!identities(info).includes('server/im'));
    const vars = features(info);
    assert.ok(vars.includes(INFO) && vars.includes('vcard-temp'), vars.join(' '));
    assert.ok(!vars.includes('urn:xmpp:time'), 'server-only features are not account features');
    const items = await query(ITEMS, 'bob@localhost');
    assert.equal(items.getChildElements().length, 0);
  });

  it('answers for the own account when the query has no "to"', async () => {
    const info = await query(INFO);
    assert.ok(identities(info).includes('account/registered'), identities(info).join(' '));
  });

  it('returns service-unavailable for an account that does not exist', async () => {
    await assert.rejects(query(INFO, 'nobody@localhost'), { condition: 'service-unavailable' });
    await assert.rejects(query(ITEMS, 'nobody@localhost'), { condition: 'service-unavailable' });
  });
});
