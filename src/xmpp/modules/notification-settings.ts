// The ad-hoc command (XEP-0050) with which users set their notification preferences
// (core/notification-prefs.ts): one data form (XEP-0004) showing the effective values, for
// the host's own users. An invalid form comes back with the values given and an error note,
// so that the user can correct it; a valid one is stored as submitted.
import {
  MAIL_ARRIVAL_RULES, OFFLINE_CHANNELS, effectivePrefs, isMailAddress, isPhoneNumber, isSenderEntry, readPrefs, writePrefs,
  type MailArrivalRule, type NotificationPrefs, type OfflineChannel,
} from '../../core/notification-prefs.js';
import { DirectoryUnavailable } from '../../directory/port.js';
import { ADHOC_REGISTER, type AdhocCommand, type AdhocReply } from '../adhoc-command.js';
import type { ModuleContext, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const NODE = 'urn:switchboard:notification-settings';
const DATA = 'jabber:x:data';

const OFFLINE_LABELS: Record<OfflineChannel, string> = { none: 'No notification', email: 'Email', sms: 'SMS', both: 'Email and SMS' };
const ARRIVAL_LABELS: Record<MailArrivalRule, string> = {
  all: 'Any sender', contacts: 'My contacts only', listed: 'The senders listed below only', none: 'Nobody (no mail notifications)',
};

export const notificationSettingsModule: XmppModule = {
  name: 'notification-settings',
  load(ctx: ModuleContext) {
    const command: AdhocCommand = {
      node: NODE,
      name: 'Notification settings',
      // The server stamps its clients' addresses, so user@host is an account of the host that
      // logged in; asking the directory again would only make the command fail when it is down.
      allowed: (requester, host) => requester.local !== '' && requester.domain === host,
      async run({ requester, host, form }) {
        const stored = await readPrefs(ctx.store.kv, host, requester.local);
        if (!form) return formReply(ctx, host, requester.local, stored);
        const { prefs, problems } = submitted(form, stored);
        if (problems.length > 0) return formReply(ctx, host, requester.local, prefs, problems);
        await writePrefs(ctx.store.kv, host, requester.local, prefs);
        return { status: 'completed', notes: [{ type: 'info', text: 'Your notification settings are saved.' }] };
      },
    };
    if (ctx.fire(ADHOC_REGISTER, command) !== true) ctx.log.warn('the adhoc module is not loaded: no notification settings command');
  },
};

/** The form with the effective values of `prefs`, and an error note for each problem. */
async function formReply(ctx: ModuleContext, host: string, user: string, prefs: NotificationPrefs, problems: string[] = []): Promise<AdhocReply> {
  const effective = effectivePrefs(prefs, ctx.hostConfig(host)!.notifications);
  const x = new Element('x', { xmlns: DATA, type: 'form' });
  x.c('title').t('Notification settings');
  x.c('instructions').t(await instructions(ctx, host, user));
  x.c('field', { type: 'hidden', var: 'FORM_TYPE' }).c('value').t(NODE);
  listField(x, 'offline', 'Chats that arrive while I am offline are notified by', effective.offline, OFFLINE_LABELS);
  const email = x.c('field', { type: 'text-single', var: 'email', label: 'Email address for notifications' });
  if (effective.email) email.c('value').t(effective.email);
  const mobile = x.c('field', { type: 'text-single', var: 'mobile', label: 'Mobile number for SMS notifications' });
  if (effective.mobile) mobile.c('value').t(effective.mobile);
  listField(x, 'mail_arrival', 'Arriving mail is announced by IM when it comes from', effective.mailArrival, ARRIVAL_LABELS);
  const senders = x.c('field', { type: 'text-multi', var: 'mail_senders', label: 'Listed senders (one address or @domain per line)' });
  for (const sender of effective.mailSenders) senders.c('value').t(sender);
  return {
    status: 'executing',
    actions: { allowed: ['complete'], execute: 'complete' },
    notes: problems.map((text) => ({ type: 'error', text })),
    payload: x,
  };
}

/** Where email notifications go: the directory's address first, else the form's. */
async function instructions(ctx: ModuleContext, host: string, user: string): Promise<string> {
  const general = 'Choose how you are told of chats that arrive while you are offline, and of arriving mail.';
  let mail: string | undefined;
  try {
    mail = (await ctx.directory.userAttributes(host, user))?.mail;
  } catch (err) {
    if (!(err instanceof DirectoryUnavailable)) throw err;
    return `${general} Email notifications go to your address in the user directory, or to the address below when it has none.`;
  }
  return mail
    ? `${general} Email notifications go to ${mail}, your address in the user directory; the address below is used only if it has none.`
    : `${general} The user directory has no email address for you: email notifications go to the address below.`;
}

function listField<V extends string>(x: Element, name: string, label: string, value: V, labels: Record<V, string>): void {
  const field = x.c('field', { type: 'list-single', var: name, label });
  field.c('value').t(value);
  for (const [option, text] of Object.entries<string>(labels)) field.c('option', { label: text }).c('value').t(option);
}

/**
 * The preferences a submitted form sets over the stored ones (fields left out keep theirs),
 * and what is wrong with it; the mistyped addresses stay in `prefs`, to be shown again.
 */
function submitted(form: Element, stored: NotificationPrefs): { prefs: NotificationPrefs; problems: string[] } {
  const values = new Map(form.getChildren('field').map((f) => [String(f.attrs.var), f.getChildren('value').map((v) => v.getText().trim())]));
  const prefs: NotificationPrefs = { ...stored };
  const problems: string[] = [];

  const offline = values.get('offline')?.[0];
  if (offline !== undefined) {
    if (oneOf(OFFLINE_CHANNELS, offline)) prefs.offline = offline;
    else problems.push(`"${offline}" is not a notification channel (${OFFLINE_CHANNELS.join(', ')}).`);
  }
  const email = values.get('email');
  if (email !== undefined) {
    const address = email[0] ?? '';
    prefs.email = address || undefined;
    if (address !== '' && !isMailAddress(address)) problems.push(`"${address}" is not an email address.`);
  }
  const mobile = values.get('mobile');
  if (mobile !== undefined) {
    const number = mobile[0]?.trim() ?? '';
    prefs.mobile = number || undefined;
    if (number !== '' && !isPhoneNumber(number)) problems.push(`"${number}" is not a phone number.`);
  }
  const arrival = values.get('mail_arrival')?.[0];
  if (arrival !== undefined) {
    if (oneOf(MAIL_ARRIVAL_RULES, arrival)) prefs.mail_arrival = arrival;
    else problems.push(`"${arrival}" is not a mail notification rule (${MAIL_ARRIVAL_RULES.join(', ')}).`);
  }
  const senders = values.get('mail_senders');
  if (senders !== undefined) {
    // Some clients send a text-multi field as one value with line breaks.
    prefs.mail_senders = senders.flatMap((v) => v.split('\n')).map((s) => s.trim()).filter((s) => s !== '');
    for (const sender of prefs.mail_senders) {
      if (!isSenderEntry(sender)) problems.push(`"${sender}" is neither an email address nor @domain.`);
    }
  }
  return { prefs, problems };
}

function oneOf<V extends string>(allowed: readonly V[], value: string): value is V {
  return (allowed as readonly string[]).includes(value);
}
