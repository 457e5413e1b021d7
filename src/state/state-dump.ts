// JSON-friendly view of a snapshot for the admin /config_dump endpoint: Maps become plain objects,
// and workloads, services and policies are lists, as ztunnel dumps them (istioctl reads lists).

import { policyKey, serviceKey, type Authorization, type Service, type Workload } from './types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StateDump {
  readonly workloads: JsonValue[];
  readonly services: JsonValue[];
  readonly policies: JsonValue[];
  /** Service keys that workloads reference but that have no Service yet. */
  readonly stagedServices: string[];
}

/** Deep conversion: Map → object (keys stringified), undefined fields dropped, arrays kept. */
export function toJson(value: unknown): JsonValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Map) {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of value) out[String(k)] = toJson(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toJson(v);
    }
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

export function dumpState(
  workloads: Iterable<Workload>,
  services: Iterable<Service>,
  policies: Iterable<Authorization>,
  stagedServices: string[],
): StateDump {
  const byKey = <T>(items: Iterable<T>, key: (x: T) => string): JsonValue[] =>
    [...items].sort((x, y) => key(x).localeCompare(key(y))).map(toJson);
  return {
    workloads: byKey(workloads, (x) => x.uid),
    services: byKey(services, (x) => serviceKey(x.namespace, x.hostname)),
    policies: byKey(policies, (x) => policyKey(x.namespace, x.name)),
    stagedServices,
  };
}
