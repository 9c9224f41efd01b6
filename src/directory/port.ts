// The directory port: who the users are and how they prove it. Adapters: the embedded
// account store (internal.ts) and, later, LDAP. The XMPP layer and the gateways ask only this.
import type { HashName, ScramCredential } from '../xmpp/sasl/mechanism.js';

export interface Directory {
  /** True when SCRAM secrets exist for users (so SCRAM mechanisms can be offered). */
  readonly supportsScram: boolean;
  /** True when passwords can be changed through the hub (XEP-0077, CLI). */
  readonly canSetPassword: boolean;
  userExists(host: string, username: string): Promise<boolean>;
  getScram(host: string, username: string, hash: HashName): Promise<ScramCredential | null>;
  verifyPassword(host: string, username: string, password: string): Promise<boolean>;
  /** Creates a user; false when the user exists already. */
  createUser(host: string, username: string, password: string): Promise<boolean>;
  /** False when there is no such user. */
  setPassword(host: string, username: string, password: string): Promise<boolean>;
  deleteUser(host: string, username: string): Promise<boolean>;
  listUsers(host: string): Promise<string[]>;
}
