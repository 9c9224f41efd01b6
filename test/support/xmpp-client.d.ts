// Typings for the parts of xmpp.js (@xmpp/client) the tests use.
declare module '@xmpp/client' {
  import type { Element } from 'ltx';
  export interface Client {
    start(): Promise<{ toString(): string }>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    on(event: 'stanza', handler: (el: Element) => void): void;
    on(event: 'error' | 'offline' | 'online' | 'status' | 'nonza' | 'element', handler: (arg: never) => void): void;
    reconnect: { stop(): void };
    iqCaller: { request(el: Element, timeout?: number): Promise<Element> };
    iqCallee: { get(ns: string, name: string, handler: (ctx: unknown) => Element): void };
    jid?: { toString(): string };
  }
  export function client(options: Record<string, unknown>): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>): Element;
}
