// A loopback gateway that proves the gateway contract: it owns a domain, answers every
// MESSAGE with its own text, accepts every subscription and shows itself available.
// Tests use it; operators can enable it to check that routing to gateways works.
import { Jid } from '../../src/core/jid.js';
import type { Gateway, GatewayHost } from '../../src/core/gateway.js';
import { Signal } from '../../src/core/signal.js';

export class EchoGateway implements Gateway {
  readonly name = 'echo';
  readonly domains: readonly string[];
  private host: GatewayHost | undefined;

  constructor(private readonly domain: string) {
    this.domains = [domain];
  }

  async start(host: GatewayHost): Promise<void> {
    this.host = host;
  }

  async stop(): Promise<void> {
    this.host = undefined;
  }

  deliver(signal: Signal): void {
    const host = this.host;
    if (!host || signal.isError) return;
    const { content } = signal;
    const me = Jid.of(signal.to.local, this.domain);
    switch (signal.kind) {
      case 'MESSAGE':
        if (content.body === undefined) return;
        host.emit(new Signal('MESSAGE', me, signal.from, {
          type: content.type === 'groupchat' ? 'chat' : content.type, id: content.id, body: content.body, thread: content.thread,
        }));
        if (content.receiptRequest && content.id) {
          host.emit(new Signal('MESSAGE', me, signal.from, { type: 'normal', receiptFor: content.id }));
        }
        return;
      case 'SUBSCRIBE':
        if (content.type === 'subscribe') {
          host.emit(new Signal('SUBSCRIBE', me, signal.from.bare, { type: 'subscribed' }));
          host.emit(new Signal('NOTIFY', me, signal.from.bare, { type: 'available', status: 'echoing' }));
        } else if (content.type === 'probe') {
          host.emit(new Signal('NOTIFY', me, signal.from, { type: 'available', status: 'echoing' }));
        }
        return;
      case 'NOTIFY':
        return;
      case 'INFO':
        if (content.type === 'get' || content.type === 'set') {
          host.emit(new Signal('INFO', me, signal.from, {
            type: 'error', id: content.id, error: { type: 'cancel', condition: 'service-unavailable' },
          }));
        }
    }
  }
}
