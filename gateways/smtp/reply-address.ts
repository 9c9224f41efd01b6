// Reply addresses of notification emails: `reply-<token>@<mail domain>`, one per conversation.
// The token is an HMAC of the conversation under the gateway's secret (not guessable, and
// the same for every email of a conversation, so replies thread); the store maps it back to
// the user and the contact, which keeps the address short whatever the JIDs' lengths.
import { createHmac } from 'node:crypto';
import type { Jid } from '../../src/core/jid.js';
import type { KeyValueStore } from '../../src/store/ports.js';

const STORE = 'mail-reply';
const PREFIX = 'reply-';
/** 20 base32 characters: 100 bits. */
const TOKEN_LENGTH = 20;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export interface ReplyTarget {
  /** The user the notification went to (bare JID). */
  user: string;
  /** The contact whose messages were notified (bare JID). */
  peer: string;
}

export class ReplyAddresses {
  constructor(private readonly secret: Buffer, private readonly kv: KeyValueStore) {}

  /** The reply address of a conversation, remembered so that replies find their way back. */
  async address(mailDomain: string, user: Jid, peer: Jid): Promise<string> {
    const token = this.token(user, peer);
    const target: ReplyTarget = { user: user.bareString, peer: peer.bareString };
    const known = await this.kv.get<ReplyTarget>(mailDomain, '', STORE, token);
    if (!known) await this.kv.set(mailDomain, '', STORE, target, token);
    return `${PREFIX}${token}@${mailDomain}`;
  }

  /** The conversation's token, also used to thread its emails. */
  token(user: Jid, peer: Jid): string {
    const digest = createHmac('sha256', this.secret).update(`${user.bareString}\n${peer.bareString}`).digest();
    return base32(digest).slice(0, TOKEN_LENGTH);
  }

  /** The conversation a reply address stands for; undefined for anything else. */
  async resolve(localPart: string, mailDomain: string): Promise<ReplyTarget | undefined> {
    if (!localPart.startsWith(PREFIX)) return undefined;
    const token = localPart.slice(PREFIX.length);
    if (token.length !== TOKEN_LENGTH || ![...token].every((c) => BASE32.includes(c))) return undefined;
    return this.kv.get<ReplyTarget>(mailDomain, '', STORE, token);
  }
}

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
