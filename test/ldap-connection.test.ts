// The LDAP connection pool against a real slapd: TLS (StartTLS and ldaps) verified against a
// CA, failover to the next server, backoff while no server answers, a bounded pool.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NoSuchObjectError } from 'ldapts';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { LdapPool, type LdapPoolOptions } from '../src/directory/ldap/connection-pool.js';
import { createLogger } from '../src/core/log.js';
import { DirectoryUnavailable } from '../src/directory/port.js';
import { PEOPLE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd } from './support/slapd.js';

const log = createLogger({ level: 'silent', format: 'json' });

describe('LDAP connection pool', function () {
  this.timeout(30_000);
  let slapd: Slapd;
  let ca: string;
  const pools: LdapPool[] = [];

  before(async () => {
    slapd = await Slapd.create();
    ca = readFileSync(slapd.caFile, 'utf8');
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  after(async () => {
    await slapd?.destroy();
  });

  function pool(options: Partial<LdapPoolOptions> = {}): LdapPool {
    const created = new LdapPool({
      name: 'test',
      urls: [slapd.url],
      startTls: true,
      ca,
      verify: true,
      connectTimeoutMs: 1000,
      timeoutMs: 1000,
      size: 2,
      bind: { dn: SERVICE_DN, password: SERVICE_PASSWORD },
      backoff: { minMs: 300, maxMs: 600 },
      ...options,
    }, log);
    pools.push(created);
    return created;
  }

  const uids = (p: LdapPool) => p.use(async (client) =>
    (await client.search(PEOPLE_DN, { filter: '(uid=*)', attributes: ['uid'] })).searchEntries.map((e) => e.uid).sort());

  it('searches as the service account over StartTLS, the certificate verified against the CA', async () => {
    assert.ok((await uids(pool())).includes('alice'));
  });

  it('refuses a server whose certificate the CA did not sign, unless verification is off', async () => {
    await assert.rejects(pool({ ca: undefined }).probe(), (err) => err instanceof DirectoryUnavailable && /certificate/i.test(err.message));
    assert.ok((await uids(pool({ ca: undefined, verify: false }))).includes('alice'));
  });

  it('speaks ldaps', async () => {
    assert.ok((await uids(pool({ urls: [slapd.ldapsUrl], startTls: false }))).includes('bob'));
  });

  it('without the service account, searches anonymously; LDAP answers are no outage', async () => {
    await assert.rejects(uids(pool({ bind: undefined })), NoSuchObjectError, 'anonymous clients may not see the base here');
  });

  it('fails over to the next server when the first does not answer', async () => {
    const dead = await listen((socket) => socket.destroy());
    try {
      assert.equal(await pool({ urls: [`ldap://127.0.0.1:${port(dead)}`, slapd.url] }).probe(), slapd.url);
    } finally {
      dead.close();
    }
  });

  it('reports a service account with a wrong password as unavailable', async () => {
    await assert.rejects(pool({ bind: { dn: SERVICE_DN, password: 'wrong' } }).probe(), /InvalidCredentialsError \(LDAP result 49\)/);
  });

  it('waits out the backoff delay without connecting, then tries again', async () => {
    let attempts = 0;
    const dead = await listen((socket) => {
      attempts++;
      socket.destroy();
    });
    try {
      const p = pool({ urls: [`ldap://127.0.0.1:${port(dead)}`] });
      await assert.rejects(uids(p), /no LDAP server answered/);
      await assert.rejects(uids(p), /next attempt in 1 s/);
      assert.equal(attempts, 1, 'no connection during the backoff');
      await new Promise((resolve) => setTimeout(resolve, 350));
      await assert.rejects(uids(p), /no LDAP server answered/);
      assert.equal(attempts, 2);
    } finally {
      dead.close();
    }
  });

  it('serves many concurrent operations with at most `size` connections', async () => {
    let connections = 0;
    const proxy = await listen((socket) => {
      connections++;
      const upstream = connect(slapd.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    try {
      const p = pool({ urls: [`ldap://127.0.0.1:${port(proxy)}`], size: 2 });
      const results = await Promise.all(Array.from({ length: 10 }, () => uids(p)));
      assert.equal(new Set(results.map((r) => r.join())).size, 1);
      assert.ok(results[0]!.includes('alice'));
      assert.equal(connections, 2);
    } finally {
      proxy.close();
    }
  });

  it('replaces connections slapd dropped when it restarted', async () => {
    const p = pool();
    await uids(p);
    await slapd.stop();
    await slapd.start();
    assert.ok((await uids(p)).includes('alice'));
  });
});

function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function port(server: Server): number {
  return (server.address() as { port: number }).port;
}
