// What an HBONE connection knows about its peer, for logs and telemetry: the peer certificate,
// its first SPIFFE identity and both socket addresses. Shared by the client pool and the server.

import type * as tls from 'node:tls';

export interface SocketAddress {
  readonly ip: string;
  readonly port: number;
}

export interface HboneSessionInfo {
  /** First `spiffe://` URI SAN of the peer leaf (the identity used for RBAC/metrics), if any. */
  readonly peerIdentity: string | undefined;
  readonly peerCertificate: tls.PeerCertificate | undefined;
  readonly localAddress: SocketAddress;
  readonly remoteAddress: SocketAddress;
}

/** URI SANs of a peer certificate as Node reports them (`URI:a, URI:b, DNS:x`). */
export function peerUriSans(cert: tls.PeerCertificate | undefined): string[] {
  const san = cert?.subjectaltname;
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
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
    peerIdentity: peerUriSans(peerCertificate).find((u) => u.startsWith('spiffe://')),
    peerCertificate,
    localAddress: { ip: normalizeIp(socket.localAddress), port: socket.localPort ?? 0 },
    remoteAddress: { ip: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0 },
  };
}
