// What an HBONE connection knows about its peer, for logs and telemetry: the peer certificate,
// its SPIFFE identity (the one rule of src/tls/san-identity.ts) and both socket addresses.

import type * as tls from 'node:tls';
import { spiffeUriOfSans } from '../tls/index.js';

export interface SocketAddress {
  readonly ip: string;
  readonly port: number;
}

export interface HboneSessionInfo {
  /** The peer leaf's one SPIFFE identity; undefined if it has none or several (never accepted). */
  readonly peerIdentity: string | undefined;
  readonly peerCertificate: tls.PeerCertificate | undefined;
  readonly localAddress: SocketAddress;
  readonly remoteAddress: SocketAddress;
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, from dual-stack listeners) as plain IPv4. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export function sessionInfoOf(socket: tls.TLSSocket): HboneSessionInfo {
  const cert = socket.getPeerCertificate();
  const peerCertificate = cert && Object.keys(cert).length > 0 ? cert : undefined;
  return {
    peerIdentity: spiffeUriOfSans(peerCertificate?.subjectaltname),
    peerCertificate,
    localAddress: { ip: normalizeIp(socket.localAddress), port: socket.localPort ?? 0 },
    remoteAddress: { ip: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0 },
  };
}
