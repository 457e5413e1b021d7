// Fixtures for the waypoint's upstream-policy unit tests: endpoints without sockets, clusters,
// a seeded PRNG, and a manual clock.

import type { Locality, Workload } from '../../src/state/index.js';
import type { UpstreamEndpoint } from '../../src/waypoint/load-balancer.js';
import type { Cluster } from '../../src/waypoint/model/route-model.js';
import { seeded } from './waypoint-rig.js';

export { seeded };

const NO_LOCALITY: Locality = { region: '', zone: '', subzone: '' };

/** An endpoint named `name` at 10.0.<i/256>.<i%256>:8080; healthy unless said otherwise. */
export function endpoint(i: number, opts: { healthy?: boolean; locality?: Locality } = {}): UpstreamEndpoint {
  const ip = `10.0.${Math.floor(i / 256)}.${i % 256}`;
  const workload = { uid: `Kubernetes//Pod/default/ep-${i}`, name: `ep-${i}`, namespace: 'default', locality: opts.locality ?? NO_LOCALITY } as unknown as Workload;
  return { key: `${workload.uid}|${ip}:8080`, workload, ip, port: 8080, identity: 'spiffe://cluster.local/ns/default/sa/ep', hbone: true, healthy: opts.healthy ?? true };
}

export function endpoints(n: number, from = 0): UpstreamEndpoint[] {
  return Array.from({ length: n }, (_, i) => endpoint(from + i));
}

export function cluster(extra: Partial<Cluster> = {}): Cluster {
  return { name: 'outbound|80||reviews.default.svc.cluster.local', hostname: 'reviews.default.svc.cluster.local', namespace: 'default', port: 80, protocol: 'http1', lb: { kind: 'ROUND_ROBIN' }, connectTimeoutMs: 1000, ...extra };
}

/** A clock tests move by hand, ms. */
export class ManualClock {
  t = 0;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
