// vcard-temp (XEP-0054): users store their own vCard and read anyone's; on hosts whose
// directory provides vCards (LDAP), they come from there, read-only. Plus vCard-based
// avatars (XEP-0153): the server stamps the hash of the user's photo on each available
// presence a user broadcasts, so contacts learn of avatar changes from any client.
import { createHash } from 'node:crypto';
import { parse } from 'ltx';
import type { Jid } from '../../core/jid.js';
import { DirectoryUnavailable, type DirectoryVcard } from '../../directory/port.js';
import { StanzaError } from '../errors.js';
import type { ModuleContext, SessionEvent, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'vcard-temp';
const UPDATE_NS = 'vcard-temp:x:update';

export const vcardModule: XmppModule = {
  name: 'vcard',
  load(ctx: ModuleContext) {
    ctx.feature(NS, 'host');
    ctx.feature(NS, 'account');
    const load = (jid: Jid) => ctx.store.kv.get<string>(jid.domain, jid.local, 'vcard');
    /** Photo hash per bare JID with a bound session; null when the vCard has no photo. */
    const hashes = new Map<string, string | null>();

    ctx.onIq('get', 'bare', NS, async ({ from, to }) => {
      if (ctx.directory.providesVcards(to.domain)) {
        const card = await ctx.directory.vcard(to.domain, to.local);
        if (!card) throw new StanzaError('service-unavailable');
        return render(card);
      }
      const stored = await load(to);
      if (stored !== undefined) return parse(stored);
      // XEP-0054 §3.1: no vCard of one's own is an empty one; §3.3: another's is an error.
      if (from.bareString === to.bareString) return new Element('vCard', { xmlns: NS });
      const exists = await ctx.directory.userExists(to.domain, to.local);
      throw new StanzaError(exists ? 'item-not-found' : 'service-unavailable');
    });

    ctx.onIq('set', 'bare', NS, async ({ from, to, payload }) => {
      if (from.bareString !== to.bareString) throw new StanzaError('forbidden');
      if (ctx.directory.providesVcards(to.domain)) throw new StanzaError('not-allowed', 'vCards of this server come from its user directory');
      const xml = payload.toString();
      const max = ctx.hostConfig(to.domain)!.vcard_max_size;
      if (Buffer.byteLength(xml) > max) throw new StanzaError('not-acceptable', `the vCard is larger than ${max} bytes`);
      await ctx.store.kv.set(to.domain, to.local, 'vcard', xml);
      hashes.set(to.bareString, photoHash(payload));
    });

    ctx.on<SessionEvent>('session/bound', async ({ session }) => {
      const jid = session.jid!.bare;
      if (hashes.has(jid.bareString)) return;
      if (ctx.directory.providesVcards(jid.domain)) {
        try {
          const photo = (await ctx.directory.vcard(jid.domain, jid.local))?.photo;
          hashes.set(jid.bareString, photo ? sha1(photo.data) : null);
        } catch (err) {
          // No avatar hash this time; the session itself is fine.
          if (!(err instanceof DirectoryUnavailable)) throw err;
        }
        return;
      }
      const stored = await load(jid);
      hashes.set(jid.bareString, stored === undefined ? null : photoHash(parse(stored)));
    });

    ctx.on<SessionEvent>('session/closed', ({ session }) => {
      const jid = session.jid!.bare;
      if (ctx.sessions.resourceCount(jid) === 0) hashes.delete(jid.bareString);
    });

    // Ahead of the presence module (priority 0), which broadcasts the stanza as left here.
    ctx.on('outbound/presence', ({ stanza, from }) => {
      if (stanza.attrs.type !== undefined || stanza.attrs.to !== undefined) return;
      const hash = hashes.get(from.bareString);
      if (hash === undefined) return;
      stanza.remove('x', UPDATE_NS);
      const photo = stanza.c('x', { xmlns: UPDATE_NS }).c('photo');
      if (hash) photo.t(hash);
    }, 10);
  },
};

/** XEP-0153 §4.3: the hex SHA-1 of the decoded photo, or null when there is none. */
function photoHash(vcard: Element): string | null {
  const binval = vcard.getChild('PHOTO')?.getChildText('BINVAL');
  if (!binval) return null;
  return sha1(Buffer.from(binval, 'base64'));
}

function sha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** A directory vCard as vcard-temp XML (XEP-0054). */
function render(card: DirectoryVcard): Element {
  const vcard = new Element('vCard', { xmlns: NS });
  const text = (parent: Element, name: string, value: string | undefined) => {
    if (value !== undefined) parent.c(name).t(value);
  };
  text(vcard, 'FN', card.fn);
  if (card.family !== undefined || card.given !== undefined) {
    const n = vcard.c('N');
    text(n, 'FAMILY', card.family);
    text(n, 'GIVEN', card.given);
  }
  text(vcard, 'NICKNAME', card.nickname);
  for (const address of card.email) vcard.c('EMAIL').c('INTERNET').up().c('USERID').t(address);
  for (const { number, cell } of card.tel) {
    const tel = vcard.c('TEL');
    tel.c(cell ? 'CELL' : 'VOICE');
    tel.c('NUMBER').t(number);
  }
  if (card.org !== undefined || card.orgunit !== undefined) {
    const org = vcard.c('ORG');
    org.c('ORGNAME').t(card.org ?? '');
    text(org, 'ORGUNIT', card.orgunit);
  }
  text(vcard, 'TITLE', card.title);
  if (card.photo) {
    const photo = vcard.c('PHOTO');
    photo.c('TYPE').t(card.photo.type);
    photo.c('BINVAL').t(card.photo.data.toString('base64'));
  }
  return vcard;
}
