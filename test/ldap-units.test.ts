// The pure parts of the LDAP directory: filter escaping (RFC 4515), stored password values
// ({SSHA}..., RFC 5803 SCRAM secrets) and the lookup cache.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { and, anyUserFilter, contains, escapeFilterValue, userFilter } from '../src/directory/ldap/filter.js';
import { LookupCache } from '../src/directory/ldap/lookup-cache.js';
import { matchesStoredPassword, scramSecret } from '../src/directory/ldap/password-hash.js';
import { DirectoryUnavailable } from '../src/directory/port.js';
import { deriveScram } from '../src/directory/scram.js';

describe('LDAP filters (RFC 4515)', () => {
  it('escapes the five special characters and nothing else', () => {
    assert.equal(escapeFilterValue('*'), '\\2a');
    assert.equal(escapeFilterValue('('), '\\28');
    assert.equal(escapeFilterValue(')'), '\\29');
    assert.equal(escapeFilterValue('\\'), '\\5c');
    assert.equal(escapeFilterValue('\0'), '\\00');
    assert.equal(escapeFilterValue('a)(uid=*'), 'a\\29\\28uid=\\2a');
    assert.equal(escapeFilterValue('alic\\65'), 'alic\\5c65');
    assert.equal(escapeFilterValue('jürgen.o\'neil-2'), 'jürgen.o\'neil-2');
  });

  it('puts the escaped username into every %u of the template', () => {
    assert.equal(userFilter('(uid=%u)', 'alice'), '(uid=alice)');
    assert.equal(userFilter('(|(uid=%u)(mail=%u@example.org))', 'b*'), '(|(uid=b\\2a)(mail=b\\2a@example.org))');
    assert.equal(userFilter('(uid=%u)', 'x)(objectClass=*'), '(uid=x\\29\\28objectClass=\\2a)');
  });

  it('builds presence, AND and substring filters', () => {
    assert.equal(anyUserFilter('(&(objectClass=person)(uid=%u))'), '(&(objectClass=person)(uid=*))');
    assert.equal(and('(uid=a)', undefined, '(!(x=y))'), '(&(uid=a)(!(x=y)))');
    assert.equal(and('(uid=a)', undefined), '(uid=a)');
    assert.equal(contains('cn', 'O*Neil'), '(cn=*O\\2aNeil*)');
  });
});

describe('stored LDAP passwords', () => {
  const salted = (scheme: string, algorithm: string, password: string, salt: Buffer) =>
    `{${scheme}}${Buffer.concat([createHash(algorithm).update(password).update(salt).digest(), salt]).toString('base64')}`;

  it('matches {SSHA}, {SHA}, {SSHA256}, {SSHA512} and {SMD5} values, scheme names in any case', async () => {
    const salt = Buffer.from('pepper!!');
    const values = [
      '{SSHA}fhY/O2A8ubMVdLMPp2aJMP7yGsM3U4dV', // slappasswd -h {SSHA} -s alice-pw
      `{SHA}${createHash('sha1').update('alice-pw').digest('base64')}`,
      salted('SSHA256', 'sha256', 'alice-pw', salt),
      salted('ssha512', 'sha512', 'alice-pw', salt),
      salted('SMD5', 'md5', 'alice-pw', salt),
    ];
    for (const value of values) {
      assert.equal(await matchesStoredPassword([value], 'alice-pw'), true, value);
      assert.equal(await matchesStoredPassword([value], 'alice-pW'), false, value);
    }
  });

  it('never matches unknown schemes, clear text or malformed values', async () => {
    for (const value of ['alice-pw', '{CLEARTEXT}alice-pw', '{CRYPT}$6$abc$def', '{SSHA}', '{SSHA}AAAA', '{SHA}not base64!']) {
      assert.equal(await matchesStoredPassword([value], 'alice-pw'), false, value);
    }
    assert.equal(await matchesStoredPassword([], 'alice-pw'), false);
  });

  it('reads RFC 5803 SCRAM secrets, for SCRAM and for PLAIN', async () => {
    const cred = await deriveScram('sam-pw', 'sha256', 4096, Buffer.from('salty'));
    const b64 = (b: Buffer) => b.toString('base64');
    const value = `SCRAM-SHA-256$4096:${b64(cred.salt)}$${b64(cred.storedKey)}:${b64(cred.serverKey)}`;
    assert.deepEqual(scramSecret(['{SSHA}xyz', value], 'sha256'), cred);
    assert.equal(scramSecret([value], 'sha1'), null);
    assert.equal(scramSecret([`SCRAM-SHA-256$4096:${b64(cred.salt)}$${b64(cred.storedKey)}:AAAA`], 'sha256'), null, 'wrong key length');
    assert.equal(await matchesStoredPassword([value], 'sam-pw'), true);
    assert.equal(await matchesStoredPassword([value], 'sam-pw!'), false);
  });
});

describe('LDAP lookup cache', () => {
  let now = 0;
  const clock = () => now;
  const counting = <V>(value: V) => {
    const load = async () => {
      load.calls++;
      return value;
    };
    load.calls = 0;
    return load;
  };

  beforeEach(() => {
    now = 0;
  });

  it('remembers found entries for the TTL and absent ones for the negative TTL', async () => {
    const cache = new LookupCache<string>(1000, 100, 10, clock);
    const found = counting<string | null>('entry');
    const absent = counting<string | null>(null);
    assert.equal(await cache.get('a', found), 'entry');
    assert.equal(await cache.get('b', absent), null);
    now = 99;
    await cache.get('a', found);
    await cache.get('b', absent);
    assert.deepEqual([found.calls, absent.calls], [1, 1]);
    now = 100;
    await cache.get('b', absent);
    assert.equal(absent.calls, 2, 'the negative entry expired');
    now = 1000;
    await cache.get('a', found);
    assert.equal(found.calls, 2, 'the positive entry expired');
  });

  it('shares one query between concurrent lookups of a key', async () => {
    const cache = new LookupCache<string>(1000, 100, 10, clock);
    const load = counting<string | null>('entry');
    assert.deepEqual(await Promise.all([cache.get('a', load), cache.get('a', load), cache.fresh('a', load)]), ['entry', 'entry', 'entry']);
    assert.equal(load.calls, 1);
  });

  it('answers with an expired found entry while the directory is unavailable, never with an absent one', async () => {
    const cache = new LookupCache<string>(1000, 100, 10, clock);
    await cache.get('a', async () => 'entry');
    await cache.get('b', async () => null);
    now = 5000;
    const down = async (): Promise<string | null> => {
      throw new DirectoryUnavailable('down');
    };
    assert.equal(await cache.get('a', down), 'entry');
    await assert.rejects(cache.get('b', down), DirectoryUnavailable);
    await assert.rejects(cache.get('c', down), DirectoryUnavailable);
    await assert.rejects(cache.fresh('a', down), DirectoryUnavailable, 'fresh lookups (logins) never use old entries');
  });

  it('keeps at most the configured number of entries, dropping the oldest', async () => {
    const cache = new LookupCache<string>(1000, 1000, 2, clock);
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => key);
    const load = counting<string | null>('again');
    assert.equal(await cache.get('a', load), 'again');
    assert.equal(await cache.get('c', load), 'c');
    assert.equal(load.calls, 1);
  });
});
