// A user's mail address: the directory's (LDAP `mail`), else the one the user or an
// administrator set in the notification preferences (accounts of the embedded store).
import type { GatewayHost } from '../../src/core/gateway.js';
import type { Jid } from '../../src/core/jid.js';
import { readPrefs } from '../../src/core/notification-prefs.js';

export async function userMailAddress(hub: Pick<GatewayHost, 'directory' | 'store'>, user: Jid): Promise<string | undefined> {
  const attributes = await hub.directory.userAttributes(user.domain, user.local);
  return attributes?.mail ?? (await readPrefs(hub.store.kv, user.domain, user.local)).email;
}
