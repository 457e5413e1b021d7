// Strings every connection derives from its workloads (the SPIFFE id, the baggage header), computed
// once per Workload object: state objects are immutable and replaced whole, so a cached string can
// never go stale, and entries leave with the snapshots that held their workloads (WeakMap).

import { buildBaggage } from '../hbone/index.js';
import type { Workload } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload } from '../tls/index.js';

const spiffeIds = new WeakMap<Workload, string>();
const baggages = new WeakMap<Workload, string>();

/** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` of `w`. */
export function workloadSpiffeId(w: Workload): string {
  let id = spiffeIds.get(w);
  if (id === undefined) {
    id = formatSpiffeId(identityFromWorkload(w));
    spiffeIds.set(w, id);
  }
  return id;
}

/** The `baggage` header value describing `w` (buildBaggage). */
export function workloadBaggage(w: Workload): string {
  let b = baggages.get(w);
  if (b === undefined) {
    b = buildBaggage(w);
    baggages.set(w, b);
  }
  return b;
}
