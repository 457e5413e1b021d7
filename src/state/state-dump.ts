// JSON-friendly view of a snapshot for the admin /config_dump endpoint: Maps become plain objects,
// keyed the way ztunnel's dump keys them (workloads by uid, services by ns/host, policies by ns/name).

import { policyKey, serviceKey, type Authorization, type Service, type Workload } from './types.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StateDump {
  readonly workloads: Record<string, JsonValue>;
  readonly services: Record<string, JsonValue>;
  readonly policies: Record<string, JsonValue>;
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
  const w: Record<string, JsonValue> = {};
  for (const x of workloads) w[x.uid] = toJson(x);
  const s: Record<string, JsonValue> = {};
  for (const x of services) s[serviceKey(x.namespace, x.hostname)] = toJson(x);
  const p: Record<string, JsonValue> = {};
  for (const x of policies) p[policyKey(x.namespace, x.name)] = toJson(x);
  return { workloads: w, services: s, policies: p, stagedServices };
}
