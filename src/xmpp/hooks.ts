// Named events with prioritised handlers (Prosody's module events). A handler returns true
// to stop the chain; handlers may be async, and the chain then continues when they settle.
export type HookHandler<E> = (event: E) => boolean | void | Promise<boolean | void>;

interface Registered<E> {
  handler: HookHandler<E>;
  priority: number;
}

export class Hooks<E> {
  private readonly handlers = new Map<string, Array<Registered<E>>>();

  on(name: string, handler: HookHandler<E>, priority = 0): void {
    const list = this.handlers.get(name) ?? [];
    list.push({ handler, priority });
    list.sort((a, b) => b.priority - a.priority);
    this.handlers.set(name, list);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Runs the chain; true when a handler took the event. Synchronous while handlers are. */
  fire(name: string, event: E): boolean | Promise<boolean> {
    const list = this.handlers.get(name);
    if (!list) return false;
    return runFrom(list, 0, event);
  }
}

function runFrom<E>(list: Array<Registered<E>>, start: number, event: E): boolean | Promise<boolean> {
  for (let i = start; i < list.length; i++) {
    const result = list[i]!.handler(event);
    if (result === true) return true;
    if (result instanceof Promise) {
      return result.then((done) => (done === true ? true : runFrom(list, i + 1, event)));
    }
  }
  return false;
}
