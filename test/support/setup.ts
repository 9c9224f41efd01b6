// Loaded by mocha before every suite. The hub under test uses self-signed certificates on
// loopback, so clients in tests accept them. Node 20 has no WebSocket or XMLHttpRequest:
// xmpp.js (WebSocket) and Strophe.js (BOSH) get them from ws and xhr2.
import { WebSocket } from 'ws';
import XHR from 'xhr2';

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

interface XmlParser {
  parseFromString(text: string, type: string): unknown;
}

/** Strophe reads `responseXML`, which xhr2 does not provide; parse it with the DOMParser Strophe installs. */
class XMLHttpRequestWithXml extends XHR {
  get responseXML(): unknown {
    const Parser = (globalThis as unknown as { DOMParser: new () => XmlParser }).DOMParser;
    return this.responseText ? new Parser().parseFromString(this.responseText, 'text/xml') : null;
  }
}
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest ??= XMLHttpRequestWithXml;
