// Shared roster groups in rosters and presence. A user's roster is the personal items plus
// the contacts shared groups give, merged: a shared contact has subscription "both" when
// presence flows both ways through the groups ("to" when only the user sees the contact),
// and the shared group names next to the user's own groups. The roster version joins the
// stored version with a digest of the shared contacts, so it changes when either does.
// When the membership changes, online users get roster pushes, presence of the contacts
// they now see, and unavailable presence from those they no longer see.
import { Jid } from '../../core/jid.js';
import { sharedGroupsOf, type Membership, type SharedContact, type SharedGroups } from '../../directory/shared-groups.js';
import type { RosterItem } from '../../store/ports.js';
import type { ModuleContext, SessionEvent } from '../module.js';
import { Element } from '../xml.js';
import { rosterCache, type RosterCache, type UserRoster } from './cache.js';
import { pushItem } from './notify.js';
import { hasFrom, hasTo } from './subscription.js';

/** A personal item and a shared contact as one roster item (either may be missing). */
function mergeItem(personal: RosterItem | undefined, shared: SharedContact | undefined): RosterItem | undefined {
  if (!shared) return personal;
  const from = shared.mutual || (personal !== undefined && hasFrom(personal.subscription));
  const groups = [...(personal?.groups ?? [])];
  for (const group of shared.groups) if (!groups.includes(group)) groups.push(group);
  const item: RosterItem = { jid: shared.jid, subscription: from ? 'both' : 'to', groups };
  const name = personal?.name ?? shared.name;
  if (name !== undefined) item.name = name;
  if (!from && personal?.approved) item.approved = true;
  return item;
}

export class SharedRoster {
  constructor(
    private readonly ctx: ModuleContext,
    private readonly cache: RosterCache,
    private readonly groups: SharedGroups,
  ) {
    groups.onChange((before, after) => this.changed(before, after));
    // Sources are read periodically only while someone is online to notice.
    ctx.on<SessionEvent>('session/bound', () => groups.startRefreshing());
    ctx.on<SessionEvent>('session/closed', () => {
      if (ctx.sessions.count === 0) groups.stopRefreshing();
    });
    // The admin commands changed a group: apply it now rather than at the next refresh.
    ctx.on('shared-groups/changed', () => groups.reload().then(() => true));
  }

  membership(): Membership | Promise<Membership> {
    return this.groups.membership();
  }

  /** The roster as the user sees it. */
  items(roster: UserRoster, membership: Membership): RosterItem[] {
    const shared = membership.contactsOf(roster.user.bareString);
    if (shared.size === 0) return [...roster.items.values()];
    const items: RosterItem[] = [];
    for (const [jid, personal] of roster.items) if (!shared.has(jid)) items.push(personal);
    for (const [jid, contact] of shared) items.push(mergeItem(roster.items.get(jid), contact)!);
    return items;
  }

  /** One contact's item as the user sees it. */
  item(roster: UserRoster, membership: Membership, contact: string): RosterItem | undefined {
    return mergeItem(roster.items.get(contact), membership.contactOf(roster.user.bareString, contact));
  }

  /** The roster version (XEP-0237): the stored version, and the digest of the shared contacts if any. */
  version(roster: UserRoster, membership: Membership): string {
    const shared = membership.versionOf(roster.user.bareString);
    return shared === undefined ? String(roster.version) : `${roster.version}-${shared}`;
  }

  /** Pushes the contact's item as the user now sees it (a removal when there is none). */
  async push(roster: UserRoster, contact: string): Promise<void> {
    const membership = await this.membership();
    const item = this.item(roster, membership, contact) ?? { jid: contact, subscription: 'remove' as const };
    pushItem(this.ctx, roster.user, item, this.version(roster, membership));
  }

  /** The names of the groups through which the user sees the contact (none when not shared). */
  async sharedGroupsOf(roster: UserRoster, contact: string): Promise<string[]> {
    const membership = await this.membership();
    return membership.contactOf(roster.user.bareString, contact)?.groups ?? [];
  }

  /** True when the contact sees the user's presence through shared groups. */
  async isWatcher(roster: UserRoster, contact: string): Promise<boolean> {
    return (await this.membership()).sees(contact, roster.user.bareString);
  }

  /** Membership changed: every online user's roster and presence follow. */
  private async changed(before: Membership, after: Membership): Promise<void> {
    const users = new Map<string, Jid>();
    for (const session of this.ctx.sessions.all()) if (session.jid) users.set(session.jid.bareString, session.jid.bare);
    await Promise.all([...users.values()].map((user) => this.cache.use(user, (roster) => this.follow(roster, before, after))));
  }

  private follow(roster: UserRoster, before: Membership, after: Membership): void {
    const user = roster.user.bareString;
    if (before.versionOf(user) === after.versionOf(user)) return;
    const seen = before.contactsOf(user);
    const seeing = after.contactsOf(user);
    const version = this.version(roster, after);
    const available = this.ctx.sessions.available(roster.user).length > 0;
    for (const contact of new Set([...seen.keys(), ...seeing.keys()])) {
      const personal = roster.items.get(contact);
      const was = mergeItem(personal, seen.get(contact));
      const is = mergeItem(personal, seeing.get(contact));
      if (sameItem(was, is)) continue;
      pushItem(this.ctx, roster.user, is ?? { jid: contact, subscription: 'remove' }, version);
      if (!available) continue;
      const sawPresence = was !== undefined && hasTo(was.subscription);
      const seesPresence = is !== undefined && hasTo(is.subscription);
      if (!sawPresence && seesPresence) this.probe(roster.user, contact);
      if (sawPresence && !seesPresence) this.unavailableFrom(roster.user, contact);
    }
  }

  /** Asks for the contact's presence on the user's behalf (the contact's server answers as to any probe). */
  private probe(user: Jid, contact: string): void {
    const to = Jid.parse(contact);
    this.ctx.routeFrom(user, to, new Element('presence', { type: 'probe', from: user.bareString, to: contact }));
  }

  /** Tells the user's available resources that the contact is no longer visible. */
  private unavailableFrom(user: Jid, contact: string): void {
    const to = Jid.parse(contact);
    const resources = this.ctx.isLocalHost(to.domain) ? this.ctx.sessions.available(to).map((s) => s.jid!.toString()) : [];
    if (resources.length === 0) resources.push(contact);
    for (const session of this.ctx.sessions.available(user)) {
      for (const from of resources) session.send(new Element('presence', { type: 'unavailable', from, to: session.jid!.toString() }));
    }
  }
}

function sameItem(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (!a || !b) return a === b;
  return a.subscription === b.subscription && a.name === b.name && a.ask === b.ask && a.approved === b.approved
    && a.groups.length === b.groups.length && a.groups.every((g, i) => b.groups[i] === g);
}

const instances = new WeakMap<ModuleContext['sessions'], SharedRoster>();

/** The shared roster of the server a module runs in (shared by the roster and presence modules). */
export function sharedRoster(ctx: ModuleContext): SharedRoster {
  let shared = instances.get(ctx.sessions);
  if (!shared) {
    const groups = sharedGroupsOf(ctx.config, ctx.directory, ctx.store.kv, ctx.log.child({ component: 'shared-groups' }));
    shared = new SharedRoster(ctx, rosterCache(ctx), groups);
    instances.set(ctx.sessions, shared);
  }
  return shared;
}
