// The SASL contract between the XMPP stream and the mechanisms (RFC 4422, RFC 6120 §6).

export type HashName = 'sha1' | 'sha256';
export interface ScramCredential { salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer }
export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point' | 'tls-unique';
/** What a mechanism may ask of the connection and of the account store. */
export interface SaslContext {
  host: string;                       // the virtual host (domain) the stream is for
  secure: boolean;                    // TLS is in place
  channelBindings: ChannelBindingType[];            // types this connection can provide (empty without TLS)
  channelBinding(type: ChannelBindingType): Buffer | null;
  /** SCRAM secrets for a (SASLprepped) username, or null when the user does not exist / has none for this hash. */
  getScram(username: string, hash: HashName): Promise<ScramCredential | null>;
  /** Verifies a clear-text password (for PLAIN). */
  verifyPassword(username: string, password: string): Promise<boolean>;
  /** Uses up a webmail login token (OAUTHBEARER); true when it was the user's and valid. Absent where the host accepts no tokens. */
  consumeToken?(username: string, token: string): Promise<boolean>;
}
export type SaslCondition = 'aborted' | 'account-disabled' | 'credentials-expired' | 'encryption-required' | 'incorrect-encoding' | 'invalid-authzid' | 'invalid-mechanism' | 'malformed-request' | 'mechanism-too-weak' | 'not-authorized' | 'temporary-auth-failure';
export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'success'; username: string; authzid?: string; data?: Buffer }
  | { kind: 'failure'; condition: SaslCondition; text?: string; username?: string };
export interface SaslExchange { step(data: Buffer | null): Promise<SaslStep> }   // first call gets the initial response (null if none)
export interface SaslMechanism {
  readonly name: string;                  // e.g. 'SCRAM-SHA-256-PLUS'
  available(ctx: SaslContext): boolean;   // e.g. PLAIN only when ctx.secure unless allowed insecure; -PLUS only when ctx.channelBindings non-empty
  start(ctx: SaslContext): SaslExchange;
}
