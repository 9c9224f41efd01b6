// Rosters (RFC 6121 §2) with versioning (XEP-0237): the account's own resources get, add,
// update and remove items; every change is pushed to the resources that requested the
// roster. Removing an item also ends the subscriptions with the contact (§2.5.2).
// Contacts from shared roster groups are part of the roster (roster/shared.ts); removing one
// removes only what the user added to it (its name and own groups), as ejabberd does.
import { Jid, JidError } from '../../core/jid.js';
import type { RosterItem } from '../../store/ports.js';
import { StanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, XmppModule } from '../module.js';
import { rosterCache, type UserRoster } from '../roster/cache.js';
import { NS_ROSTER, itemElement, sendResourcesPresence } from '../roster/notify.js';
import { sharedRoster, type SharedRoster } from '../roster/shared.js';
import { hasFrom, hasTo } from '../roster/subscription.js';
import { Element } from '../xml.js';

const NS_ROSTERVER = 'urn:xmpp:features:rosterver';
/** The longest handle or group name accepted (RFC 6121 §2.3.3 leaves the limit to servers). */
const MAX_TEXT_LENGTH = 1024;

/** The payload of `roster/admin-set`: an item stored as given (its JID prepared), for a local account. */
export interface AdminSetEvent {
  /** The account's bare JID. */
  user: Jid;
  item: RosterItem;
}

interface ItemRequest {
  contact: Jid;
  remove: boolean;
  name?: string;
  groups: string[];
}

export const rosterModule: XmppModule = {
  name: 'roster',
  load(ctx: ModuleContext) {
    const cache = rosterCache(ctx);
    const shared = sharedRoster(ctx);
    ctx.feature(NS_ROSTER);
    ctx.streamFeature('post-auth', () => new Element('ver', { xmlns: NS_ROSTERVER }));

    ctx.onIq('get', 'bare', NS_ROSTER, (event) => {
      checkOwnRoster(event);
      // From now on this resource is "interested": it gets roster pushes (§2.1.6).
      const session = ctx.session(event.from);
      if (session) session.interested = true;
      return cache.use(event.to, async (roster) => rosterResult(shared, roster, event.payload.attrs.ver));
    });

    ctx.onIq('set', 'bare', NS_ROSTER, (event) => {
      checkOwnRoster(event);
      const request = parseSet(event.payload);
      return cache.use(event.to, (roster) => (request.remove ? removeItem(ctx, shared, roster, request.contact) : setItem(shared, roster, request)));
    });

    ctx.on<AdminSetEvent>('roster/admin-set', async ({ user, item }) => {
      const stored: RosterItem = { ...item, jid: contactJid(item.jid).bareString };
      await cache.use(user, async (roster) => {
        await roster.put(stored);
        await shared.push(roster, stored.jid);
      });
      return true;
    });
  },
};

/** Only the account itself reads or changes its roster (§2.1.5). */
function checkOwnRoster({ from, to }: IqEvent): void {
  if (from.bareString !== to.bareString) throw new StanzaError('forbidden', "another account's roster");
}

/** The full roster, or an empty result when the client's cached version is current (XEP-0237 §2.3). */
async function rosterResult(shared: SharedRoster, roster: UserRoster, clientVersion: string | undefined): Promise<Element | void> {
  const membership = await shared.membership();
  const version = shared.version(roster, membership);
  if (clientVersion === version) return;
  const query = new Element('query', { xmlns: NS_ROSTER, ver: version });
  for (const item of shared.items(roster, membership)) query.cnode(itemElement(item));
  return query;
}

/** Validates a roster set (§2.1.5, §2.3.3); the client's subscription, ask and approved are ignored. */
function parseSet(query: Element): ItemRequest {
  const items = query.getChildren('item');
  if (items.length !== 1) throw new StanzaError('bad-request', 'a roster set carries exactly one item');
  const item = items[0]!;
  const contact = contactJid(item.attrs.jid);
  if (item.attrs.subscription === 'remove') return { contact, remove: true, groups: [] };
  const name = item.attrs.name || undefined;
  if (name !== undefined && name.length > MAX_TEXT_LENGTH) throw new StanzaError('not-acceptable', 'the name is too long');
  const groups = item.getChildren('group').map((g) => g.getText());
  for (const group of groups) {
    if (group === '') throw new StanzaError('not-acceptable', 'a group name is empty');
    if (group.length > MAX_TEXT_LENGTH) throw new StanzaError('not-acceptable', 'a group name is too long');
  }
  if (new Set(groups).size !== groups.length) throw new StanzaError('bad-request', 'a group is listed twice');
  return { contact, remove: false, name, groups };
}

function contactJid(value: string | undefined): Jid {
  if (!value) throw new StanzaError('bad-request', 'the item has no jid');
  let jid: Jid;
  try {
    jid = Jid.parse(value);
  } catch (err) {
    if (err instanceof JidError) throw new StanzaError('jid-malformed', err.message);
    throw err;
  }
  if (!jid.isBare) throw new StanzaError('jid-malformed', 'roster items are bare JIDs');
  return jid;
}

/**
 * Adds or updates an item: the client sets the name and groups, never the subscription (§2.3, §2.4).
 * The groups of a shared contact's shared groups are not stored: they come with the membership.
 */
async function setItem(shared: SharedRoster, roster: UserRoster, { contact, name, groups }: ItemRequest): Promise<void> {
  const key = contact.bareString;
  const existing = roster.items.get(key);
  const sharedGroups = await shared.sharedGroupsOf(roster, key);
  const item: RosterItem = { jid: key, subscription: existing?.subscription ?? 'none', groups: groups.filter((g) => !sharedGroups.includes(g)) };
  if (name !== undefined) item.name = name;
  if (existing?.ask) item.ask = true;
  if (existing?.approved) item.approved = true;
  await roster.put(item);
  await shared.push(roster, key);
}

/** Removes an item and cancels the subscriptions both ways (§2.5.2). */
async function removeItem(ctx: ModuleContext, shared: SharedRoster, roster: UserRoster, contact: Jid): Promise<void> {
  const key = contact.bareString;
  if ((await shared.sharedGroupsOf(roster, key)).length > 0) return removePersonalPart(shared, roster, key);
  if (!roster.items.has(key)) throw new StanzaError('item-not-found');
  const { subscription, ask, pendingIn } = roster.stateOf(key);
  await roster.remove(key);
  await shared.push(roster, key);
  await roster.setRequest(key, undefined);
  const user = roster.user;
  const send = (type: string) => ctx.routeFrom(user, contact, new Element('presence', { type, from: user.bareString, to: key }));
  if (hasTo(subscription) || ask) send('unsubscribe');
  if (hasFrom(subscription) || pendingIn) send('unsubscribed');
  if (hasFrom(subscription) && !await shared.isWatcher(roster, key)) await sendResourcesPresence(ctx, user, contact, true);
}

/**
 * "Removing" a shared contact (ejabberd's behaviour): the contact stays, with its shared groups;
 * the name and groups the user gave it go. Subscriptions are kept, so that they still hold if
 * the membership ends. The push tells the client the contact is still there.
 */
async function removePersonalPart(shared: SharedRoster, roster: UserRoster, key: string): Promise<void> {
  const personal = roster.items.get(key);
  if (personal) {
    const { subscription, ask, approved, pendingIn } = roster.stateOf(key);
    if (subscription === 'none' && !ask && !approved && !pendingIn) await roster.remove(key);
    else await roster.put({ jid: key, subscription, groups: [], ...(ask ? { ask } : {}), ...(approved ? { approved } : {}) });
  }
  await shared.push(roster, key);
}
