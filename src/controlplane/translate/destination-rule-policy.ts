// DestinationRule traffic policy → the waypoint's Cluster fields: load balancer, connect timeout,
// connection-pool limits (circuit breaker), outlier detection, locality LB. Merging follows istiod
// (networking/core cluster_traffic_policy MergeTrafficPolicy): a port's portLevelSettings replace
// the four policies of the top level (not inherited); a subset's policy overrides field by field,
// then the subset's own portLevelSettings for the port.
//
// Defaults are Istio's: LEAST_REQUEST, connect timeout 10 s, outlier detection interval 10 s,
// base ejection 30 s, max ejection 10 %, consecutive 5xx 5 (0 disables; deprecated
// consecutiveErrors > 0 counts gateway errors only).

import type { Cluster, LoadBalancerPolicy, LocalityLbSetting, OutlierDetection } from '../../waypoint/model/route-model.js';
import type { AppliedDestinationRule, SourcedPolicy } from './destination-rules.js';
import { parseIstioDuration } from './istio-duration.js';
import type { ObjectRef, Problems } from './types.js';

type Obj = Readonly<Record<string, unknown>>;
type Field = 'loadBalancer' | 'connectionPool' | 'outlierDetection' | 'tls';
const FIELDS: readonly Field[] = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'];

/** One policy field with where it was written. */
interface Sourced {
  readonly value: Obj;
  readonly object: ObjectRef;
  readonly at: string;
}
type Flat = Partial<Record<Field, Sourced | undefined>>;

/** The fields of `p` for `port`: its portLevelSettings entry for the port replaces all four. */
function flatten(p: SourcedPolicy | undefined, port: number, base: Flat): Flat {
  if (p === undefined) return base;
  const out: Flat = { ...base };
  for (const f of FIELDS) {
    const v = p.policy[f];
    if (v !== undefined) out[f] = { value: v, object: p.object, at: `${p.at}.${f}` };
  }
  for (const [i, pl] of (p.policy.portLevelSettings ?? []).entries()) {
    if (pl.port?.number !== port) continue;
    for (const f of FIELDS) {
      const v = pl[f];
      out[f] = v === undefined ? undefined : { value: v, object: p.object, at: `${p.at}.portLevelSettings[${i}].${f}` };
    }
    break;
  }
  return out;
}

/** The cluster fields a DestinationRule sets; absent fields keep the cluster's defaults. */
export type ClusterPolicy = Partial<Pick<Cluster, 'lb' | 'connectTimeoutMs' | 'circuitBreaker' | 'outlierDetection' | 'localityLb' | 'protocol'>>;

/** The policy of `rule` for one cluster (port, and subset when the cluster is one). */
export function clusterPolicy(rule: AppliedDestinationRule, port: number, subset: string | undefined, problems: Problems): ClusterPolicy {
  const top = flatten(rule.policy, port, {});
  // Top-level port settings are merged first, then the subset overrides (istiod order).
  const sub = subset !== undefined ? rule.subsets.get(subset)?.policy : undefined;
  const eff = flatten(sub, port, top);
  for (const p of [rule.policy, sub]) {
    if (p?.policy.tunnel !== undefined) problems.warning(p.object, `${p.at}.tunnel`, 'tunnel settings are not supported at Ambit\'s waypoint; ignored');
    if (p?.policy.proxyProtocol !== undefined) problems.warning(p.object, `${p.at}.proxyProtocol`, 'proxyProtocol is not supported at Ambit\'s waypoint; ignored');
  }
  const out: { -readonly [K in keyof ClusterPolicy]: ClusterPolicy[K] } = {};
  if (eff.loadBalancer) Object.assign(out, loadBalancer(eff.loadBalancer, problems));
  if (eff.connectionPool) Object.assign(out, connectionPool(eff.connectionPool, problems));
  if (eff.outlierDetection) out.outlierDetection = outlierDetection(eff.outlierDetection, problems);
  const tls = eff.tls;
  if (tls && tls.value['mode'] !== undefined && tls.value['mode'] !== 'ISTIO_MUTUAL') {
    problems.warning(tls.object, `${tls.at}.mode`, `TLS mode ${String(tls.value['mode'])} is not applied: the waypoint reaches mesh endpoints over HBONE (mutual TLS) only`);
  }
  return out;
}

const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const ignored = (s: Sourced, problems: Problems, key: string, why: string): void => problems.warning(s.object, `${s.at}.${key}`, `${why}; ignored`);

function loadBalancer(s: Sourced, problems: Problems): ClusterPolicy {
  const v = s.value;
  const out: { lb?: LoadBalancerPolicy; localityLb?: LocalityLbSetting } = {};
  const simple = v['simple'];
  const hash = v['consistentHash'] as Obj | undefined;
  if (simple !== undefined && hash !== undefined) problems.error(s.object, s.at, 'only one of simple and consistentHash may be set; consistentHash used');
  if (hash !== undefined) {
    const key = hashKey(hash, s, problems);
    if (key !== undefined) out.lb = { kind: 'CONSISTENT_HASH', key };
  } else if (simple !== undefined) {
    switch (simple) {
      case 'UNSPECIFIED':
      case 'LEAST_REQUEST':
      case 'LEAST_CONN': // deprecated alias of LEAST_REQUEST
        out.lb = { kind: 'LEAST_REQUEST' };
        break;
      case 'ROUND_ROBIN':
        out.lb = { kind: 'ROUND_ROBIN' };
        break;
      case 'RANDOM':
        out.lb = { kind: 'RANDOM' };
        break;
      case 'PASSTHROUGH':
        problems.error(s.object, `${s.at}.simple`, 'PASSTHROUGH (connect to the original destination address) has no meaning at a waypoint, which picks a service endpoint; the default LEAST_REQUEST is used');
        break;
      default:
        problems.error(s.object, `${s.at}.simple`, `unknown load balancer "${String(simple)}"; the default LEAST_REQUEST is used`);
    }
  }
  const locality = v['localityLbSetting'] as Obj | undefined;
  if (locality !== undefined) out.localityLb = localityLb(locality);
  if (v['warmupDurationSecs'] !== undefined) ignored(s, problems, 'warmupDurationSecs', 'slow start is not supported');
  if (v['warmup'] !== undefined) ignored(s, problems, 'warmup', 'slow start is not supported');
  return out;
}

type HashKey = Extract<LoadBalancerPolicy, { kind: 'CONSISTENT_HASH' }>['key'];

function hashKey(h: Obj, s: Sourced, problems: Problems): HashKey | undefined {
  const at = `${s.at}.consistentHash`;
  for (const k of ['ringHash', 'maglev', 'minimumRingSize']) {
    if (h[k] !== undefined) ignored({ ...s, at }, problems, k, 'the hash ring size is fixed in Ambit\'s waypoint');
  }
  const set = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'].filter((k) => h[k] !== undefined && h[k] !== false);
  if (set.length !== 1) {
    problems.error(s.object, at, `exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName must be set (got ${set.length === 0 ? 'none' : set.join(', ')}); the default LEAST_REQUEST is used`);
    return undefined;
  }
  if (typeof h['httpHeaderName'] === 'string') return { header: h['httpHeaderName'].toLowerCase() };
  if (typeof h['httpQueryParameterName'] === 'string') return { queryParam: h['httpQueryParameterName'] };
  if (h['useSourceIp'] === true) return { sourceIp: true };
  const c = h['httpCookie'] as Obj;
  if (typeof c['name'] !== 'string' || c['name'] === '') {
    problems.error(s.object, `${at}.httpCookie.name`, 'required field is missing; the default LEAST_REQUEST is used');
    return undefined;
  }
  const ttl = c['ttl'] === undefined ? undefined : parseIstioDuration(c['ttl']);
  if (c['ttl'] !== undefined && ttl === undefined) {
    problems.error(s.object, `${at}.httpCookie.ttl`, `"${String(c['ttl'])}" is not a duration; the cookie is not generated`);
  }
  if (c['attributes'] !== undefined) ignored({ ...s, at: `${at}.httpCookie` }, problems, 'attributes', 'cookie attributes are not supported');
  return { cookie: c['name'], ...(typeof c['path'] === 'string' ? { path: c['path'] } : {}), ...(ttl !== undefined ? { ttlMs: ttl } : {}) };
}

function localityLb(l: Obj): LocalityLbSetting {
  const list = (v: unknown): readonly Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
  const distribute = list(l['distribute']).map((d) => ({ from: String(d['from'] ?? ''), to: { ...((d['to'] as Record<string, number> | undefined) ?? {}) } }));
  const failover = list(l['failover']).map((f) => ({ from: String(f['from'] ?? ''), to: String(f['to'] ?? '') }));
  const priority = Array.isArray(l['failoverPriority']) ? (l['failoverPriority'] as unknown[]).map(String) : [];
  return {
    ...(typeof l['enabled'] === 'boolean' ? { enabled: l['enabled'] } : {}),
    ...(distribute.length ? { distribute } : {}),
    ...(failover.length ? { failover } : {}),
    ...(priority.length ? { failoverPriority: priority } : {}),
  };
}

function connectionPool(s: Sourced, problems: Problems): ClusterPolicy {
  const tcp = (s.value['tcp'] ?? {}) as Obj;
  const http = (s.value['http'] ?? {}) as Obj;
  const tcpAt = { ...s, at: `${s.at}.tcp` };
  const httpAt = { ...s, at: `${s.at}.http` };
  const out: { -readonly [K in keyof ClusterPolicy]: ClusterPolicy[K] } = {};
  const cb: { -readonly [K in keyof NonNullable<Cluster['circuitBreaker']>]?: number } = {};
  // Istio: 0 (or unset) means its default, 2^32-1: no limit, so the model leaves it out.
  const limit = (v: unknown, key: keyof typeof cb): void => {
    const n = int(v);
    if (n !== undefined && n > 0) cb[key] = n;
  };
  limit(tcp['maxConnections'], 'maxConnections');
  limit(http['http1MaxPendingRequests'], 'maxPendingRequests');
  limit(http['http2MaxRequests'], 'maxRequests');
  limit(http['maxRequestsPerConnection'], 'maxRequestsPerConnection');
  limit(http['maxRetries'], 'maxRetries');
  if (Object.keys(cb).length > 0) out.circuitBreaker = cb;
  if (tcp['connectTimeout'] !== undefined) {
    const ms = parseIstioDuration(tcp['connectTimeout']);
    if (ms === undefined || ms === 0) problems.error(s.object, `${s.at}.tcp.connectTimeout`, `"${String(tcp['connectTimeout'])}" is not a positive duration; the default 10s is used`);
    else out.connectTimeoutMs = ms;
  }
  for (const k of ['tcpKeepalive', 'maxConnectionDuration', 'idleTimeout']) if (tcp[k] !== undefined) ignored(tcpAt, problems, k, `${k} is not supported by Ambit's waypoint`);
  for (const k of ['idleTimeout', 'useClientProtocol', 'maxConcurrentStreams']) if (http[k] !== undefined) ignored(httpAt, problems, k, `${k} is not supported by Ambit's waypoint`);
  // UPGRADE: speak HTTP/2 to the endpoints of an HTTP/1.1 port (Envoy h2 upgrade of the cluster).
  if (http['h2UpgradePolicy'] === 'UPGRADE') out.protocol = 'http2';
  return out;
}

function outlierDetection(s: Sourced, problems: Problems): OutlierDetection {
  const v = s.value;
  const duration = (key: string, dflt: number): number => {
    if (v[key] === undefined) return dflt;
    const ms = parseIstioDuration(v[key]);
    if (ms === undefined || ms === 0) {
      problems.error(s.object, `${s.at}.${key}`, `"${String(v[key])}" is not a positive duration; the default ${dflt / 1000}s is used`);
      return dflt;
    }
    return ms;
  };
  const legacy = int(v['consecutiveErrors']);
  let fiveXx: number | undefined = legacy !== undefined && legacy > 0 ? 0 : 5;
  let gateway: number | undefined = legacy !== undefined && legacy > 0 ? legacy : undefined;
  if (legacy !== undefined) problems.warning(s.object, `${s.at}.consecutiveErrors`, 'deprecated: counts gateway errors (502, 503, 504) only, as istiod maps it; use consecutiveGatewayErrors or consecutive5xxErrors');
  const c5 = int(v['consecutive5xxErrors']);
  if (c5 !== undefined) fiveXx = c5;
  const cg = int(v['consecutiveGatewayErrors']);
  if (cg !== undefined) gateway = cg;
  const maxEjection = int(v['maxEjectionPercent']);
  const minHealth = int(v['minHealthPercent']);
  if (minHealth !== undefined && minHealth > 0) ignored(s, problems, 'minHealthPercent', 'the panic threshold is not supported (Istio\'s default 0 is what Ambit does)');
  for (const k of ['splitExternalLocalOriginErrors', 'consecutiveLocalOriginFailures']) if (v[k] !== undefined) ignored(s, problems, k, `${k} is not supported by Ambit's waypoint`);
  return {
    consecutive5xxErrors: fiveXx,
    ...(gateway !== undefined && gateway > 0 ? { consecutiveGatewayErrors: gateway } : {}),
    intervalMs: duration('interval', 10_000),
    baseEjectionTimeMs: duration('baseEjectionTime', 30_000),
    maxEjectionPercent: maxEjection !== undefined ? Math.min(100, Math.max(0, maxEjection)) : 10,
  };
}

/** `cluster` with the DestinationRule of its host applied (the cluster itself when there is none). */
export function withDestinationRule(cluster: Cluster, rule: AppliedDestinationRule | undefined, problems: Problems): Cluster {
  if (rule === undefined) return cluster;
  const p = clusterPolicy(rule, cluster.port, cluster.subset, problems);
  return Object.keys(p).length === 0 ? cluster : { ...cluster, ...p };
}
