// N delta-ADS clients as N node agents (one per node, each its own connection): connects them all at
// once and times the initial full sync, then waits for a named resource to reach every one of them.

import { AdsLoadClient, type ReceivedResponse } from './ads-load-client.js';
import { nodeName } from './synthetic-cluster.js';

export const ADDRESS_TYPE = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE = 'type.googleapis.com/istio.security.Authorization';
const TYPES = [ADDRESS_TYPE, AUTHORIZATION_TYPE] as const;

/** One client's initial sync. */
export interface ClientSync {
  /** Connect → first response of every type received, ms. */
  readonly ms: number;
  /** Message bytes of those first responses. */
  readonly bytes: number;
  /** Resources they carried, per type URL. */
  readonly resources: Readonly<Record<string, number>>;
}

export interface FleetSync {
  readonly clients: number;
  /** Connect of the first → full sync of the last, ms. */
  readonly allMs: number;
  readonly perClient: readonly ClientSync[];
}

/** When a change reached the clients (performance.now() of this process). */
export interface Arrival {
  readonly firstAt: number;
  readonly lastAt: number;
}

interface Expectation {
  readonly resource: string;
  readonly removal: boolean;
  readonly pending: Set<number>;
  firstAt: number;
  lastAt: number;
  readonly resolve: (a: Arrival) => void;
}

interface ClientState {
  readonly client: AdsLoadClient;
  readonly startedAt: number;
  readonly firstOf: Map<string, ReceivedResponse>;
  synced: boolean;
}

export class ClientFleet {
  readonly #clients: ClientState[] = [];
  readonly #expectations = new Set<Expectation>();
  #onSynced: (() => void) | undefined;
  #syncedCount = 0;

  private constructor() {}

  /** Connects `count` clients at once; resolves when every one holds both types, or rejects after `timeoutMs`. */
  static async connect(address: string, count: number, timeoutMs: number): Promise<{ fleet: ClientFleet; sync: FleetSync }> {
    const fleet = new ClientFleet();
    const t0 = performance.now();
    const all = new Promise<void>((resolve) => (fleet.#onSynced = resolve));
    for (let i = 0; i < count; i++) fleet.#add(address, i);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`initial sync: ${fleet.#syncedCount} of ${count} clients synced within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([all, timeout]);
    } catch (err) {
      fleet.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const perClient = fleet.#clients.map((c) => {
      const firsts = [...c.firstOf.values()];
      return {
        ms: Math.max(...firsts.map((r) => r.at)) - c.startedAt,
        bytes: firsts.reduce((a, r) => a + r.bytes, 0),
        resources: Object.fromEntries(firsts.map((r) => [r.typeUrl, r.resources.length])),
      };
    });
    const lastAt = Math.max(...fleet.#clients.map((c) => Math.max(...[...c.firstOf.values()].map((r) => r.at))));
    return { fleet, sync: { clients: count, allMs: lastAt - t0, perClient } };
  }

  #add(address: string, i: number): void {
    const ip = `10.254.${i >> 8}.${i & 255}`;
    const pod = `ztunnel-${String(i).padStart(3, '0')}`;
    const state: ClientState = {
      startedAt: performance.now(),
      firstOf: new Map(),
      synced: false,
      client: new AdsLoadClient({
        address,
        types: TYPES,
        node: {
          id: `ztunnel~${ip}~${pod}.istio-system~istio-system.svc.cluster.local`,
          metadata: { NAME: pod, NAMESPACE: 'istio-system', INSTANCE_IPS: ip, NODE_NAME: nodeName(i) },
        },
        onResponse: (r) => this.#onResponse(i, state, r),
      }),
    };
    this.#clients.push(state);
  }

  #onResponse(i: number, state: ClientState, r: ReceivedResponse): void {
    if (!state.firstOf.has(r.typeUrl)) {
      state.firstOf.set(r.typeUrl, r);
      if (!state.synced && TYPES.every((t) => state.firstOf.has(t))) {
        state.synced = true;
        if (++this.#syncedCount === this.#clients.length) this.#onSynced?.();
      }
    }
    for (const e of this.#expectations) {
      if (!e.pending.has(i)) continue;
      const hit = e.removal ? r.removed.includes(e.resource) : r.resources.some((x) => x.name === e.resource);
      if (!hit) continue;
      e.pending.delete(i);
      e.firstAt = Math.min(e.firstAt, r.at);
      e.lastAt = Math.max(e.lastAt, r.at);
      if (e.pending.size === 0) {
        this.#expectations.delete(e);
        e.resolve({ firstAt: e.firstAt, lastAt: e.lastAt });
      }
    }
  }

  /**
   * Call before making the change: resolves when every client has received `resource` (in
   * resources, or in removed_resources for a removal); rejects after `timeoutMs`.
   */
  expect(resource: string, removal: boolean, timeoutMs: number): Promise<Arrival> {
    return new Promise<Arrival>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const e: Expectation = {
        resource,
        removal,
        pending: new Set(this.#clients.map((_, i) => i)),
        firstAt: Infinity,
        lastAt: -Infinity,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      };
      this.#expectations.add(e);
      timer = setTimeout(() => {
        this.#expectations.delete(e);
        reject(new Error(`${resource}${removal ? ' (removal)' : ''} reached ${this.#clients.length - e.pending.size} of ${this.#clients.length} clients within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  close(): void {
    for (const c of this.#clients) c.client.close();
  }
}
