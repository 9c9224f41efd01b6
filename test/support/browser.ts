// Debian's Chromium driven by Playwright, and a user of the hub's web client (Converse.js)
// seen through what the page shows: the login form, the roster, chat boxes, the status form.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser');
/** Longest wait for something a user expects to see. */
const SHOW_TIMEOUT = 10_000;

/** Headless Chromium; each launch has a fresh temporary profile (user-data-dir) made by Playwright. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** One person in one browser context (own storage), using the web client at `url`. */
export class WebChatUser {
  /** Content-Security-Policy violations the page reported. */
  readonly cspViolations: string[] = [];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[] = [];
  /** WebSocket connections and BOSH requests the page opened, by URL. */
  readonly webSockets: string[] = [];
  readonly boshRequests: string[] = [];

  private constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.setDefaultTimeout(SHOW_TIMEOUT);
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) this.cspViolations.push(message.text());
    });
    page.on('pageerror', (err) => this.pageErrors.push(err.message));
    page.on('websocket', (ws) => this.webSockets.push(ws.url()));
    page.on('request', (request) => {
      if (request.url().includes('/http-bind/')) this.boshRequests.push(request.url());
    });
  }

  static async open(browser: Browser, name: string, url: string): Promise<WebChatUser> {
    // Reduced motion: dialogs appear without fading in, so screenshots show them whole.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
    const user = new WebChatUser(await context.newPage(), name);
    await user.page.goto(url);
    return user;
  }

  /** Logs in through Converse's login form (the domain is fixed by the page, so the name is enough). */
  async login(username: string, password: string): Promise<void> {
    await this.page.fill('#converse-login-jid', username);
    await this.page.fill('#converse-login-password', password);
    await this.page.click('#converse-login button[type=submit]');
    await this.page.locator('converse-user-profile .xmpp-status').waitFor();
  }

  /**
   * Waits until a dialog, once shown, has put the focus on its first field (`selector`), so that
   * filling in fields does not race with that move.
   */
  private async dialogShown(selector: string): Promise<void> {
    await this.page.locator(`${selector}:focus`).waitFor();
  }

  /** The roster entry of `jid` (any state: contact, pending, requesting). */
  rosterItem(jid: string): Locator {
    return this.page.locator(`converse-roster li.list-item:has(a[data-jid="${jid}"])`);
  }

  /** Waits until `jid` shows in roster group `group` as `status` (online, away, offline...). */
  async seesContact(jid: string, group: string, status: string): Promise<void> {
    await this.page.locator(`converse-roster .roster-group[data-group="${group}"] li[data-status="${status}"] a[data-jid="${jid}"]`).waitFor();
  }

  async addContact(jid: string, name: string, group: string): Promise<void> {
    await this.page.click('converse-roster converse-dropdown.dropdown--contacts button');
    await this.page.click('converse-roster a.add-contact');
    await this.dialogShown('converse-add-contact-modal input[name=jid]');
    const modal = this.page.locator('converse-add-contact-modal form.add-xmpp-contact');
    await modal.locator('input[name=jid]').fill(jid);
    await modal.locator('input[name=name]').fill(name);
    await modal.locator('input[name=groups]').fill(group);
    await modal.locator('button[type=submit]').click();
    await modal.waitFor({ state: 'hidden' });
  }

  /** Accepts the contact request of `jid` (from the roster's "Contact requests") into `group`. */
  async acceptRequest(jid: string, group: string): Promise<void> {
    const item = this.page.locator(`converse-roster li.requesting-xmpp-contact:has(a[data-jid="${jid}"])`);
    await item.locator('converse-dropdown button').click();
    await item.locator('a.accept-xmpp-request').click();
    await this.dialogShown('converse-accept-contact-request-modal input[name=name]');
    const modal = this.page.locator('converse-accept-contact-request-modal form');
    await modal.locator('input[name=groups]').fill(group);
    await modal.locator('button[type=submit]').click();
    await modal.waitFor({ state: 'hidden' });
  }

  /** Chooses `entry` (a locator, or a selector within the item) from the roster item's menu. */
  private async rosterAction(jid: string, entry: Locator | string): Promise<void> {
    const item = this.rosterItem(jid);
    await item.locator('converse-dropdown button').click();
    await (typeof entry === 'string' ? item.locator(entry) : entry).click();
  }

  /** Opens the contact's details (its vCard) from the roster and returns the dialog. */
  async showDetails(jid: string): Promise<Locator> {
    await this.rosterAction(jid, this.rosterItem(jid).locator('a.dropdown-item', { hasText: 'Details' }));
    const modal = this.page.locator('converse-user-details-modal');
    await modal.locator('.modal-body').waitFor();
    return modal;
  }

  async closeDialog(modal: Locator): Promise<void> {
    await modal.locator('.modal-header button[data-bs-dismiss=modal]').click();
    await modal.locator('.modal-body').waitFor({ state: 'hidden' });
  }

  /** Removes the contact from the roster, confirming when asked. */
  async removeContact(jid: string): Promise<void> {
    await this.rosterAction(jid, 'a.remove-xmpp-contact');
    const confirm = this.page.locator('converse-confirm-modal form.confirm');
    await confirm.locator('button[type=submit]').click();
    await this.rosterItem(jid).waitFor({ state: 'detached' });
  }

  /** Waits until the roster shows unread messages from `jid`. */
  async seesUnread(jid: string): Promise<void> {
    await this.page.locator(`converse-roster a.open-chat[data-jid="${jid}"] .msgs-indicator`).first().waitFor();
  }

  /** Opens the chat with `jid` from the roster. */
  async openChat(jid: string): Promise<void> {
    await this.page.locator(`converse-roster a.open-chat[data-jid="${jid}"]`).first().click();
    await this.chat(jid).locator('.chat-textarea').waitFor();
  }

  chat(jid: string): Locator {
    return this.page.locator(`converse-chat[jid="${jid}"]`);
  }

  async send(jid: string, text: string): Promise<void> {
    const textarea = this.chat(jid).locator('.chat-textarea');
    await textarea.fill(text);
    await textarea.press('Enter');
    await this.seesMessage(jid, text);
  }

  /** Waits until the chat with `jid` shows a message reading `text`. */
  async seesMessage(jid: string, text: string): Promise<void> {
    await this.chat(jid).locator('.chat-msg__text', { hasText: text }).first().waitFor();
  }

  /** Sets the chat status (online, away, dnd, xa) and status message through the status form. */
  async setStatus(show: string, message: string): Promise<void> {
    await this.page.click('converse-user-profile a.change-status');
    await this.dialogShown('form#set-xmpp-status input[name=status_message]');
    const form = this.page.locator('form#set-xmpp-status');
    await form.locator(`input[name=chat_status][value="${show}"]`).check();
    await form.locator('input[name=status_message]').fill(message);
    await form.locator('button[type=submit]').click();
    const modal = this.page.locator('converse-profile-modal');
    await modal.locator('.alert', { hasText: 'Status updated' }).waitFor();
    await modal.locator('button[data-bs-dismiss=modal]').first().click();
    await form.waitFor({ state: 'hidden' });
  }

  async screenshot(step: string): Promise<void> {
    await this.page.screenshot({ path: join(ARTIFACTS, `${step}.png`) });
  }
}
