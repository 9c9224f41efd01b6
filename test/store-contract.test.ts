// The storage contract: every adapter of src/store/ports.ts must pass this suite.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store, StoredScram } from '../src/store/ports.js';
import { SqliteStore } from '../src/store/sqlite.js';

interface Adapter {
  name: string;
  open(): Promise<{ store: Store; reopen(): Promise<Store>; dispose(): void }>;
}

const adapters: Adapter[] = [
  {
    name: 'SQLite (embedded)',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
      const path = join(dir, 'store.sqlite');
      return {
        store: new SqliteStore(path),
        reopen: async () => new SqliteStore(path),
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

const scram: Record<string, StoredScram> = { sha256: { salt: 'c2FsdA==', iterations: 4096, storedKey: 'a2V5', serverKey: 'c2Vy' } };

for (const adapter of adapters) {
  describe(`store contract: ${adapter.name}`, () => {
    let store: Store;
    let reopen: () => Promise<Store>;
    let dispose: () => void;

    beforeEach(async () => {
      ({ store, reopen, dispose } = await adapter.open());
    });
    afterEach(async () => {
      await store.close();
      dispose();
    });

    it('creates accounts once, per host, and lists and counts them', async () => {
      assert.equal(await store.accounts.create('a.example', 'alice', scram), true);
      assert.equal(await store.accounts.create('a.example', 'alice', scram), false);
      assert.equal(await store.accounts.create('b.example', 'alice', scram), true);
      await store.accounts.create('a.example', 'bob', scram);
      assert.deepEqual(await store.accounts.list('a.example'), ['alice', 'bob']);
      assert.equal(await store.accounts.count('b.example'), 1);
      assert.deepEqual((await store.accounts.get('a.example', 'alice'))?.scram, scram);
      assert.equal(await store.accounts.get('a.example', 'carol'), null);
    });

    it('replaces credentials only for existing accounts', async () => {
      const other = { sha1: { ...scram.sha256!, iterations: 8192 } };
      assert.equal(await store.accounts.setCredentials('a.example', 'nobody', other), false);
      await store.accounts.create('a.example', 'alice', scram);
      assert.equal(await store.accounts.setCredentials('a.example', 'alice', other), true);
      assert.deepEqual((await store.accounts.get('a.example', 'alice'))?.scram, other);
    });

    it('versions rosters: every change bumps the version, removing nothing does not', async () => {
      assert.deepEqual(await store.rosters.get('a.example', 'alice'), { version: 0, items: [] });
      const v1 = await store.rosters.put('a.example', 'alice', { jid: 'bob@a.example', subscription: 'none', ask: true, groups: ['Friends'] });
      const v2 = await store.rosters.put('a.example', 'alice', { jid: 'bob@a.example', name: 'Bob', subscription: 'to', groups: [] });
      assert.ok(v2 > v1);
      assert.equal(await store.rosters.remove('a.example', 'alice', 'nobody@a.example'), v2);
      const roster = await store.rosters.get('a.example', 'alice');
      assert.equal(roster.version, v2);
      assert.deepEqual(roster.items, [{ jid: 'bob@a.example', name: 'Bob', subscription: 'to', groups: [] }]);
      const v3 = await store.rosters.remove('a.example', 'alice', 'bob@a.example');
      assert.ok(v3 > v2);
      assert.deepEqual((await store.rosters.get('a.example', 'alice')).items, []);
    });

    it('keeps small documents per user, store and key', async () => {
      await store.kv.set('a.example', 'alice', 'vcard', '<vCard/>');
      await store.kv.set('a.example', 'alice', 'private', { x: 1 }, 'ns1');
      await store.kv.set('a.example', 'alice', 'private', { x: 2 }, 'ns2');
      assert.equal(await store.kv.get('a.example', 'alice', 'vcard'), '<vCard/>');
      assert.equal(await store.kv.get('a.example', 'bob', 'vcard'), undefined);
      assert.deepEqual(await store.kv.entries('a.example', 'alice', 'private'), [['ns1', { x: 1 }], ['ns2', { x: 2 }]]);
      await store.kv.set('a.example', 'alice', 'private', undefined, 'ns1');
      assert.deepEqual(await store.kv.get('a.example', 'alice', 'private', 'ns1'), undefined);
    });

    it('stores offline messages in order, within the quota, and removes the delivered ones', async () => {
      for (let i = 0; i < 3; i++) assert.equal(await store.offline.push('a.example', 'alice', `<message id='${i}'/>`, 1000 + i, 3), true);
      assert.equal(await store.offline.push('a.example', 'alice', `<message id='over'/>`, 2000, 3), false);
      const stored = await store.offline.list('a.example', 'alice');
      assert.deepEqual(stored.map((m) => m.stanza), [`<message id='0'/>`, `<message id='1'/>`, `<message id='2'/>`]);
      await store.offline.remove('a.example', 'alice', [stored[0]!.id, stored[1]!.id]);
      assert.equal(await store.offline.count('a.example', 'alice'), 1);
    });

    it('deletes an account with all of its data', async () => {
      await store.accounts.create('a.example', 'alice', scram);
      await store.rosters.put('a.example', 'alice', { jid: 'bob@a.example', subscription: 'both', groups: [] });
      await store.kv.set('a.example', 'alice', 'vcard', '<vCard/>');
      await store.offline.push('a.example', 'alice', '<message/>', 1, 10);
      await store.accounts.create('a.example', 'bob', scram);
      assert.equal(await store.accounts.delete('a.example', 'alice'), true);
      assert.equal(await store.accounts.delete('a.example', 'alice'), false);
      assert.deepEqual(await store.rosters.get('a.example', 'alice'), { version: 0, items: [] });
      assert.equal(await store.kv.get('a.example', 'alice', 'vcard'), undefined);
      assert.equal(await store.offline.count('a.example', 'alice'), 0);
      assert.notEqual(await store.accounts.get('a.example', 'bob'), null);
    });

    it('keeps everything across a close and reopen', async () => {
      await store.accounts.create('a.example', 'alice', scram);
      await store.offline.push('a.example', 'alice', '<message/>', 1, 10);
      await store.close();
      store = await reopen();
      assert.notEqual(await store.accounts.get('a.example', 'alice'), null);
      assert.equal(await store.offline.count('a.example', 'alice'), 1);
    });
  });
}
