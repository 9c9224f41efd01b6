// The admin protocol: JSON lines over the hub's Unix socket. Each request line
// `{ "cmd": "user.add", "args": {...} }` gets one response line
// `{ "ok": true, "result": ... }` or `{ "ok": false, "error": "..." }`.
import type { EffectivePrefs, MailArrivalRule, NotificationPrefs, OfflineChannel } from '../core/notification-prefs.js';
import type { DeadJob, QueueCounts } from '../queue/port.js';
import type { RosterItem, Subscription } from '../store/ports.js';

export interface SessionInfo {
  jid: string;
  address: string;
  tls: boolean;
  transport: 'tcp' | 'bosh' | 'websocket';
  /** When the resource was bound (ISO 8601). */
  since: string;
}

export interface GatewayInfo {
  name: string;
  domains: string[];
  summary: string;
}

export interface ListenerInfo {
  address: string;
  port: number;
  /** The c2s and HTTP listeners' kinds, or a gateway's protocol (SMTP, LMTP...). */
  kind: 'starttls' | 'direct-tls' | 'http' | 'https' | (string & {});
}

export interface RosterAddArgs {
  jid: string;
  contact: string;
  name?: string;
  groups: string[];
  subscription: Subscription;
}

/** A shared roster group of the configuration file or of the admin commands (LDAP ones are not listed). */
export interface SharedGroupInfo {
  domain: string;
  name: string;
  description?: string;
  members: string[];
  displayed_groups?: string[];
  source: 'configuration' | 'admin';
}

export interface GroupSetArgs {
  domain: string;
  name: string;
  description?: string;
  members: string[];
  /** Absent: the group displays itself. */
  displayed_groups?: string[];
}

/** A user's notification preferences: as stored, and with the host defaults applied. */
export interface NotifyInfo {
  jid: string;
  stored: NotificationPrefs;
  effective: EffectivePrefs;
}

/** Fields given replace the stored ones; an empty `email` or `mail_senders` removes them. */
export interface NotifySetArgs {
  jid: string;
  offline?: OfflineChannel;
  email?: string;
  mobile?: string;
  mail_arrival?: MailArrivalRule;
  mail_senders?: string[];
  /** Forget the stored preferences first (the host defaults apply to fields not given). */
  reset?: boolean;
}

/** Every admin command with its arguments and result. */
export interface AdminApi {
  'user.add': { args: { jid: string; password: string }; result: { jid: string } };
  'user.delete': { args: { jid: string }; result: { jid: string; sessionsClosed: number } };
  'user.passwd': { args: { jid: string; password: string }; result: { jid: string } };
  /** Every user of `domain`, or of every host. */
  'user.list': { args: { domain?: string }; result: { users: string[] } };
  'roster.list': { args: { jid: string }; result: { version: number; items: RosterItem[] } };
  'roster.add': { args: RosterAddArgs; result: { jid: string; item: RosterItem } };
  /** The shared roster groups of `domain`, or of every host. */
  'group.list': { args: { domain?: string }; result: { groups: SharedGroupInfo[] } };
  /** Creates or replaces a shared roster group; online members see the change at once. */
  'group.set': { args: GroupSetArgs; result: { domain: string; name: string; created: boolean } };
  'group.delete': { args: { domain: string; name: string }; result: { domain: string; name: string } };
  'notify.get': { args: { jid: string }; result: NotifyInfo };
  'notify.set': { args: NotifySetArgs; result: NotifyInfo };
  /** The delivery queue's adapter and each destination's counts. */
  'queue.status': { args: Record<string, never>; result: { kind: string; destinations: QueueCounts[] } };
  /** Dead letters, oldest first, of one destination or of all. */
  'queue.dead': { args: { destination?: string }; result: { jobs: DeadJob[] } };
  /** Puts a dead letter back to run now, with fresh attempts. */
  'queue.retry': { args: { destination: string; id: string }; result: { destination: string; id: string } };
  'queue.discard': { args: { destination: string; id: string }; result: { destination: string; id: string } };
  status: {
    args: Record<string, never>;
    result: {
      sessions: SessionInfo[];
      domains: Record<string, number>;
      listeners: ListenerInfo[];
      gateways: GatewayInfo[];
      queue: { kind: string; destinations: QueueCounts[] };
    };
  };
}

export type AdminCommand = keyof AdminApi;

/** Runs an admin command, on the running hub or directly on the store. */
export type AdminCall = <C extends AdminCommand>(cmd: C, args: AdminApi[C]['args']) => Promise<AdminApi[C]['result']>;

export type AdminResponse = { ok: true; result: unknown } | { ok: false; error: string };
