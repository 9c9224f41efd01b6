// The single place where a signal's destination is resolved: a domain served here (an XMPP
// virtual host, a gateway, a component) or, failing that, the remote route (s2s/cluster).
import type { Logger } from './log.js';
import { errorReply, type Signal, type SignalError } from './signal.js';

export interface SignalTarget {
  deliver(signal: Signal): void | Promise<void>;
}

export class Router {
  private readonly domains = new Map<string, SignalTarget>();
  private remote: SignalTarget | undefined;
  private readonly messageObservers: Array<(signal: Signal) => void> = [];
  routed = 0;

  constructor(private readonly log: Logger) {}

  register(domain: string, target: SignalTarget): void {
    if (this.domains.has(domain)) throw new Error(`domain ${domain} is already served`);
    this.domains.set(domain, target);
  }

  unregister(domain: string): void {
    this.domains.delete(domain);
  }

  /** Where signals for domains not served here go (s2s federation, cluster peers). */
  setRemote(target: SignalTarget | undefined): void {
    this.remote = target;
  }

  serves(domain: string): boolean {
    return this.domains.has(domain);
  }

  /** Sees every MESSAGE routed (archives); observers must be quick and never throw. */
  observeMessages(observer: (signal: Signal) => void): void {
    this.messageObservers.push(observer);
  }

  route(signal: Signal): void {
    this.routed++;
    if (signal.kind === 'MESSAGE') for (const observe of this.messageObservers) observe(signal);
    const target = this.domains.get(signal.to.domain) ?? this.remote;
    if (!target) {
      this.bounce(signal, { type: 'cancel', condition: 'remote-server-not-found' });
      return;
    }
    try {
      const pending = target.deliver(signal);
      if (pending) pending.catch((err: unknown) => this.failed(signal, err));
    } catch (err) {
      this.failed(signal, err);
    }
  }

  /** Answers a signal with an error, unless it is an error itself (errors never bounce). */
  bounce(signal: Signal, error: SignalError): void {
    if (signal.isError) return;
    this.route(errorReply(signal, error));
  }

  private failed(signal: Signal, err: unknown): void {
    this.log.error({ err, kind: signal.kind, to: signal.to.toString() }, 'delivery failed');
    this.bounce(signal, { type: 'wait', condition: 'internal-server-error' });
  }
}
