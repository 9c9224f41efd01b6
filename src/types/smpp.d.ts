// Typings for the parts of smpp (node-smpp 0.5: SMPP 5.0/3.4 sessions, server and PDU codec)
// that the SMS gateway and its SMSC simulator use. PDU fields carry the specification's names.
declare module 'smpp' {
  import { EventEmitter } from 'node:events';
  import { Server as NetServer, type Socket } from 'node:net';

  namespace smpp {
    /**
     * A PDU: the header plus the command's parameters and TLVs as own properties. Decoding runs
     * the package's filters (short_message becomes `{ udh?: Buffer[]; message: string | Buffer }`,
     * times become Dates); an unknown command_id decodes as command 'unknown'.
     */
    class PDU {
      constructor(command: string, options?: Record<string, unknown>);
      command: string;
      command_length: number;
      command_id: number;
      command_status: number;
      sequence_number: number;
      [field: string]: unknown;
      isResponse(): boolean;
      /** The response to this request (generic_nack for an unknown command). */
      response(options?: Record<string, unknown>): PDU;
      toBuffer(): Buffer;
      static maxLength: number;
      /** Reads the next command_length off the stream: false when 4 bytes are not there yet. */
      static commandLength(stream: NodeJS.ReadableStream): number | false;
    }

    class Session extends EventEmitter {
      readonly socket: Socket;
      /** false (and nothing sent) when the socket is not writable. Assigns sequence_number to requests. */
      send(pdu: PDU, responseCallback?: (pdu: PDU) => void, sendCallback?: (pdu: PDU) => void): boolean;
      close(callback?: () => void): void;
      destroy(callback?: () => void): void;
      on(event: 'connect' | 'close', listener: () => void): this;
      on(event: 'error', listener: (err: Error) => void): this;
      /** 'pdu' for every PDU received, then its command name ('submit_sm', 'unknown', ...). */
      on(event: string, listener: (pdu: PDU) => void): this;
    }

    class Server extends NetServer {
      readonly sessions: Session[];
    }

    interface Encoding {
      match(value: string): boolean;
      encode(value: string): Buffer;
      decode(value: Buffer): string;
    }

    interface ParamDef {
      filter?: unknown;
    }

    function connect(options: { host: string; port: number }): Session;
    function createServer(listener?: (session: Session) => void): Server;
    /** command_status values by name (ESME_ROK ...). */
    const errors: Readonly<Record<string, number>>;
    /** ASCII is the GSM 03.38 default alphabet, one septet per octet. */
    const encodings: { ASCII: Encoding; LATIN1: Encoding; UCS2: Encoding };
    const commands: Record<string, { id: number; params?: Record<string, ParamDef> }>;
    const tlvs: Record<string, ParamDef & { id: number }>;
  }
  export = smpp;
}
