// The addresses authorization reads beside the peer identity: the client's source IP (the HBONE
// CONNECT's `forwarded: for=`, trusted only for the peer's own workload IPs) and Envoy's remote
// address (X-Forwarded-For with a number of trusted hops).

import type { HeaderMap } from '../routing/index.js';

/** The `for=` address of the first Forwarded element (RFC 7239; `"ip:port"`, `"[v6]:port"`, bare ip). */
export function parseForwardedFor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    let v = pair.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v.startsWith('[')) {
      const end = v.indexOf(']');
      return end > 0 ? v.slice(1, end) : undefined;
    }
    const colons = (v.match(/:/g) ?? []).length;
    // One colon: ipv4:port. More: a bare IPv6 address (RFC 7239 wants it bracketed, be lenient).
    return colons === 1 ? v.slice(0, v.indexOf(':')) : v;
  }
  return undefined;
}

/**
 * The client's source IP at the waypoint. The node agent sends the original client address in
 * `forwarded: for=` (in-pod it equals the TCP peer; a shared agent dials from its own address).
 * It is used only when it belongs to a workload whose identity is the tunnel's mTLS peer, so a
 * workload can never claim another's IP to pass an ipBlocks rule; otherwise the TCP peer counts.
 */
export function sourceIpOf(tcpPeerIp: string, forwarded: string | undefined, peerIdentity: string, identityOfIp: (ip: string) => string | undefined): string {
  const claimed = parseForwardedFor(forwarded);
  if (claimed === undefined || claimed === tcpPeerIp) return tcpPeerIp;
  const strip = (id: string): string => (id.startsWith('spiffe://') ? id.slice(9) : id);
  const owner = identityOfIp(claimed);
  return owner !== undefined && strip(owner) === strip(peerIdentity) ? claimed : tcpPeerIp;
}

/**
 * Envoy's remote address with `xff_num_trusted_hops` N and use_remote_address: the N-th address
 * from the right of X-Forwarded-For (all its lines joined), or the source address when N is 0 or
 * the header holds fewer than N addresses.
 */
export function remoteIpOf(headers: HeaderMap, sourceIp: string, trustedHops: number): string {
  if (trustedHops <= 0) return sourceIp;
  const xff = (headers.get('x-forwarded-for') ?? []).join(',').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return xff.length >= trustedHops ? xff[xff.length - trustedHops]! : sourceIp;
}
