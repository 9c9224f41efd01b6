// ltx's own tokenizer (an indexOf-driven SAX parser), used by bench/parser.ts as a reference.
declare module 'ltx/src/parsers/ltx.js' {
  import { EventEmitter } from 'node:events';
  export default class SaxLtx extends EventEmitter {
    write(data: string): void;
    end(data?: string): void;
  }
}
