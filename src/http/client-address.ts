// Who is on the other end of an HTTP request: the socket's peer, or, when that peer is a
// configured reverse proxy, the client it names in `Forwarded` (RFC 7239) or
// `X-Forwarded-For`, and whether the client's own connection was encrypted.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { TLSSocket } from 'node:tls';

export interface ClientInfo {
  address: string;
  /** The client reached us over TLS (directly, or through a trusted proxy that says so). */
  secure: boolean;
  /** The host[:port] the client asked for (the proxy's X-Forwarded-Host when trusted). */
  host: string;
  /** A trusted proxy relayed the request (so our TLS, if any, is with the proxy). */
  forwarded: boolean;
}

export class ClientAddresses {
  private readonly trusted = new net.BlockList();

  /** `proxies`: addresses or CIDR blocks; throws on a malformed entry. */
  /** Most hubs trust no proxy: then no address needs checking (BlockList.check allocates). */
  private readonly anyTrusted: boolean;

  constructor(proxies: readonly string[]) {
    this.anyTrusted = proxies.length > 0;
    for (const entry of proxies) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
      if (!family) throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR block`);
      if (bits === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(bits), family);
    }
  }

  of(req: IncomingMessage): ClientInfo {
    const socket = req.socket;
    const peer = normalise(socket.remoteAddress ?? 'unknown');
    const direct = { address: peer, secure: socket instanceof TLSSocket, host: safeHost(req.headers.host), forwarded: false };
    if (!this.isTrusted(peer)) return direct;
    const forwardedHost = headerValue(req.headers['x-forwarded-host'])?.split(',')[0];
    if (forwardedHost) direct.host = safeHost(forwardedHost);
    const hops = forwardedHops(req);
    if (hops.length === 0) return direct;
    // The nearest hop that is not one of our proxies is the client; anything further left
    // was written by the client itself and cannot be believed.
    let client = hops[hops.length - 1]!;
    for (let i = hops.length - 1; i >= 0; i--) {
      client = hops[i]!;
      if (!this.isTrusted(client.address)) break;
    }
    return { ...direct, forwarded: true, address: client.address, secure: client.proto ? client.proto === 'https' : direct.secure };
  }

  private isTrusted(address: string): boolean {
    if (!this.anyTrusted) return false;
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    return family !== undefined && this.trusted.check(address, family);
  }
}

interface Hop {
  address: string;
  proto?: string;
}

/** Forwarding hops, client first; `Forwarded` wins over the X-Forwarded-* headers. */
function forwardedHops(req: IncomingMessage): Hop[] {
  const forwarded = req.headers.forwarded;
  if (forwarded) {
    return forwarded.split(',').flatMap((element) => {
      const params = new Map(element.split(';').map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim().replace(/^"(.*)"$/, '$1')] as const;
      }));
      const address = forwardedNode(params.get('for'));
      return address ? [{ address, proto: params.get('proto')?.toLowerCase() }] : [];
    });
  }
  const xff = req.headers['x-forwarded-for'];
  if (typeof xff !== 'string') return [];
  const proto = headerValue(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
  const hops: Hop[] = xff.split(',').map((a) => a.trim()).filter((a) => net.isIP(a)).map((address) => ({ address: normalise(address) }));
  // X-Forwarded-Proto describes the client's connection to the first proxy.
  if (hops.length > 0 && proto) hops[hops.length - 1]!.proto = proto;
  return hops;
}

/** RFC 7239 node: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`; obfuscated names are ignored. */
function forwardedNode(node: string | undefined): string | undefined {
  if (!node) return undefined;
  const bracketed = /^\[([^\]]+)\]/.exec(node);
  const address = bracketed ? bracketed[1]! : node.replace(/:\d+$/, '');
  return net.isIP(address) ? normalise(address) : undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** "::ffff:10.1.2.3" (an IPv4 client on a dual-stack socket) is 10.1.2.3. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A Host header reduced to something safe to write into URLs. */
function safeHost(value: string | undefined): string {
  const host = value?.trim() ?? '';
  return /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : 'localhost';
}
