// User directory search (XEP-0055) on a host with internal accounts: usernames only, for the
// host's own users, where enabled.
import assert from 'node:assert/strict';
import { xml, type TestClient } from './support/client.js';
import { useHub } from './support/fixture.js';

const SEARCH = 'jabber:iq:search';
const DATA = 'jabber:x:data';

describe('user search (XEP-0055) with internal accounts', () => {
  const suite = useHub({
    yaml: `hosts:
  - domain: localhost
    require_encryption: optional
    search: { enabled: true, limit: 2 }
  - domain: quiet.localhost
    require_encryption: optional
`,
    users: ['alice', 'alicia', 'malik', 'bob'],
  });

  async function search(client: TestClient, user: string, to = 'localhost'): Promise<string[]> {
    const form = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'user' }, xml('value', {}, user)));
    const result = await client.iq(xml('iq', { type: 'set', to }, xml('query', { xmlns: SEARCH }, form)));
    return result.getChild('query', SEARCH)!.getChild('x', DATA)!.getChildren('item')
      .map((item) => item.getChild('field')!.getChildText('value')!).sort();
  }

  it('offers a form with the username field', async () => {
    const bob = await suite.login('bob');
    const result = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: SEARCH })));
    const fields = result.getChild('query', SEARCH)!.getChild('x', DATA)!.getChildren('field');
    assert.deepEqual(fields.map((f) => [f.attrs.var, f.attrs.type]), [['FORM_TYPE', 'hidden'], ['user', 'text-single']]);
  });

  it('finds usernames containing the text, case-insensitively, up to the limit', async () => {
    const bob = await suite.login('bob');
    assert.deepEqual(await search(bob, 'LIK'), ['malik@localhost']);
    assert.equal((await search(bob, 'ali')).length, 2, 'alice, alicia and malik match; the limit is 2');
    assert.deepEqual(await search(bob, 'nobody'), []);
  });

  it('refuses an empty search and a host where search is off', async () => {
    const bob = await suite.login('bob');
    await assert.rejects(search(bob, ' '), (err: { condition?: string }) => err.condition === 'not-acceptable');
    await assert.rejects(search(bob, 'ali', 'quiet.localhost'), (err: { condition?: string }) => err.condition === 'service-unavailable');
  });
});
