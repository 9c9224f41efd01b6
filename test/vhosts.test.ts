// Several virtual hosts in one process: each has its own users and its own certificate.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { xml } from './support/client.js';
import { useHub } from './support/fixture.js';
import { RawClient, STREAM_HEADER } from './support/raw.js';

/** The certificate the hub presents for `servername` on its direct TLS port. */
function certificateFor(port: number, servername: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('virtual hosts', () => {
  const suite = useHub({
    yaml: `
hosts:
  - domain: localhost
    require_encryption: optional
  - domain: example.test
    require_encryption: required
`,
  });
  const { login } = suite;

  before(async () => {
    await suite.hub.addUser('alice', 'local-secret', 'localhost');
    await suite.hub.addUser('alice', 'example-secret', 'example.test');
  });

  it('presents each domain its own certificate (SNI)', async () => {
    const local = await certificateFor(suite.hub.directTlsPort, 'localhost');
    const example = await certificateFor(suite.hub.directTlsPort, 'example.test');
    assert.match(local.subjectaltname ?? '', /DNS:localhost/);
    assert.match(example.subjectaltname ?? '', /DNS:example\.test/);
    assert.notEqual(local.fingerprint256, example.fingerprint256);
  });

  it('keeps users apart: the same name has its own password on each domain', async () => {
    const onExample = await login('alice', { domain: 'example.test', password: 'example-secret' });
    assert.match(onExample.jid, /^alice@example\.test\//);
    await assert.rejects(login('alice', { domain: 'example.test', password: 'local-secret' }), /not-authorized/);
  });

  it('routes between the domains of one hub', async () => {
    const a = await login('alice', { password: 'local-secret', resource: 'r' });
    const b = await login('alice', { domain: 'example.test', password: 'example-secret', resource: 'r' });
    await a.send(xml('message', { to: 'alice@example.test/r', type: 'chat', id: 'cross' }, xml('body', {}, 'hello other domain')));
    const got = await b.waitFor((el) => el.attrs.id === 'cross');
    assert.equal(got.attrs.from, 'alice@localhost/r');
  });

  it('applies each domain\'s encryption policy: no SASL before STARTTLS where TLS is required', async () => {
    const strict = await RawClient.connect(suite.hub.port);
    strict.send(STREAM_HEADER('example.test'));
    const [features] = await strict.waitFor(/<stream:features>.*<\/stream:features>/);
    assert.match(features, /<starttls xmlns=["']urn:ietf:params:xml:ns:xmpp-tls["']><required\/><\/starttls>/);
    assert.doesNotMatch(features, /mechanisms/);
    strict.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAGV4YW1wbGUtc2VjcmV0</auth>`);
    await strict.waitFor(/<failure xmlns=["']urn:ietf:params:xml:ns:xmpp-sasl["']><encryption-required\/>/);
    strict.destroy();

    const relaxed = await RawClient.connect(suite.hub.port);
    relaxed.send(STREAM_HEADER('localhost'));
    const [open] = await relaxed.waitFor(/<stream:features>.*<\/stream:features>/);
    assert.match(open, /<starttls xmlns=["']urn:ietf:params:xml:ns:xmpp-tls["']\/>/);
    assert.match(open, /<mechanism>SCRAM-SHA-256<\/mechanism>/);
    relaxed.destroy();
  });
});
