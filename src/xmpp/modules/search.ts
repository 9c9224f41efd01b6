// User directory search (XEP-0055) with data forms (XEP-0004), answered by each domain that
// enables it (`search.enabled`) for its own users only: the form lists the fields of the
// host's directory (usernames for the internal one, the configured attributes with LDAP),
// results are capped at `search.limit`. The basic fields first/last/nick/email are also
// understood without forms, for old clients.
import { Jid, JidError } from '../../core/jid.js';
import type { SearchField, SearchHit } from '../../directory/port.js';
import { StanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NS = 'jabber:iq:search';
const DATA = 'jabber:x:data';
const BASIC_FIELDS = new Set(['first', 'last', 'nick', 'email']);

export const searchModule: XmppModule = {
  name: 'search',
  load(ctx: ModuleContext) {
    if (!ctx.hosts.some((host) => ctx.hostConfig(host)?.search.enabled)) return;
    ctx.feature(NS, 'host');
    ctx.identity('directory', 'user', 'User directory');

    ctx.onIq('get', 'host', NS, (event) => {
      const host = searchableHost(ctx, event);
      const { fields } = ctx.directory.searchForm(host);
      const query = new Element('query', { xmlns: NS });
      query.c('instructions').t('Fill in one or more fields to search the users of ' + host + '.');
      for (const field of fields) if (BASIC_FIELDS.has(field.var)) query.c(field.var);
      const form = query.c('x', { xmlns: DATA, type: 'form' });
      form.c('title').t(`User directory of ${host}`);
      form.c('instructions').t('Fill in one or more fields; each must match part of the value.');
      formType(form);
      for (const field of fields) form.c('field', { type: 'text-single', var: field.var, label: field.label });
      return query;
    });

    ctx.onIq('set', 'host', NS, async (event) => {
      const host = searchableHost(ctx, event);
      const form = ctx.directory.searchForm(host);
      const x = event.payload.getChild('x', DATA);
      const criteria = x ? formValues(x) : basicValues(event.payload, form.fields);
      if (!form.fields.some((field) => (criteria[field.var] ?? '').trim() !== '')) {
        throw new StanzaError('not-acceptable', 'fill in at least one search field');
      }
      const hits = await ctx.directory.search(host, criteria, ctx.hostConfig(host)!.search.limit);
      const found = hits.map((hit) => ({ hit, jid: jidOf(hit, host) })).filter((r): r is { hit: SearchHit; jid: Jid } => r.jid !== undefined);
      return x ? formResult(found, form.reported) : basicResult(found, form.reported);
    });
  },
};

/** The domain searched, when search is on there and the requester is one of its users. */
function searchableHost(ctx: ModuleContext, { from, to, payload }: IqEvent): string {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
  if (!ctx.hostConfig(to.domain)?.search.enabled) throw new StanzaError('service-unavailable');
  if (!from.local || from.domain !== to.domain) throw new StanzaError('forbidden', `only users of ${to.domain} may search its directory`);
  return to.domain;
}

function formType(form: Element): void {
  form.c('field', { type: 'hidden', var: 'FORM_TYPE' }).c('value').t(NS);
}

/** The submitted form's values by field var (the first value of each). */
function formValues(x: Element): Record<string, string> {
  if (x.attrs.type !== 'submit') throw new StanzaError('bad-request', 'expected a submitted data form');
  const values: Record<string, string> = {};
  for (const field of x.getChildren('field')) {
    const name = field.attrs.var;
    if (name && name !== 'FORM_TYPE') values[name] = field.getChildText('value') ?? '';
  }
  return values;
}

/** The basic fields (first, last, nick, email) the form has, from a search without forms. */
function basicValues(query: Element, fields: SearchField[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of fields) if (BASIC_FIELDS.has(field.var)) values[field.var] = query.getChildText(field.var) ?? '';
  return values;
}

function jidOf(hit: SearchHit, host: string): Jid | undefined {
  try {
    const jid = Jid.parse(`${hit.username}@${host}`);
    return jid.local && !jid.resource ? jid : undefined;
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

function formResult(found: Array<{ hit: SearchHit; jid: Jid }>, reported: SearchField[]): Element {
  const query = new Element('query', { xmlns: NS });
  const x = query.c('x', { xmlns: DATA, type: 'result' });
  formType(x);
  const columns = x.c('reported');
  columns.c('field', { var: 'jid', label: 'JID', type: 'jid-single' });
  for (const field of reported) columns.c('field', { var: field.var, label: field.label, type: 'text-single' });
  for (const { hit, jid } of found) {
    const item = x.c('item');
    item.c('field', { var: 'jid' }).c('value').t(jid.bareString);
    for (const field of reported) item.c('field', { var: field.var }).c('value').t(hit.values[field.var] ?? '');
  }
  return query;
}

function basicResult(found: Array<{ hit: SearchHit; jid: Jid }>, reported: SearchField[]): Element {
  const query = new Element('query', { xmlns: NS });
  for (const { hit, jid } of found) {
    const item = query.c('item', { jid: jid.bareString });
    for (const field of reported) if (BASIC_FIELDS.has(field.var)) item.c(field.var).t(hit.values[field.var] ?? '');
  }
  return query;
}
