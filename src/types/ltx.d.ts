// Typings for the parts of ltx (the XML element model xmpp.js uses) that Switchboard calls.
declare module 'ltx' {
  export type Node = Element | string;
  export type Attrs = Record<string, string | undefined>;
  export class Element {
    constructor(name: string, attrs?: Attrs | string);
    name: string;
    parent: Element | null;
    children: Node[];
    attrs: Attrs;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string, xmlns?: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    root(): Element;
    up(): Element;
    c(name: string, attrs?: Attrs | string): Element;
    cnode<T extends Node>(child: T): T;
    append(...nodes: Node[]): this;
    prepend(...nodes: Node[]): this;
    t(text: string): this;
    remove(el: Element | string, xmlns?: string): this;
    text(val?: string): string;
    attr(attr: string, val?: string): string | undefined;
    toString(): string;
  }
  export function createElement(name: string, attrs?: Attrs | string | null, ...children: (Node | Node[] | null | undefined)[]): Element;
  export function clone<T extends Element>(el: T): T;
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function parse(s: string): Element;
}
