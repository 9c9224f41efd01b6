// TLS channel bindings (RFC 5929, RFC 9266) for SASL SCRAM-PLUS, from a TLS socket.
import type tls from 'node:tls';
import type { ChannelBindingType } from '../sasl/mechanism.js';

/** The binding types this TLS connection can provide, best first. */
export function channelBindingTypes(socket: tls.TLSSocket): ChannelBindingType[] {
  const types: ChannelBindingType[] = ['tls-server-end-point', 'tls-unique'];
  if (socket.getProtocol() === 'TLSv1.3') types.unshift('tls-exporter');
  return types;
}

/** The binding data of `type`; `endPoint` is the hash of the certificate the server presented. */
export function channelBindingData(socket: tls.TLSSocket, type: ChannelBindingType, endPoint: Buffer | undefined): Buffer | null {
  if (type === 'tls-exporter' && socket.getProtocol() === 'TLSv1.3') {
    return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
  }
  if (type === 'tls-server-end-point') return endPoint ?? null;
  // RFC 5929 tls-unique: the first Finished of the handshake (the client's, unless resumed).
  // Not defined for TLS 1.3, but clients such as slixmpp compute it the same way there.
  if (type === 'tls-unique') return (socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished()) ?? null;
  return null;
}
