// A user's notification preferences, kept in the key/value store ("notifications") and read
// by the offline notification policy, the mail gateway, the ad-hoc command (XEP-0050) and the
// admin CLI. Unset fields follow the host's configuration.
import type { KeyValueStore } from '../store/ports.js';

/** Where a chat that reaches the user while offline is notified. */
export const OFFLINE_CHANNELS = ['none', 'email', 'sms', 'both'] as const;
export type OfflineChannel = (typeof OFFLINE_CHANNELS)[number];

/** Which arriving mail is announced to the user by IM. */
export const MAIL_ARRIVAL_RULES = ['all', 'contacts', 'listed', 'none'] as const;
export type MailArrivalRule = (typeof MAIL_ARRIVAL_RULES)[number];

export interface NotificationPrefs {
  offline?: OfflineChannel;
  /** Where email notifications go when the directory has no mail address for the user. */
  email?: string;
  /** Where SMS notifications go when the directory has no mobile number for the user (E.164). */
  mobile?: string;
  mail_arrival?: MailArrivalRule;
  /** Senders announced under the `listed` rule (addresses, or `@domain` for a whole domain). */
  mail_senders?: string[];
}

export interface EffectivePrefs {
  offline: OfflineChannel;
  email?: string;
  mobile?: string;
  mailArrival: MailArrivalRule;
  mailSenders: string[];
}

const STORE = 'notifications';

export async function readPrefs(kv: KeyValueStore, host: string, username: string): Promise<NotificationPrefs> {
  return (await kv.get<NotificationPrefs>(host, username, STORE)) ?? {};
}

/** Replaces the stored preferences; an empty object deletes them (the host defaults apply). */
export async function writePrefs(kv: KeyValueStore, host: string, username: string, prefs: NotificationPrefs): Promise<void> {
  const kept = Object.fromEntries(Object.entries(prefs).filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0)));
  await kv.set(host, username, STORE, Object.keys(kept).length > 0 ? kept : undefined);
}

export function effectivePrefs(stored: NotificationPrefs, defaults: { offline: OfflineChannel; mail_arrival: MailArrivalRule }): EffectivePrefs {
  return {
    offline: stored.offline ?? defaults.offline,
    ...(stored.email ? { email: stored.email } : {}),
    ...(stored.mobile ? { mobile: stored.mobile } : {}),
    mailArrival: stored.mail_arrival ?? defaults.mail_arrival,
    mailSenders: stored.mail_senders ?? [],
  };
}

/** A syntactically plausible single mail address (what the forms and the CLI accept). */
export function isMailAddress(value: string): boolean {
  return value.length <= 254 && /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+\.[^\s@<>()",;:\\]+$/u.test(value);
}

/** A plausible phone number as users type it (the SMS gateway normalises it to E.164). */
export function isPhoneNumber(value: string): boolean {
  return /^\+?[0-9][0-9 ().-]{3,22}$/.test(value) && (value.match(/[0-9]/g)?.length ?? 0) >= 4;
}

/** An entry of `mail_senders`: a mail address, or `@domain` for a whole domain. */
export function isSenderEntry(entry: string): boolean {
  return isMailAddress(entry.startsWith('@') ? `postmaster${entry}` : entry);
}

/** True when `address` matches an entry of `senders` (an address, or `@domain`), case-insensitively. */
export function senderListed(address: string, senders: readonly string[]): boolean {
  const lower = address.toLowerCase();
  const domain = lower.slice(lower.lastIndexOf('@'));
  return senders.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('@') ? domain === e : lower === e;
  });
}
