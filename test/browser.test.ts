// The served web client in a real browser: Debian's Chromium, driven by Playwright, logs alice
// in over BOSH and bob over WebSocket through Converse's login form; they add each other, talk
// and see each other's presence, and carol, on a plain TCP stream (xmpp.js), talks to both.
// Then the embedded client in a webmail page, logged in with a token from the hub's API.
// Screenshots of the key steps go to test-artifacts/browser/.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { Jid } from '../src/core/jid.js';
import { escapeXML } from '../src/xmpp/xml.js';
import { launchChromium, WebChatUser } from './support/browser.js';
import { connect, xml, type TestClient } from './support/client.js';
import { PASSWORD } from './support/fixture.js';
import { localhostYaml, PLAIN_ALLOWED, startHub, type TestHub } from './support/hub.js';
import { bare } from './support/stanzas.js';

describe('web client in Chromium', function () {
  this.timeout(60_000);
  let hub: TestHub;
  let browser: Browser | undefined;
  let carol: TestClient | undefined;
  let alice: WebChatUser;
  let bob: WebChatUser;

  /** carol is in alice's and bob's rosters, group Team, as an operator would provision it. */
  async function provisionTeam(): Promise<void> {
    for (const [user, contact] of [['alice', 'carol'], ['bob', 'carol'], ['carol', 'alice'], ['carol', 'bob']] as const) {
      const item = { jid: bare(contact), subscription: 'both' as const, groups: ['Team'] };
      await hub.hub.xmpp.hooks.fire('roster/admin-set', { user: Jid.parse(bare(user)), item });
    }
  }

  const chatUrl = (transport: string): string => `http://localhost:${hub.httpPort}/chat/?transport=${transport}`;

  before(async () => {
    hub = await startHub({ yaml: PLAIN_ALLOWED });
    for (const name of ['alice', 'bob', 'carol']) await hub.addUser(name, PASSWORD);
    await provisionTeam();
    carol = await connect(hub, { username: 'carol', password: PASSWORD });
    await carol.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: 'vcard-temp' },
      xml('FN', {}, 'Carol Example'), xml('ROLE', {}, 'Support desk'),
      xml('EMAIL', {}, xml('INTERNET'), xml('USERID', {}, 'carol@mail.example')))));
    browser = await launchChromium();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const user of [alice, bob]) await user?.screenshot(`failed-${user.name}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
    await carol?.stop();
    await hub?.stop();
  });

  it('alice logs in over BOSH and bob over WebSocket, and both see carol online in Team', async () => {
    alice = await WebChatUser.open(browser!, 'alice', chatUrl('bosh'));
    bob = await WebChatUser.open(browser!, 'bob', chatUrl('websocket'));
    await alice.page.locator('#converse-login').waitFor();
    await alice.screenshot('01-login-form');
    await Promise.all([alice.login('alice', PASSWORD), bob.login('bob', PASSWORD)]);
    await alice.seesContact(bare('carol'), 'Team', 'online');
    await bob.seesContact(bare('carol'), 'Team', 'online');
    await alice.screenshot('02-alice-logged-in');
    assert.ok(alice.boshRequests.length > 0, 'alice talks BOSH');
    assert.deepEqual(alice.webSockets, []);
    assert.deepEqual(bob.webSockets, [`ws://localhost:${hub.httpPort}/xmpp-websocket`]);
    assert.deepEqual(bob.boshRequests, []);
  });

  it('alice adds bob, bob accepts, and each sees the other online in Friends', async () => {
    await alice.addContact(bare('bob'), 'Bob', 'Friends');
    await bob.page.locator(`converse-roster li.requesting-xmpp-contact a[data-jid="${bare('alice')}"]`).waitFor();
    await bob.screenshot('03-bob-sees-request');
    await bob.acceptRequest(bare('alice'), 'Friends');
    await alice.seesContact(bare('bob'), 'Friends', 'online');
    await bob.seesContact(bare('alice'), 'Friends', 'online');
    await alice.screenshot('04-alice-sees-bob-online');
    await bob.screenshot('05-bob-sees-alice-online');
  });

  it('alice and bob exchange messages both ways', async () => {
    await alice.openChat(bare('bob'));
    await alice.send(bare('bob'), 'Hello Bob, this is Alice over BOSH');
    await bob.seesUnread(bare('alice'));
    await bob.openChat(bare('alice'));
    await bob.seesMessage(bare('alice'), 'Hello Bob, this is Alice over BOSH');
    await bob.send(bare('alice'), 'Hi Alice, Bob here over WebSocket');
    await alice.seesMessage(bare('bob'), 'Hi Alice, Bob here over WebSocket');
    await alice.screenshot('06-alice-chat-with-bob');
    await bob.screenshot('07-bob-chat-with-alice');
  });

  it('bob goes away with a status message and alice sees it', async () => {
    await bob.setStatus('away', 'In a meeting');
    await alice.seesContact(bare('bob'), 'Friends', 'away');
    await alice.chat(bare('bob')).locator('.chat-head__desc', { hasText: 'In a meeting' }).waitFor();
    await alice.screenshot('08-alice-sees-bob-away');
  });

  it('carol on TCP talks with alice and bob', async () => {
    await carol!.send(xml('message', { to: bare('alice'), type: 'chat' }, xml('body', {}, 'Alice, carol on TCP here')));
    await carol!.send(xml('message', { to: bare('bob'), type: 'chat' }, xml('body', {}, 'Bob, carol on TCP here')));
    await alice.seesUnread(bare('carol'));
    await alice.openChat(bare('carol'));
    await alice.seesMessage(bare('carol'), 'Alice, carol on TCP here');
    await bob.seesUnread(bare('carol'));
    await bob.openChat(bare('carol'));
    await bob.seesMessage(bare('carol'), 'Bob, carol on TCP here');
    await alice.send(bare('carol'), 'Hello carol, from the browser over BOSH');
    await bob.send(bare('carol'), 'Hello carol, from the browser over WebSocket');
    const fromAlice = await carol!.waitFor((el) => el.is('message') && el.getChildText('body') === 'Hello carol, from the browser over BOSH', 10_000);
    const fromBob = await carol!.waitFor((el) => el.is('message') && el.getChildText('body') === 'Hello carol, from the browser over WebSocket', 10_000);
    assert.match(String(fromAlice.attrs.from), /^alice@localhost\//);
    assert.match(String(fromBob.attrs.from), /^bob@localhost\//);
    await alice.screenshot('09-alice-chat-with-carol');
    await bob.screenshot('10-bob-chat-with-carol');
  });

  it("alice views carol's vCard", async () => {
    const details = await alice.showDetails(bare('carol'));
    for (const text of ['Carol Example', 'carol@mail.example', 'Support desk', 'Team']) {
      await details.locator('.modal-body', { hasText: text }).waitFor();
    }
    await alice.screenshot('11-alice-views-carol-vcard');
    await alice.closeDialog(details);
  });

  it('alice removes carol, and carol is told', async () => {
    await alice.removeContact(bare('carol'));
    await carol!.waitFor((el) => el.is('presence') && el.attrs.type === 'unsubscribed' && el.attrs.from === bare('alice'), 10_000);
    await alice.screenshot('12-alice-removed-carol');
  });

  it('the pages ran without Content-Security-Policy violations or uncaught errors', () => {
    assert.deepEqual([...alice.cspViolations, ...bob.cspViolations], []);
    assert.deepEqual([...alice.pageErrors, ...bob.pageErrors], []);
  });
});

describe('embedded web client in a webmail page, in Chromium', function () {
  this.timeout(60_000);
  const API_KEY = 'browser-test-sso-key-0123456789abcdef';
  let hub: TestHub;
  let browser: Browser | undefined;
  let dave: TestClient | undefined;
  let webmail: Webmail;
  let elsewhere: Webmail;
  const users: WebChatUser[] = [];

  // On the webmail's site (127.0.0.1, another port), as chat.example.org is for mail.example.org:
  // browsers deny storage to third-party frames, and Converse cannot start without it.
  // Over BOSH here; the full-page test above covers WebSocket.
  const embedUrl = (query = '?transport=bosh'): string => `http://127.0.0.1:${hub.httpPort}/chat/embed${query}`;

  /** What a webmail backend does for its logged-in user: ask the hub for a login token. */
  async function loginToken(jid: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/token`, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jid }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  }

  async function open(name: string, url: string): Promise<WebChatUser> {
    const user = await WebChatUser.open(browser!, name, url);
    users.push(user);
    return user;
  }

  before(async () => {
    // Chromium lets only pages on loopback frame loopback pages, so the webmails run there too.
    webmail = await startWebmail();
    elsewhere = await startWebmail();
    hub = await startHub({
      yaml: PLAIN_ALLOWED + localhostYaml(`sso_api_key: ${API_KEY}`)
        + `http:\n  interfaces: ["127.0.0.1"]\n  port: 0\n  tls_port: 0\n  cors_origins: ["${webmail.origin}"]\n`,
    });
    for (const name of ['alice', 'dave']) await hub.addUser(name, PASSWORD);
    for (const [user, contact] of [['alice', 'dave'], ['dave', 'alice']] as const) {
      const item = { jid: bare(contact), subscription: 'both' as const, groups: ['Support'] };
      await hub.hub.xmpp.hooks.fire('roster/admin-set', { user: Jid.parse(bare(user)), item });
    }
    dave = await connect(hub, { username: 'dave', password: PASSWORD });
    browser = await launchChromium();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const user of users) await user.screenshot(`failed-embed-${user.name}`).catch(() => {});
  });

  after(async () => {
    await browser?.close();
    await dave?.stop();
    await hub?.stop();
    await webmail?.close();
    await elsewhere?.close();
  });

  it('logs in with a token in the fragment, wipes it from the address, and docks the roster', async () => {
    const token = await loginToken(bare('alice'));
    const user = await open('alice-token', webmail.pageWithChat(embedUrl() + `#jid=${bare('alice')}&token=${token}`));
    const chat = user.page.frameLocator('#chat');
    await chat.locator(`converse-roster .roster-group[data-group="Support"] li[data-status="online"] a[data-jid="${bare('dave')}"]`).waitFor();
    const frame = user.page.frames().find((f) => f.url().includes('/chat/embed'))!;
    assert.equal(frame.url(), embedUrl());
    await dave!.send(xml('message', { to: bare('alice'), type: 'chat' }, xml('body', {}, 'Alice, dave here')));
    await chat.locator('converse-chat .chat-msg__text', { hasText: 'Alice, dave here' }).waitFor();
    await user.screenshot('13-webmail-with-embedded-chat');
    assert.deepEqual(user.cspViolations, []);
  });

  it("logs in with a token from the webmail's credentials_url", async () => {
    const credentials = 'https://webmail.test/chat-credentials';
    const user = await open('alice-credentials', 'about:blank');
    let fetched = 0;
    // Answered by Playwright's request routing, as the webmail's backend would, never by the network.
    await user.page.route(credentials, async (route) => {
      fetched++;
      const jid = bare('alice');
      await route.fulfill({
        contentType: 'application/json',
        headers: { 'Access-Control-Allow-Origin': `http://127.0.0.1:${hub.httpPort}`, 'Access-Control-Allow-Credentials': 'true' },
        body: JSON.stringify({ jid, password: await loginToken(jid) }),
      });
    });
    await user.page.goto(embedUrl(`?transport=bosh&credentials_url=${encodeURIComponent(credentials)}&sso=token`));
    await user.page.locator(`converse-roster li[data-status="online"] a[data-jid="${bare('dave')}"]`).waitFor();
    assert.equal(fetched, 1);
    assert.deepEqual(user.cspViolations, []);
  });

  it('is not shown in a page from an origin outside cors_origins', async () => {
    const user = await open('elsewhere', elsewhere.pageWithChat(embedUrl()));
    const violation = (): boolean => user.cspViolations.some((v) => v.includes('frame-ancestors'));
    for (let waited = 0; !violation() && waited < 5000; waited += 100) await user.page.waitForTimeout(100);
    assert.ok(violation(), 'Chromium reports the frame-ancestors violation');
    assert.equal(await user.page.frameLocator('#chat').locator('converse-root').count(), 0);
  });
});

interface Webmail {
  origin: string;
  /** The URL of an inbox page with the chat at `chatUrl` docked in an iframe, as docs/web.md shows it. */
  pageWithChat(chatUrl: string): string;
  close(): Promise<void>;
}

/** A stand-in webmail on loopback: its inbox page frames whatever chat URL it is given. */
async function startWebmail(): Promise<Webmail> {
  const server = createServer((req, res) => {
    const chat = new URL(req.url ?? '/', 'http://webmail.invalid').searchParams.get('chat') ?? '';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!DOCTYPE html><title>Webmail</title><h1>Inbox</h1>
<iframe id="chat" src="${escapeXML(chat)}" title="Chat"
  style="position: fixed; right: 0; bottom: 0; width: 100%; height: 100%; border: 0; background: transparent"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageWithChat: (chatUrl) => `${origin}/?chat=${encodeURIComponent(chatUrl)}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
