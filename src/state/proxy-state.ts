// The node agent's view of the mesh: workloads, services, policies and derived endpoints. Config
// sources hand it whole snapshots; readers get synchronous lookups that never see a half-applied push.

import { endpointCandidates, pickEndpoint, type PickedEndpoint, type RandomSource } from './endpoint-picker.js';
import { PolicyIndex } from './policy-index.js';
import { ServiceIndex } from './service-index.js';
import { dumpState, type StateDump } from './state-dump.js';
import { WorkloadIndex } from './workload-index.js';
import { serviceKey, type Authorization, type Endpoint, type Service, type StateSnapshot, type Workload } from './types.js';

export interface StateChange {
  readonly policiesChanged: boolean;
  readonly workloadsChanged: boolean;
  readonly servicesChanged: boolean;
}

export type StateListener = (change: StateChange) => void;

export interface ProxyStateOptions {
  /** For endpoint selection; defaults to Math.random. */
  readonly random?: RandomSource;
}

/** Everything derived from one snapshot. Replaced as a unit, never mutated. */
interface Indexes {
  readonly snapshot: StateSnapshot;
  readonly workloads: WorkloadIndex;
  readonly services: ServiceIndex;
  readonly policies: PolicyIndex;
}

const EMPTY: StateSnapshot = Object.freeze({ workloads: [], services: [], policies: [] });

/** Stable content fingerprint (Maps serialised as entry lists) used to tell listeners what changed. */
function fingerprint(items: readonly unknown[]): string {
  return JSON.stringify(items, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v));
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length === b.length && a.every((x, i) => x === b[i])) return true;
  return fingerprint(a) === fingerprint(b);
}

export class ProxyState {
  private current: Indexes;
  private readonly listeners = new Set<StateListener>();
  private readonly random: RandomSource;

  constructor(options: ProxyStateOptions = {}) {
    this.random = options.random ?? Math.random;
    this.current = ProxyState.build(EMPTY);
  }

  private static build(snapshot: StateSnapshot): Indexes {
    return {
      snapshot,
      workloads: new WorkloadIndex(snapshot.workloads),
      services: new ServiceIndex(snapshot.services, snapshot.workloads),
      policies: new PolicyIndex(snapshot.policies),
    };
  }

  /**
   * Replaces the whole state. Indexes are built before the swap, so a reader either sees the old
   * state or the new one; listeners run after the swap, synchronously, in registration order.
   * A listener that throws does not stop the others (its error is rethrown after all ran).
   */
  apply(snapshot: StateSnapshot): void {
    const next = ProxyState.build(snapshot);
    const prev = this.current.snapshot;
    const change: StateChange = {
      workloadsChanged: !sameItems(prev.workloads, snapshot.workloads),
      servicesChanged: !sameItems(prev.services, snapshot.services),
      policiesChanged: !sameItems(prev.policies, snapshot.policies),
    };
    this.current = next;
    let firstError: unknown;
    for (const cb of [...this.listeners]) {
      try {
        cb(change);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  /** Registers a change listener; returns the function that unregisters it. */
  onChange(cb: StateListener): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /** The snapshot currently applied (frozen if the source froze it). */
  snapshot(): StateSnapshot {
    return this.current.snapshot;
  }

  workloadByUid(uid: string): Workload | undefined {
    return this.current.workloads.byUid.get(uid);
  }

  /** Best workload with this network/IP (Pod uid, then HBONE); HostNetwork workloads never match. */
  workloadByIp(network: string, ip: string): Workload | undefined {
    return this.current.workloads.byIp(network, ip);
  }

  /**
   * Service owning this VIP as seen from `clientNamespace` (ztunnel src/state.rs). Without a client
   * namespace, Namespace-visibility services are not filtered out.
   */
  serviceByVip(network: string, ip: string, clientNamespace?: string): Service | undefined {
    return this.current.services.byAddress(network, ip, clientNamespace);
  }

  /** By primary key `namespace/hostname`. */
  serviceByKey(key: string): Service | undefined {
    return this.current.services.byKey.get(key);
  }

  /** Best service with this hostname: `preferNamespace` (also the visibility scope), canonical, first. */
  serviceByHostname(hostname: string, preferNamespace?: string): Service | undefined {
    return this.current.services.byHost(hostname, preferNamespace);
  }

  /** Endpoints of a service key, derived from Workload.services; present even before the service. */
  endpoints(key: string): readonly Endpoint[] {
    return this.current.services.endpointsByKey.get(key) ?? [];
  }

  /** Known services the workload is an endpoint of (unknown keys are skipped). */
  servicesOf(workload: Workload): Service[] {
    const out: Service[] = [];
    for (const key of workload.services.keys()) {
      const s = this.current.services.byKey.get(key);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Workloads whose `node` is `nodeName` (the ones this agent serves in shared mode). */
  localWorkloads(nodeName: string): readonly Workload[] {
    return this.current.workloads.onNode(nodeName);
  }

  /**
   * The local workload for a (namespace, name, service account) on this node (ztunnel src/state.rs
   * find_by_info). MUST stay node-scoped: a proxy may only act as workloads of its node.
   */
  findLocalWorkload(
    nodeName: string,
    info: { readonly namespace: string; readonly name: string; readonly serviceAccount: string },
  ): Workload | undefined {
    return this.current.workloads
      .onNode(nodeName)
      .find((w) => w.namespace === info.namespace && w.name === info.name && w.serviceAccount === info.serviceAccount);
  }

  policiesFor(workload: Workload): readonly Authorization[] {
    return this.current.policies.policiesFor(workload);
  }

  policyByKey(key: string): Authorization | undefined {
    return this.current.policies.byKey.get(key);
  }

  /**
   * One endpoint of `service` for `servicePort`, or undefined when none qualifies (no such port,
   * no healthy endpoint, no mappable target port, Strict locality unmet). Passthrough mode is the
   * caller's decision; this picks as in Standard mode.
   */
  pickEndpoint(service: Service, servicePort: number, source?: Workload): PickedEndpoint | undefined {
    const indexes = this.current;
    return pickEndpoint(
      service,
      servicePort,
      indexes.services.endpointsByKey.get(serviceKey(service.namespace, service.hostname)) ?? [],
      (uid) => indexes.workloads.byUid.get(uid),
      source,
      this.random,
    );
  }

  /**
   * Every endpoint `pickEndpoint` would choose among for these arguments (same filters and
   * locality ranking; the weighted random choice left out). For diagnostics (`ambit ctl explain`).
   */
  endpointCandidates(service: Service, servicePort: number, source?: Workload): PickedEndpoint[] {
    const indexes = this.current;
    return endpointCandidates(
      service,
      servicePort,
      indexes.services.endpointsByKey.get(serviceKey(service.namespace, service.hostname)) ?? [],
      (uid) => indexes.workloads.byUid.get(uid),
      source,
    );
  }

  dump(): StateDump {
    const { workloads, services, policies } = this.current;
    return dumpState(workloads.byUid.values(), services.byKey.values(), policies.byKey.values(), services.stagedKeys());
  }
}
