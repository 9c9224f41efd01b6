// The web client over HTTP: /chat/ and /chat/embed set up for the host and transport asked
// for, their security headers, the Converse.js files under /chat/dist/ (types, caching, no
// listing, no way out of the folder), and nothing at all when the client is disabled.
import assert from 'node:assert/strict';
import http from 'node:http';
import { httpRequest, httpYaml, type HttpResult } from './support/bosh.js';
import { useHub } from './support/fixture.js';

const TITLE = 'Chat & "more" </title><script>alert(1)</script>';

/** The settings a page hands to converse.initialize(), and the flags of its start script. */
interface PageConfig {
  settings: Record<string, unknown>;
  embed: boolean;
  tokenCredentials: boolean;
}

function pageConfig(html: string): PageConfig {
  const json = /<script type="application\/json" id="switchboard-chat">([^<]*)<\/script>/.exec(html)?.[1];
  assert.ok(json, 'the page carries its settings');
  return JSON.parse(json) as PageConfig;
}

/** One CSP directive's value. */
function directive(res: HttpResult, name: string): string | undefined {
  const policy = String(res.headers['content-security-policy'] ?? '');
  return policy.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `))?.slice(name.length + 1);
}

/** A request with the path exactly as given (no URL normalisation on our side). */
function rawGet(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

describe('web client pages', () => {
  const suite = useHub({
    yaml: httpYaml('cors_origins: ["https://mail.example.org"]', `web_client: { title: ${JSON.stringify(TITLE)} }`)
      + 'hosts:\n  - domain: localhost\n    require_encryption: optional\n  - domain: example.net\n    registration: true\n',
  });
  const url = (path: string): string => `http://127.0.0.1:${suite.hub.httpPort}${path}`;

  it('serves /chat/ set up for the host the browser asked for, with the BOSH and WebSocket endpoints there', async () => {
    const res = await httpRequest(url('/chat/'), { headers: { Host: 'chat.example.org:5280' } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.text, /<link rel="stylesheet" href="\/chat\/dist\/converse\.min\.css">/);
    assert.match(res.text, /import converse from '\/chat\/dist\/converse\.min\.js';/);
    assert.match(res.text, /<body class="converse-fullscreen">/);
    const { settings, embed } = pageConfig(res.text);
    assert.equal(embed, false);
    assert.equal(settings.bosh_service_url, 'http://chat.example.org:5280/http-bind/');
    assert.equal(settings.websocket_url, 'ws://chat.example.org:5280/xmpp-websocket');
    assert.equal(settings.view_mode, 'fullscreen');
    // No configured host by that name: the first host is the default, other hosts' users type full addresses.
    assert.equal(settings.default_domain, 'localhost');
    assert.equal(settings.locked_domain, undefined);
    assert.equal(settings.allow_registration, false);
    assert.equal(settings.discover_connection_methods, false);
    for (const feature of ['roster_groups', 'allow_contact_requests', 'allow_contact_removal', 'play_sounds', 'auto_reconnect']) {
      assert.equal(settings[feature], true, feature);
    }
    assert.equal(settings.hide_offline_users, false);
    assert.equal(settings.sounds_path, '/chat/dist/sounds/');
    assert.equal(settings.assets_path, '/chat/dist/');
  });

  it('points to https:// and wss:// endpoints when served over HTTPS', async () => {
    const origin = `127.0.0.1:${suite.hub.httpsPort}`;
    const { settings } = pageConfig((await httpRequest(`https://${origin}/chat/`)).text);
    assert.equal(settings.bosh_service_url, `https://${origin}/http-bind/`);
    assert.equal(settings.websocket_url, `wss://${origin}/xmpp-websocket`);
  });

  it('locks the login to the configured host the browser named', async () => {
    const res = await httpRequest(url('/chat/'), { headers: { Host: 'example.net' } });
    const { settings } = pageConfig(res.text);
    assert.equal(settings.locked_domain, 'example.net');
    assert.equal(settings.default_domain, undefined);
    assert.equal(settings.allow_registration, true);
    assert.equal(settings.bosh_service_url, 'http://example.net/http-bind/');
  });

  it('forces one transport with ?transport=, and refuses unknown ones', async () => {
    const bosh = pageConfig((await httpRequest(url('/chat/?transport=bosh'))).text).settings;
    assert.equal(bosh.bosh_service_url, `http://127.0.0.1:${suite.hub.httpPort}/http-bind/`);
    assert.equal(bosh.websocket_url, undefined);
    const websocket = pageConfig((await httpRequest(url('/chat/?transport=websocket'))).text).settings;
    assert.equal(websocket.bosh_service_url, undefined);
    assert.equal(websocket.websocket_url, `ws://127.0.0.1:${suite.hub.httpPort}/xmpp-websocket`);
    assert.equal((await httpRequest(url('/chat/?transport=carrier-pigeon'))).status, 400);
  });

  it('escapes the configured title and what the request brings into the page', async () => {
    const res = await httpRequest(url('/chat/'), { headers: { Host: 'evil.example"><script>alert(1)</script>' } });
    assert.match(res.text, /<title>Chat &amp; &quot;more&quot; &lt;\/title&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/title>/);
    assert.doesNotMatch(res.text, /<script>alert/);
    assert.equal(pageConfig(res.text).settings.bosh_service_url, 'http://localhost/http-bind/');
  });

  it('sends a Content-Security-Policy for Converse and refuses to be framed', async () => {
    const res = await httpRequest(url('/chat/'));
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(directive(res, 'frame-ancestors'), "'none'");
    assert.match(directive(res, 'script-src') ?? '', /^'self' 'sha256-[A-Za-z0-9+/]+=*'$/);
    assert.equal(directive(res, 'connect-src'),
      `'self' http://127.0.0.1:${suite.hub.httpPort}/http-bind/ ws://127.0.0.1:${suite.hub.httpPort}/xmpp-websocket`);
    assert.equal(directive(res, 'object-src'), "'none'");
  });

  it('redirects /chat to /chat/, keeping the query', async () => {
    const res = await httpRequest(url('/chat?transport=bosh'));
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, '/chat/?transport=bosh');
  });

  it('answers HEAD without a body', async () => {
    const res = await httpRequest(url('/chat/'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
  });

  describe('/chat/embed', () => {
    it('docks the roster (overlayed view) and may be framed by the configured origins only', async () => {
      const res = await httpRequest(url('/chat/embed'));
      assert.equal(res.status, 200);
      const { settings, embed, tokenCredentials } = pageConfig(res.text);
      assert.equal(embed, true);
      assert.equal(tokenCredentials, false);
      assert.equal(settings.view_mode, 'overlayed');
      assert.equal(settings.credentials_url, undefined);
      assert.equal(directive(res, 'frame-ancestors'), "'self' https://mail.example.org");
      assert.equal(res.headers['x-frame-options'], undefined);
    });

    it('takes a credentials_url on this site or over https, and lets the page reach it', async () => {
      const local = pageConfig((await httpRequest(url('/chat/embed?credentials_url=/webmail/chat-credentials'))).text);
      assert.equal(local.settings.credentials_url, `http://127.0.0.1:${suite.hub.httpPort}/webmail/chat-credentials`);
      assert.equal(local.settings.auto_login, true);
      assert.equal(local.tokenCredentials, false);

      const remote = await httpRequest(url(`/chat/embed?credentials_url=${encodeURIComponent('https://mail.example.org/chat?u=</script><script>')}&sso=token`));
      assert.equal(remote.status, 200);
      assert.doesNotMatch(remote.text, /<\/script><script>/);
      const config = pageConfig(remote.text);
      assert.equal(config.settings.credentials_url, 'https://mail.example.org/chat?u=%3C/script%3E%3Cscript%3E');
      assert.equal(config.tokenCredentials, true);
      assert.match(directive(remote, 'connect-src') ?? '', / https:\/\/mail\.example\.org$/);
    });

    it('refuses a credentials_url elsewhere over plain HTTP, or that is no URL', async () => {
      for (const bad of ['http://mail.example.org/creds', '//mail.example.org/creds', 'javascript:alert(1)', 'https://user:pw@mail.example.org/']) {
        const res = await httpRequest(url(`/chat/embed?credentials_url=${encodeURIComponent(bad)}`));
        assert.equal(res.status, 400, bad);
      }
    });
  });

  describe('/chat/dist/', () => {
    it('serves the Converse files with their types and validators, and answers revalidation with 304', async () => {
      const js = await httpRequest(url('/chat/dist/converse.min.js'));
      assert.equal(js.status, 200);
      assert.match(String(js.headers['content-type']), /^(text|application)\/javascript/);
      assert.ok(js.headers.etag, 'ETag');
      assert.ok(js.headers['last-modified'], 'Last-Modified');
      assert.equal(js.headers['cache-control'], 'public, max-age=3600');
      const again = await httpRequest(url('/chat/dist/converse.min.js'), { headers: { 'If-None-Match': js.headers.etag! } });
      assert.equal(again.status, 304);
      assert.equal(again.text, '');

      const css = await httpRequest(url('/chat/dist/converse.min.css'));
      assert.match(String(css.headers['content-type']), /^text\/css/);
      const sound = await httpRequest(url('/chat/dist/sounds/msg_received.mp3'), { method: 'HEAD' });
      assert.equal(sound.status, 200);
      assert.equal(sound.headers['content-type'], 'audio/mpeg');
    });

    it('lists no folder and answers 404 for files that are not there', async () => {
      for (const path of ['/chat/dist/', '/chat/dist/sounds/', '/chat/dist/sounds', '/chat/dist/nothing.js']) {
        assert.equal((await httpRequest(url(path))).status, 404, path);
      }
    });

    it('never serves a file outside the dist folder', async () => {
      const paths = ['/chat/dist/../package.json', '/chat/dist/%2e%2e/package.json', '/chat/dist/..%2fpackage.json',
        '/chat/dist/..%2f..%2f..%2fpackage.json', '/chat/dist/%2e%2e%2f%2e%2e%2fpackage.json', '/chat/dist/..\\package.json',
        '/chat/dist/%00/etc/passwd'];
      for (const path of paths) {
        const res = await rawGet(suite.hub.httpPort, path);
        assert.ok(res.status === 403 || res.status === 404 || res.status === 400, `${path}: ${res.status}`);
        assert.doesNotMatch(res.text, /"name":|root:/, path);
      }
    });
  });
});

describe('web client pages that any origin may frame', () => {
  const suite = useHub({ yaml: httpYaml() });

  it('allows any ancestor with cors_origins "*"', async () => {
    const res = await httpRequest(`http://127.0.0.1:${suite.hub.httpPort}/chat/embed`);
    assert.equal(directive(res, 'frame-ancestors'), '*');
  });
});

describe('web client disabled', () => {
  const suite = useHub({ yaml: httpYaml('web_client: { enabled: false }') });

  it('serves nothing under /chat', async () => {
    for (const path of ['/chat', '/chat/', '/chat/embed', '/chat/dist/converse.min.js']) {
      assert.equal((await httpRequest(`http://127.0.0.1:${suite.hub.httpPort}${path}`)).status, 404, path);
    }
  });
});
