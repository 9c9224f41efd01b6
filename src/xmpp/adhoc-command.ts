// An ad-hoc command (XEP-0050) that a module offers on the server's JID; modules/adhoc.ts runs
// them. Modules do not import each other, so a module registers its command while it loads
// by firing ADHOC_REGISTER with it (`ctx.fire(ADHOC_REGISTER, command)`): the adhoc module,
// loaded earlier (modules/index.ts), answers that event, so the fire returns true. This file
// is the only thing both sides share.
import type { Jid } from '../core/jid.js';
import { StanzaError } from './errors.js';
import { Element } from './xml.js';

export const COMMANDS_NS = 'http://jabber.org/protocol/commands';
export const ADHOC_REGISTER = 'adhoc/register';

/** The actions a stage may offer besides cancel (XEP-0050, "Command Actions"). */
export type StageAction = 'prev' | 'next' | 'complete';

export interface AdhocCommand {
  readonly node: string;
  /** Shown in the command list. */
  readonly name: string;
  /** Whether the requester may see and run the command on `host`. */
  allowed(requester: Jid, host: string): boolean | Promise<boolean>;
  /** Runs one step of a session; may throw StanzaError (see adhocError). */
  run(step: AdhocStep): AdhocReply | Promise<AdhocReply>;
}

export interface AdhocStep {
  /** The requester's full JID. */
  requester: Jid;
  /** The host the command was sent to. */
  host: string;
  /** `execute` on the first step; later the action chosen, "execute" resolved to the stage's default. */
  action: 'execute' | StageAction;
  /** The data form submitted with the step, if any. */
  form?: Element;
}

export interface AdhocNote {
  type: 'info' | 'warn' | 'error';
  text: string;
}

export interface AdhocReply {
  /** `executing`: the session waits for the next step; `completed`: it ends. */
  status: 'executing' | 'completed';
  /** What the requester may do next (executing only); absent, only "complete". */
  actions?: { allowed: StageAction[]; execute?: StageAction };
  notes?: AdhocNote[];
  /** Usually a data form. */
  payload?: Element;
}

/** A bad-request with the XEP-0050 condition, e.g. `bad-payload` for a form that cannot be used. */
export function adhocError(condition: 'bad-action' | 'bad-payload' | 'bad-sessionid' | 'malformed-action', text?: string): StanzaError {
  return new StanzaError('bad-request', text, 'modify', new Element(condition, { xmlns: COMMANDS_NS }));
}
