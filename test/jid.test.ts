import assert from 'node:assert/strict';
import { Jid, JidError } from '../src/core/jid.js';
import { PrecisError, prepareDomain, prepareOpaqueString, prepareUsername } from '../src/core/precis.js';

const parts = (s: string) => {
  const j = Jid.parse(s);
  return [j.local, j.domain, j.resource];
};
const invalid = (s: string) =>
  assert.throws(() => Jid.parse(s), (e: unknown) => e instanceof JidError && e.condition === 'jid-malformed', s);

describe('precis', () => {
  it('UsernameCaseMapped: case folding, width mapping, NFC', () => {
    assert.equal(prepareUsername('Juliet'), 'juliet');
    assert.equal(prepareUsername('\uff2a\uff35\uff2c\uff29\uff25\uff34'), 'juliet'); // ＪＵＬＩＥＴ
    assert.equal(prepareUsername('\uff76\uff9e'), '\u30ac'); // halfwidth ｶﾞ → ガ
    assert.equal(prepareUsername('e\u0301'), '\u00e9');
    assert.equal(prepareUsername('\u03a3'), '\u03c3');
    assert.equal(prepareUsername('stra\u00dfe'), 'stra\u00dfe');
  });

  it('UsernameCaseMapped: rejects IdentifierClass violations', () => {
    for (const s of ['', 'foo bar', 'henry\u2163', '\u265a', 'a\u00a0b', 'a\u200bb', 'a\u200db', 'a\u0000b', 'a\u0640b', '\ue000', '\u1113\u1161', 'a\u2028', 'x\ud800']) {
      assert.throws(() => prepareUsername(s), PrecisError, JSON.stringify(s));
    }
  });

  it('UsernameCaseMapped: CONTEXTO rules', () => {
    assert.equal(prepareUsername('l\u00b7l'), 'l\u00b7l');
    assert.throws(() => prepareUsername('a\u00b7b'), PrecisError);
    assert.equal(prepareUsername('\u05d0\u05f3'), '\u05d0\u05f3');
    assert.throws(() => prepareUsername('a\u05f3'), PrecisError);
    assert.equal(prepareUsername('\u30ab\u30fb\u30ab'), '\u30ab\u30fb\u30ab');
    assert.throws(() => prepareUsername('a\u30fbb'), PrecisError);
    assert.throws(() => prepareUsername('\u0628\u0661\u06f1'), PrecisError); // mixed Arabic-Indic digits
  });

  it('UsernameCaseMapped: Bidi Rule', () => {
    assert.equal(prepareUsername('\u05e9\u05dc\u05d5\u05dd'), '\u05e9\u05dc\u05d5\u05dd'); // שלום
    assert.equal(prepareUsername('\u05d0123'), '\u05d0123'); // RTL ending in EN
    assert.throws(() => prepareUsername('1\u05d0'), /Bidi Rule condition 1/);
    assert.throws(() => prepareUsername('\u05d0a'), /Bidi Rule condition 2/);
    assert.throws(() => prepareUsername('\u05d0!'), /Bidi Rule condition 3/);
    assert.throws(() => prepareUsername('\u0628\u0661' + '1'), /Bidi Rule condition 4/);
    assert.throws(() => prepareUsername('a\u05d0'), /Bidi Rule condition 5/);
  });

  it('OpaqueString: keeps case, maps spaces, allows symbols and compatibility characters', () => {
    assert.equal(prepareOpaqueString('Foo Bar'), 'Foo Bar');
    assert.equal(prepareOpaqueString('a\u00a0b\u3000c'), 'a b c');
    assert.equal(prepareOpaqueString('\u265a'), '\u265a');
    assert.equal(prepareOpaqueString('henry\u2163'), 'henry\u2163');
    assert.equal(prepareOpaqueString('e\u0301'), '\u00e9');
    for (const s of ['', 'a\tb', 'a\u200bb', '\u00ad', 'a\u{e0001}', '\ufdd0']) {
      assert.throws(() => prepareOpaqueString(s), PrecisError, JSON.stringify(s));
    }
  });

  it('domains: mapping, labels, IDN, IP literals', () => {
    assert.equal(prepareDomain('Example.COM.'), 'example.com');
    assert.equal(prepareDomain('example\u3002com'), 'example.com');
    assert.equal(prepareDomain('\uff45\uff58\uff0ecom'), 'ex.com');
    assert.equal(prepareDomain('B\u00dcCHER.example'), 'b\u00fccher.example');
    assert.equal(prepareDomain('xn--bcher-kva.example'), 'b\u00fccher.example');
    assert.equal(prepareDomain('\u0645\u062b\u0627\u0644.example'), '\u0645\u062b\u0627\u0644.example');
    assert.equal(prepareDomain('localhost'), 'localhost');
    assert.equal(prepareDomain('192.0.2.1'), '192.0.2.1');
    assert.equal(prepareDomain('[::1]'), '[::1]');
    assert.equal(prepareDomain('[2001:DB8:0:0::1]'), '[2001:db8::1]');
    for (const s of [
      '', '.', 'a..b', '.a', 'a_b.com', '-a.com', 'a-.com', 'ab--c.com', 'xn--bcher-kvb.com', 'a b.com', 'a!.com',
      '\u265a.com', '\u2163.com', 'a'.repeat(64) + '.com', '[::1', '[fe80::1%eth0]', '[1.2.3.4]', '256.1.1.1',
      'example.123', '1\u05d0.com', 'ab\u0645.com', '\u0301a.com',
    ]) {
      assert.throws(() => prepareDomain(s), PrecisError, JSON.stringify(s));
    }
  });
});

describe('Jid', () => {
  describe('RFC 7622 §3.5 examples', () => {
    it('accepts the valid JIDs', () => {
      assert.deepEqual(parts('juliet@example.com'), ['juliet', 'example.com', '']);
      assert.deepEqual(parts('juliet@example.com/foo'), ['juliet', 'example.com', 'foo']);
      assert.deepEqual(parts('juliet@example.com/foo bar'), ['juliet', 'example.com', 'foo bar']);
      assert.deepEqual(parts('juliet@example.com/foo@bar'), ['juliet', 'example.com', 'foo@bar']);
      assert.deepEqual(parts('foo\\20bar@example.com'), ['foo\\20bar', 'example.com', '']);
      assert.deepEqual(parts('fussball@example.com'), ['fussball', 'example.com', '']);
      assert.deepEqual(parts('fu\u00dfball@example.com'), ['fu\u00dfball', 'example.com', '']);
      assert.deepEqual(parts('\u03c0@example.com'), ['\u03c0', 'example.com', '']);
      assert.deepEqual(parts('\u03a3@example.com/foo'), ['\u03c3', 'example.com', 'foo']);
      assert.deepEqual(parts('\u03c3@example.com/foo'), ['\u03c3', 'example.com', 'foo']);
      assert.deepEqual(parts('\u03c2@example.com/foo'), ['\u03c2', 'example.com', 'foo']);
      assert.deepEqual(parts('king@example.com/\u265a'), ['king', 'example.com', '\u265a']);
      assert.deepEqual(parts('example.com'), ['', 'example.com', '']);
      assert.deepEqual(parts('example.com/foobar'), ['', 'example.com', 'foobar']);
      assert.deepEqual(parts('a.example.com/b@example.net'), ['', 'a.example.com', 'b@example.net']);
      assert.deepEqual(parts('juliet@example.com/ foo'), ['juliet', 'example.com', ' foo']);
    });

    it('rejects the invalid JIDs', () => {
      for (const s of [
        '"juliet"@example.com', 'foo bar@example.com', 'juliet@example.com/', '@example.com/', '@example.com',
        'henry\u2163@example.com', '\u265a@example.com', 'juliet@', '/foobar', '', '@', '/', 'juliet@/r',
      ]) {
        invalid(s);
      }
    });
  });

  it('rejects the localpart exclusions of RFC 7622 §3.3.1', () => {
    for (const c of ['"', '&', "'", ':', '<', '>', '\uff20', '\uff1a']) invalid(`a${c}b@example.com`);
    assert.deepEqual(parts('a/b@example.com'), ['', 'a', 'b@example.com']); // '/' starts the resource
  });

  it('splits on the first "/" and the first "@" before it', () => {
    invalid('a@b@c/d'); // '@' is not allowed in a domain label
    assert.deepEqual(parts('a@b/c/d@e'), ['a', 'b', 'c/d@e']);
  });

  it('case-folds localpart and domainpart but not the resourcepart', () => {
    assert.deepEqual(parts('JuLiEt@Example.COM/BalCony'), ['juliet', 'example.com', 'BalCony']);
    assert.ok(Jid.parse('Juliet@Example.com/R').equals(Jid.parse('juliet@example.com/R')));
    assert.ok(!Jid.parse('juliet@example.com/R').equals(Jid.parse('juliet@example.com/r')));
  });

  it('applies width mapping and NFC', () => {
    assert.deepEqual(parts('\uff2a\uff55\uff4c\uff49\uff45\uff54@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d'), [
      'juliet', 'example.com', '',
    ]);
    assert.deepEqual(parts('Cafe\u0301@caf\u0065\u0301.example/Cafe\u0301'), ['caf\u00e9', 'caf\u00e9.example', 'Caf\u00e9']);
    assert.equal(Jid.parse('a@example.com/\u00a0x').resource, ' x');
  });

  it('strips one trailing dot from the domainpart', () => {
    assert.equal(Jid.parse('juliet@example.com./r').toString(), 'juliet@example.com/r');
    assert.ok(Jid.parse('example.com.').equals(Jid.parse('example.com')));
    invalid('example.com..');
    invalid('.');
  });

  it('accepts IP literals', () => {
    assert.deepEqual(parts('juliet@[::1]/r'), ['juliet', '[::1]', 'r']);
    assert.deepEqual(parts('juliet@[2001:DB8::1]'), ['juliet', '[2001:db8::1]', '']);
    assert.deepEqual(parts('juliet@192.0.2.1/r'), ['juliet', '192.0.2.1', 'r']);
    invalid('juliet@[::1');
    invalid('juliet@[not-ip]');
    invalid('juliet@192.0.2.256');
  });

  it('enforces 1023-octet limits per part (UTF-8)', () => {
    const label = 'a'.repeat(63);
    const domain1023 = `${label}.`.repeat(16).slice(0, 1023).replace(/\.$/, 'b');
    assert.equal(domain1023.length, 1023);
    assert.equal(Jid.parse(`${'l'.repeat(1023)}@${domain1023}/${'r'.repeat(1023)}`).toString().length, 3071);
    invalid(`${'l'.repeat(1024)}@example.com`);
    invalid(`${domain1023}b`); // last label now 64 octets
    assert.throws(() => prepareDomain(`${'ab.'.repeat(342)}ab`), /1023 octets/);
    assert.equal(prepareDomain(`${'ab.'.repeat(341)}`).length, 1022);
    assert.equal(prepareDomain(`${'ab.'.repeat(340)}abc.`).length, 1023);
    assert.throws(() => prepareDomain(`${'ab.'.repeat(341)}a`), /1023 octets/);
    assert.throws(() => prepareDomain(`${'ab.'.repeat(341)}a.`), /1023 octets/);
    assert.equal(prepareDomain(`${'\u00e9b.'.repeat(255)}\u00e9b`).length, 767); // 1023 octets
    assert.throws(() => prepareDomain(`${'\u00e9b.'.repeat(255)}\u00e9bc`), /1023 octets/); // 1024 octets
    invalid(`a@example.com/${'r'.repeat(1024)}`);
    assert.equal(Jid.parse(`${'\u00e9'.repeat(511)}@example.com`).local.length, 511); // 1022 octets
    invalid(`${'\u00e9'.repeat(512)}@example.com`); // 1024 octets
    invalid(`a@example.com/${'\u265a'.repeat(342)}`); // 1026 octets
    invalid('x'.repeat(100_000));
  });

  it('bare and full JIDs', () => {
    const full = Jid.parse('juliet@example.com/balcony');
    assert.equal(full.isBare, false);
    assert.equal(full.toString(), 'juliet@example.com/balcony');
    assert.equal(full.bareString, 'juliet@example.com');
    const bare = full.bare;
    assert.equal(bare.isBare, true);
    assert.equal(bare.toString(), 'juliet@example.com');
    assert.equal(bare.resource, '');
    assert.equal(full.bare, bare, 'bare is cached');
    assert.equal(bare.bare, bare, 'bare of a bare JID is itself');
    assert.equal(Jid.parse('example.com/x').bareString, 'example.com');
    assert.equal(`${Jid.parse('example.com')}`, 'example.com');
  });

  it('equals compares all three parts', () => {
    const a = Jid.parse('juliet@example.com/balcony');
    assert.ok(a.equals(Jid.of('juliet', 'example.com', 'balcony')));
    assert.ok(!a.equals(a.bare));
    assert.ok(a.bare.equals(Jid.of('juliet', 'example.com')));
    assert.ok(!Jid.of('', 'example.com').equals(Jid.of('example.com', '')));
  });

  it('of() trusts its input and withResource() prepares the resource', () => {
    const j = Jid.of('romeo', 'example.net');
    assert.equal(j.toString(), 'romeo@example.net');
    const w = j.withResource('Orchard\u00a0Wall');
    assert.equal(w.toString(), 'romeo@example.net/Orchard Wall');
    assert.equal(w.withResource('Orchard Wall'), w);
    assert.equal(w.withResource(''), w.bare);
    assert.throws(() => j.withResource('a\u0000b'), JidError);
  });

  it('is idempotent: re-parsing the string form yields an equal JID', () => {
    for (const s of ['Juliet@Example.com/Balcony', '\uff2a@\uff45x.com/\u00a0r', 'xn--bcher-kva.example/x', 'Cafe\u0301@[::1]', '\u05e9@\u05d0.example']) {
      const j = Jid.parse(s);
      assert.ok(Jid.parse(j.toString()).equals(j), s);
    }
  });

  it('memoizes parse results', () => {
    assert.equal(Jid.parse('memo@example.com/x'), Jid.parse('memo@example.com/x'));
  });

  it('JidError carries the jid-malformed condition and the PRECIS cause', () => {
    try {
      Jid.parse('\u265a@example.com');
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof JidError);
      assert.equal(e.condition, 'jid-malformed');
      assert.match(e.message, /localpart/);
      assert.ok(e.cause instanceof PrecisError);
    }
  });
});
