// The one rule that turns a peer leaf's SANs into its identity, used by inbound, outbound, session
// info and logs alike: exactly one SPIFFE identity, or none at all (refused as ambiguous).
//
// Why not "any SAN matches": with URI SANs [spiffe://evil/…/admin, spiffe://td/…/x] a peer would
// pass a trust-domain or expected-SAN check on one SAN while RBAC, metrics and logs use another.
// SPIFFE X.509-SVIDs carry exactly one URI SAN and istiod issues exactly one, so nothing valid is
// lost. Upstream ztunnel (src/tls/workload.rs) accepts if any identity matches; we are stricter.

import { MeshError } from '../common/errors.js';
import { parseSanUris, spiffeUriSans } from '../identity/index.js';
import { parseSpiffeId, type Identity } from './spiffe.js';

/** The identity a leaf carries, with the SAN text it came from (`formatSpiffeId(id) === uri`). */
export interface SanIdentity {
  readonly uri: string;
  readonly id: Identity;
}

export type SanIdentityResult =
  | { readonly ok: true; readonly identity: SanIdentity }
  | { readonly ok: false; readonly problem: string };

/**
 * Applies the rule to Node's `subjectaltname` string (`PeerCertificate.subjectaltname`,
 * `X509Certificate.subjectAltName`). Counted: URI SANs with scheme `spiffe`, a repeated URI once.
 * Ignored: other URIs, DNS, IP and e-mail SANs. Exactly one counted SAN, and it must parse as
 * `spiffe://<td>/ns/<ns>/sa/<sa>`; zero, two or more, or one that does not parse → not ok.
 */
export function spiffeIdentityOfSans(san: string | undefined): SanIdentityResult {
  const claimed = spiffeUriSans(san);
  if (claimed.length === 0) {
    return { ok: false, problem: `no SPIFFE identity among its URI SANs [${parseSanUris(san).join(', ')}]` };
  }
  if (claimed.length > 1) {
    return { ok: false, problem: `ambiguous identity: ${claimed.length} distinct SPIFFE URI SANs [${claimed.join(', ')}], exactly one is allowed` };
  }
  const uri = claimed[0]!;
  const id = parseSpiffeId(uri);
  if (!id) return { ok: false, problem: `SPIFFE URI SAN ${uri} is not of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>` };
  return { ok: true, identity: { uri, id } };
}

/** The rule as a check: returns the identity or throws MeshError CERT_INVALID naming the SANs. */
export function requireSpiffeIdentity(san: string | undefined, whose: 'client' | 'server'): SanIdentity {
  const r = spiffeIdentityOfSans(san);
  if (!r.ok) throw new MeshError('CERT_INVALID', `${whose} certificate refused: ${r.problem}`);
  return r.identity;
}

/** The identity for logs and telemetry, or undefined when the rule does not yield exactly one. */
export function spiffeUriOfSans(san: string | undefined): string | undefined {
  const r = spiffeIdentityOfSans(san);
  return r.ok ? r.identity.uri : undefined;
}
