// Several config sources feeding one ProxyState (the local YAML config and xDS): each source applies
// whole snapshots to its own input; the union goes to the state, an earlier input winning on a key conflict.

import type { Logger } from '../common/log.js';
import { policyKey, serviceKey, type Authorization, type Service, type SnapshotSink, type StateSnapshot, type Workload } from '../state/index.js';

const EMPTY: StateSnapshot = { workloads: [], services: [], policies: [] };

/**
 * Inputs are listed highest priority first. A workload (uid), service (namespace/hostname) or
 * policy (namespace/name) defined by several inputs is taken from the first that has it; each
 * conflict is logged when the set of conflicts changes (not on every push) and shown by conflicts().
 */
export class SnapshotMerger {
  readonly #target: SnapshotSink;
  readonly #logger: Logger;
  readonly #order: readonly string[];
  readonly #latest = new Map<string, StateSnapshot>();
  #conflicts: string[] = [];

  constructor(target: SnapshotSink, inputs: readonly string[], logger: Logger) {
    this.#target = target;
    this.#order = inputs;
    this.#logger = logger;
  }

  /** The sink for input `name` (one of the names given to the constructor). */
  input(name: string): SnapshotSink {
    if (!this.#order.includes(name)) throw new Error(`unknown snapshot input "${name}"`);
    return {
      apply: (snapshot: StateSnapshot): void => {
        this.#latest.set(name, snapshot);
        this.#target.apply(this.#merge());
      },
    };
  }

  /** Current conflicts, e.g. `workload Kubernetes//Pod/a/b: local wins over xds`. */
  conflicts(): readonly string[] {
    return this.#conflicts;
  }

  #merge(): StateSnapshot {
    const conflicts: string[] = [];
    const union = <T>(pick: (s: StateSnapshot) => readonly T[], key: (x: T) => string, kind: string): T[] => {
      const owner = new Map<string, string>();
      const out: T[] = [];
      for (const name of this.#order) {
        for (const item of pick(this.#latest.get(name) ?? EMPTY)) {
          const k = key(item);
          const first = owner.get(k);
          if (first === undefined) {
            owner.set(k, name);
            out.push(item);
          } else if (first !== name) conflicts.push(`${kind} ${k}: ${first} wins over ${name}`);
        }
      }
      return out;
    };
    const merged: StateSnapshot = {
      workloads: union((s) => s.workloads, (w: Workload) => w.uid, 'workload'),
      services: union((s) => s.services, (s: Service) => serviceKey(s.namespace, s.hostname), 'service'),
      policies: union((s) => s.policies, (p: Authorization) => policyKey(p.namespace, p.name), 'policy'),
    };
    if (conflicts.join('\n') !== this.#conflicts.join('\n')) {
      this.#conflicts = conflicts;
      if (conflicts.length > 0) this.#logger.warn({ conflicts }, `${conflicts.length} resource(s) defined by more than one config source; the higher-priority source wins`);
      else this.#logger.info('config sources no longer conflict');
    }
    return merged;
  }
}
