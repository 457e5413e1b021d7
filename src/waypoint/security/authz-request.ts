// What L7 authorization reads from one request (or, for a TCP port, one connection): built once per
// request by WaypointSecurity, evaluated against every applicable policy.

import type { IpBytes } from '../../rbac/index.js';
import type { HeaderMap } from '../routing/index.js';

/** The verified JWT of a request (RequestAuthentication), as Istio's `request.auth.*` attributes. */
export interface RequestAuth {
  /** `<iss>/<sub>`; undefined when the token has no `sub`. */
  readonly principal: string | undefined;
  readonly audiences: readonly string[];
  /** The `azp` claim. */
  readonly presenter: string | undefined;
  /** The payload, with the rule's space-delimited claims split into lists. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The peer identity of the HBONE tunnel (mTLS): the client workload. */
export interface PeerIdentity {
  /** Without `spiffe://`: `<trust-domain>/ns/<ns>/sa/<sa>`. */
  readonly principal: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface AuthzRequest {
  /** `tcp`: a connection to a TCP port; HTTP attributes are absent (see AuthzEvaluator). */
  readonly protocol: 'http' | 'tcp';
  readonly peer: PeerIdentity | undefined;
  readonly sourceIp: IpBytes | undefined;
  readonly sourceIpText: string;
  /** Envoy's remote address: X-Forwarded-For with trusted hops, else the source address. */
  readonly remoteIp: IpBytes | undefined;
  readonly destinationIp: IpBytes | undefined;
  readonly destinationPort: number;
  /** Requested server name of the downstream TLS; '' (none) for HTTP inside HBONE. */
  readonly sni: string;
  // HTTP only (undefined for tcp).
  readonly host?: string;
  readonly method?: string;
  /** Normalized, without the query. */
  readonly path?: string;
  /** Lower-case names; repeated headers are joined with ',' when matched. */
  readonly headers?: HeaderMap;
  readonly auth?: RequestAuth;
}

/** `spiffe://td/ns/x/sa/y` (or without the scheme) → its parts; undefined if not that shape. */
export function peerIdentity(id: string | undefined): PeerIdentity | undefined {
  if (id === undefined || id === '') return undefined;
  const principal = id.startsWith('spiffe://') ? id.slice('spiffe://'.length) : id;
  const m = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  if (!m) return { principal, namespace: '', serviceAccount: '' };
  return { principal, namespace: m[1]!, serviceAccount: m[2]! };
}
