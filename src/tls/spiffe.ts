// SPIFFE identities as Istio uses them: exactly `spiffe://<trust domain>/ns/<namespace>/sa/<sa>`.
// Anything else (other path shapes, extra segments) is not an identity ztunnel recognises.

export interface Identity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

const PREFIX = 'spiffe://';

/** Parses `spiffe://td/ns/<ns>/sa/<sa>` (5 path segments, literal `ns` and `sa`, none empty). */
export function parseSpiffeId(uri: string): Identity | undefined {
  if (!uri.startsWith(PREFIX)) return undefined;
  const parts = uri.slice(PREFIX.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return undefined;
  const [trustDomain, , namespace, , serviceAccount] = parts as [string, string, string, string, string];
  if (trustDomain === '' || namespace === '' || serviceAccount === '') return undefined;
  return { trustDomain, namespace, serviceAccount };
}

export function formatSpiffeId(id: Identity): string {
  return `${PREFIX}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The identity a workload's certificate carries (trust domain from its XDS record). */
export function identityFromWorkload(w: { readonly trustDomain: string; readonly namespace: string; readonly serviceAccount: string }): Identity {
  return { trustDomain: w.trustDomain, namespace: w.namespace, serviceAccount: w.serviceAccount };
}
