// Ad-hoc commands (XEP-0050) on each host's JID: the command list and the command nodes in
// service discovery, and the sessions that carry a command through its stages. The commands
// come from other modules, registered through ADHOC_REGISTER (see adhoc-command.ts), so this
// module must load before them.
import { randomBytes } from 'node:crypto';
import type { Jid } from '../../core/jid.js';
import { ADHOC_REGISTER, COMMANDS_NS, adhocError, type AdhocCommand, type AdhocReply, type AdhocStep, type StageAction } from '../adhoc-command.js';
import { StanzaError, directoryStanzaError } from '../errors.js';
import type { IqEvent, ModuleContext, SessionEvent, XmppModule } from '../module.js';
import { Element } from '../xml.js';

const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';
const DATA = 'jabber:x:data';
const ACTIONS = ['execute', 'cancel', 'prev', 'next', 'complete'] as const;
/** A session left alone this long ends; its id is then still known (session-expired) as long again. */
const SESSION_TTL_MS = 10 * 60_000;
/** Open sessions per user: starting one more ends the oldest (clients often abandon sessions). */
const MAX_OPEN = 5;
/** Sessions per user remembered, open or ended. */
const MAX_REMEMBERED = 20;

export const adhocModule: XmppModule = {
  name: 'adhoc',
  load(ctx: ModuleContext) {
    const commands = new Map<string, AdhocCommand>();
    const sessions = new Sessions();
    ctx.feature(COMMANDS_NS);

    ctx.on<AdhocCommand>(ADHOC_REGISTER, (command) => {
      if (commands.has(command.node)) throw new Error(`two ad-hoc commands have the node ${command.node}`);
      commands.set(command.node, command);
      return true;
    });

    const permitted = async (requester: Jid, host: string, node: string): Promise<AdhocCommand> => {
      const command = commands.get(node);
      if (!command) throw new StanzaError('item-not-found', `no command ${node}`);
      if (!(await command.allowed(requester, host))) throw new StanzaError('forbidden', 'you may not run this command', 'cancel');
      return command;
    };

    // The disco module answers every other node (item-not-found); these hooks run before it.
    ctx.on<IqEvent>(`iq-get/host/${ITEMS}`, (event) => {
      if (event.payload.attrs.node !== COMMANDS_NS) return false;
      return answer(ctx, event, async () => {
        const query = new Element('query', { xmlns: ITEMS, node: COMMANDS_NS });
        for (const command of commands.values()) {
          if (await command.allowed(event.from, event.to.domain)) {
            query.c('item', { jid: event.to.domain, node: command.node, name: command.name });
          }
        }
        return query;
      });
    }, 1);

    ctx.on<IqEvent>(`iq-get/host/${INFO}`, (event) => {
      const node = event.payload.attrs.node;
      if (node !== COMMANDS_NS && !commands.has(node ?? '')) return false;
      return answer(ctx, event, async () => {
        const query = new Element('query', { xmlns: INFO, node });
        if (node === COMMANDS_NS) {
          query.c('identity', { category: 'automation', type: 'command-list', name: 'Commands' });
          return query;
        }
        const command = await permitted(event.from, event.to.domain, node!);
        query.c('identity', { category: 'automation', type: 'command-node', name: command.name });
        query.c('feature', { var: COMMANDS_NS });
        query.c('feature', { var: DATA });
        return query;
      });
    }, 1);

    ctx.onIq('set', 'host', COMMANDS_NS, async ({ from, to, payload }) => {
      const node = payload.attrs.node;
      if (payload.name !== 'command' || !node) throw new StanzaError('bad-request', 'expected <command/> with a node');
      const action = payload.attrs.action ?? 'execute';
      if (!isAction(action)) throw adhocError('malformed-action', `unknown action "${action}"`);
      const command = await permitted(from, to.domain, node);

      const run = async (step: AdhocStep['action'], session?: Session): Promise<Element> => {
        const form = payload.getChild('x', DATA);
        const reply = await command.run({ requester: from, host: to.domain, action: step, ...(form ? { form } : {}) });
        const current = session ?? sessions.start(from, node);
        if (reply.status === 'completed') sessions.end(current);
        else sessions.continue(current, reply.actions);
        return commandElement(node, current.id, reply);
      };

      const id = payload.attrs.sessionid;
      if (id === undefined) {
        if (action !== 'execute') throw adhocError('bad-action', 'a session starts with the action "execute"');
        return run('execute');
      }
      const session = sessions.find(from, id);
      if (!session || session.node !== node) throw adhocError('bad-sessionid', 'no such session');
      if (!session.open) {
        throw new StanzaError('not-allowed', 'the session has ended', 'cancel', new Element('session-expired', { xmlns: COMMANDS_NS }));
      }
      if (action === 'cancel') {
        sessions.end(session);
        return new Element('command', { xmlns: COMMANDS_NS, node, sessionid: id, status: 'canceled' });
      }
      return run(stageAction(action, session.actions), session);
    });

    ctx.on<SessionEvent>('session/closed', ({ session }) => sessions.forget(session.jid!));
  },
};

function isAction(action: string): action is (typeof ACTIONS)[number] {
  return (ACTIONS as readonly string[]).includes(action);
}

/** What a later step's action means, given the actions the last stage offered (XEP-0050, "Command Actions"). */
function stageAction(action: AdhocStep['action'], offered: AdhocReply['actions']): StageAction {
  const chosen = action !== 'execute' ? action : offered ? (offered.execute ?? 'next') : 'complete';
  if (!(offered?.allowed ?? ['complete']).includes(chosen)) throw adhocError('bad-action', `"${chosen}" is not possible now`);
  return chosen;
}

function commandElement(node: string, sessionid: string, reply: AdhocReply): Element {
  const command = new Element('command', { xmlns: COMMANDS_NS, node, sessionid, status: reply.status });
  if (reply.status === 'executing' && reply.actions) {
    const actions = command.c('actions', { execute: reply.actions.execute });
    for (const action of reply.actions.allowed) actions.c(action);
  }
  for (const { type, text } of reply.notes ?? []) command.c('note', { type }).t(text);
  if (reply.payload) command.cnode(reply.payload);
  return command;
}

/** Answers an iq, as onIq does, from a hook that takes only some of its event's iqs. */
async function answer(ctx: ModuleContext, event: IqEvent, build: () => Promise<Element>): Promise<true> {
  try {
    const { stanza } = event;
    const result = new Element('iq', { type: 'result', id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from });
    result.cnode(await build());
    ctx.routeFrom(event.to, event.from, result);
  } catch (err) {
    const error = directoryStanzaError(err) ?? err;
    if (!(error instanceof StanzaError)) ctx.log.error({ err }, 'ad-hoc disco query failed');
    ctx.bounce(event, error instanceof StanzaError ? error : new StanzaError('internal-server-error'));
  }
  return true;
}

interface Session {
  readonly id: string;
  readonly resource: string;
  readonly node: string;
  open: boolean;
  /** What the last stage offered. */
  actions?: AdhocReply['actions'];
  /** When an open session ends for lack of use. */
  expiresAt: number;
  /** When its id is no longer recognised. */
  forgetAt: number;
}

/**
 * Command sessions (XEP-0050, "Session Lifetime"), each valid for the full JID that started it,
 * kept by user. Ended ones are remembered for a while so that their ids get session-expired
 * rather than bad-sessionid; a user's sessions are bounded, and dropped with the resource that
 * ran them.
 */
class Sessions {
  private readonly users = new Map<string, Map<string, Session>>();

  find(requester: Jid, id: string): Session | undefined {
    return this.of(requester).get(key(requester.resource, id));
  }

  start(requester: Jid, node: string): Session {
    const sessions = this.of(requester);
    const open = [...sessions.values()].filter((s) => s.open);
    if (open.length >= MAX_OPEN) this.end(open[0]!);
    if (sessions.size >= MAX_REMEMBERED) sessions.delete(sessions.keys().next().value!);
    const expiresAt = Date.now() + SESSION_TTL_MS;
    const session: Session = {
      id: randomBytes(12).toString('base64url'), resource: requester.resource, node, open: true, expiresAt, forgetAt: expiresAt + SESSION_TTL_MS,
    };
    sessions.set(key(session.resource, session.id), session);
    return session;
  }

  continue(session: Session, actions: AdhocReply['actions']): void {
    session.actions = actions;
    session.expiresAt = Date.now() + SESSION_TTL_MS;
    session.forgetAt = session.expiresAt + SESSION_TTL_MS;
  }

  end(session: Session): void {
    session.open = false;
    session.forgetAt = Date.now() + SESSION_TTL_MS;
  }

  forget(full: Jid): void {
    const sessions = this.users.get(full.bareString);
    if (!sessions) return;
    for (const [k, session] of sessions) if (session.resource === full.resource) sessions.delete(k);
    if (sessions.size === 0) this.users.delete(full.bareString);
  }

  /** A user's sessions, those left alone too long ended and those ended long ago forgotten. */
  private of(requester: Jid): Map<string, Session> {
    const now = Date.now();
    let sessions = this.users.get(requester.bareString);
    if (!sessions) this.users.set(requester.bareString, (sessions = new Map()));
    for (const [k, session] of sessions) {
      if (session.open && now >= session.expiresAt) session.open = false;
      if (now >= session.forgetAt) sessions.delete(k);
    }
    return sessions;
  }
}

// A NUL never occurs in XML, so no resource and id can pass for another pair.
const key = (resource: string, id: string): string => `${resource}\0${id}`;
