// Shape check of a WaypointConfig received as JSON: a waypoint executes only a config whose every
// field has the model's type and whose invariants hold (names unique, every named cluster present).
// Throws MeshError XDS_INVALID with the path of the first bad field, which the NACK carries.

import type { WaypointConfig } from '../waypoint/model/route-model.js';
import { invalid } from './wds-wire.js';

type Json = unknown;
const PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'];
const ACTIONS = ['forward', 'redirect', 'direct'];
const PATH_TYPES = ['Exact', 'PathPrefix', 'Prefix', 'RegularExpression'];
const STRING_TYPES = ['Exact', 'Prefix', 'Suffix', 'RegularExpression', 'Present'];

const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: Json, at: string): Record<string, Json> {
  if (!isObj(v)) throw invalid(`${at}: expected an object`);
  return v;
}
function arr(v: Json, at: string, optional = false): readonly Json[] {
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) throw invalid(`${at}: expected an array`);
  return v;
}
function str(v: Json, at: string, optional = false): string | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw invalid(`${at}: expected a string`);
  return v;
}
function num(v: Json, at: string, min: number, max: number, optional = false): number | undefined {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw invalid(`${at}: expected a number in ${min}..${max}`);
  return v;
}
function oneOf(v: Json, at: string, allowed: readonly string[], optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'string' || !allowed.includes(v)) throw invalid(`${at}: expected one of ${allowed.join(', ')}`);
}
function unique(names: readonly string[], at: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw invalid(`${at}: duplicate name "${n}"`);
    seen.add(n);
  }
}

/** Returns `value` typed as a WaypointConfig, or throws XDS_INVALID naming the bad field. */
export function checkWaypointConfig(value: Json, version: number): WaypointConfig {
  const c = obj(value, 'config');
  if (c.version !== version) throw invalid(`version: expected ${version}, got ${JSON.stringify(c.version)}`);
  const wp = obj(c.waypoint, 'waypoint');
  str(wp.namespace, 'waypoint.namespace');
  str(wp.name, 'waypoint.name');
  const clusterNames: string[] = [];
  for (const [i, cl] of arr(c.clusters, 'clusters').entries()) {
    const at = `clusters[${i}]`;
    const o = obj(cl, at);
    clusterNames.push(str(o.name, `${at}.name`)!);
    str(o.hostname, `${at}.hostname`);
    str(o.namespace, `${at}.namespace`);
    num(o.port, `${at}.port`, 1, 65535);
    oneOf(o.protocol, `${at}.protocol`, ['http1', 'http2']);
    oneOf(obj(o.lb, `${at}.lb`).kind, `${at}.lb.kind`, ['LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM', 'CONSISTENT_HASH']);
    num(o.connectTimeoutMs, `${at}.connectTimeoutMs`, 0, Number.MAX_SAFE_INTEGER);
    checkUpstreamPolicies(o, at);
  }
  unique(clusterNames, 'clusters');
  const known = new Set(clusterNames);
  const cluster = (v: Json, at: string, optional = false): void => {
    const name = str(v, at, optional);
    if (name !== undefined && !known.has(name)) throw invalid(`${at}: cluster "${name}" is not in clusters`);
  };
  const hosts: string[] = [];
  for (const [i, s] of arr(c.services, 'services').entries()) {
    const at = `services[${i}]`;
    const o = obj(s, at);
    hosts.push(`${str(o.namespace, `${at}.namespace`)}/${str(o.hostname, `${at}.hostname`)}`);
    const ports: string[] = [];
    for (const [j, p] of arr(o.ports, `${at}.ports`).entries()) {
      const pat = `${at}.ports[${j}]`;
      const po = obj(p, pat);
      ports.push(String(num(po.port, `${pat}.port`, 1, 65535)));
      str(po.name, `${pat}.name`);
      oneOf(po.protocol, `${pat}.protocol`, PROTOCOLS);
      cluster(po.defaultCluster, `${pat}.defaultCluster`);
      for (const [k, b] of arr(po.tcpBackends, `${pat}.tcpBackends`, true).entries()) checkBackend(b, `${pat}.tcpBackends[${k}]`, cluster);
      const routes = arr(po.routes, `${pat}.routes`);
      unique(routes.map((r, k) => str(obj(r, `${pat}.routes[${k}]`).name, `${pat}.routes[${k}].name`)!), `${pat}.routes`);
      for (const [k, r] of routes.entries()) checkRoute(obj(r, ''), `${pat}.routes[${k}]`, cluster);
    }
    unique(ports, `${at}.ports`);
  }
  unique(hosts, 'services');
  return value as WaypointConfig;
}

function checkBackend(b: Json, at: string, cluster: (v: Json, at: string, optional?: boolean) => void): void {
  const o = obj(b, at);
  num(o.weight, `${at}.weight`, 0, Number.MAX_SAFE_INTEGER);
  cluster(o.cluster, `${at}.cluster`, true);
  num(o.invalidStatus, `${at}.invalidStatus`, 100, 599, true);
}

function checkRoute(r: Record<string, Json>, at: string, cluster: (v: Json, at: string, optional?: boolean) => void): void {
  const src = obj(r.source, `${at}.source`);
  oneOf(src.kind, `${at}.source.kind`, ['HTTPRoute', 'GRPCRoute', 'VirtualService']);
  const m = obj(r.match, `${at}.match`);
  if (m.path !== undefined) {
    const p = obj(m.path, `${at}.match.path`);
    oneOf(p.type, `${at}.match.path.type`, PATH_TYPES);
    str(p.value, `${at}.match.path.value`);
  }
  for (const field of ['headers', 'queryParams'] as const) {
    for (const [i, h] of arr(m[field], `${at}.match.${field}`, true).entries()) {
      const ho = obj(h, `${at}.match.${field}[${i}]`);
      str(ho.name, `${at}.match.${field}[${i}].name`);
      oneOf(ho.type, `${at}.match.${field}[${i}].type`, STRING_TYPES);
      str(ho.value, `${at}.match.${field}[${i}].value`);
    }
  }
  str(m.method, `${at}.match.method`, true);
  if (m.grpc !== undefined) oneOf(obj(m.grpc, `${at}.match.grpc`).type, `${at}.match.grpc.type`, ['Exact', 'RegularExpression']);
  const a = obj(r.action, `${at}.action`);
  oneOf(a.kind, `${at}.action.kind`, ACTIONS);
  if (a.kind === 'forward') for (const [i, b] of arr(a.backends, `${at}.action.backends`).entries()) checkBackend(b, `${at}.action.backends[${i}]`, cluster);
  if (a.kind === 'redirect') num(obj(a.redirect, `${at}.action.redirect`).statusCode, `${at}.action.redirect.statusCode`, 301, 308);
  if (a.kind === 'direct') num(a.status, `${at}.action.status`, 100, 599);
  for (const [i, mi] of arr(r.mirrors, `${at}.mirrors`, true).entries()) {
    const mo = obj(mi, `${at}.mirrors[${i}]`);
    cluster(mo.cluster, `${at}.mirrors[${i}].cluster`);
    num(mo.percent, `${at}.mirrors[${i}].percent`, 0, 100);
  }
  if (r.retry !== undefined) {
    const ro = obj(r.retry, `${at}.retry`);
    num(ro.attempts, `${at}.retry.attempts`, 0, 1_000);
    arr(ro.codes, `${at}.retry.codes`);
    arr(ro.retryOn, `${at}.retry.retryOn`);
    num(ro.backoffMs, `${at}.retry.backoffMs`, 0, Number.MAX_SAFE_INTEGER);
  }
}

/**
 * The cluster's upstream policies (DestinationRule trafficPolicy as the model carries it): consistent
 * hash key and algorithm, circuit-breaker thresholds, outlier detection, locality, idle timeout.
 */
function checkUpstreamPolicies(o: Record<string, Json>, at: string): void {
  const lb = obj(o.lb, `${at}.lb`);
  if (lb.kind === 'CONSISTENT_HASH') {
    const key = obj(lb.key, `${at}.lb.key`);
    const kinds = ['header', 'cookie', 'sourceIp', 'queryParam'].filter((k) => key[k] !== undefined);
    if (kinds.length !== 1) throw invalid(`${at}.lb.key: expected exactly one of header, cookie, sourceIp, queryParam`);
    if (key.sourceIp !== undefined && key.sourceIp !== true) throw invalid(`${at}.lb.key.sourceIp: expected true`);
    for (const k of ['header', 'cookie', 'queryParam']) if (key[k] !== undefined && !str(key[k], `${at}.lb.key.${k}`)) throw invalid(`${at}.lb.key.${k}: expected a non-empty string`);
    str(key.path, `${at}.lb.key.path`, true);
    num(key.ttlMs, `${at}.lb.key.ttlMs`, 0, Number.MAX_SAFE_INTEGER, true);
    // Envoy's ring_hash bounds (minimum_ring_size ≤ 8M) and Maglev's table_size (a prime ≤ 5000011).
    if (lb.ringHash !== undefined) num(obj(lb.ringHash, `${at}.lb.ringHash`).minimumRingSize, `${at}.lb.ringHash.minimumRingSize`, 1, 8_388_608, true);
    if (lb.maglev !== undefined) {
      const size = num(obj(lb.maglev, `${at}.lb.maglev`).tableSize, `${at}.lb.maglev.tableSize`, 2, 5_000_011, true);
      if (size !== undefined && !isPrime(size)) throw invalid(`${at}.lb.maglev.tableSize: ${size} is not a prime`);
    }
  }
  if (o.circuitBreaker !== undefined) {
    const cb = obj(o.circuitBreaker, `${at}.circuitBreaker`);
    for (const f of ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRequestsPerConnection', 'maxRetries']) {
      num(cb[f], `${at}.circuitBreaker.${f}`, 0, Number.MAX_SAFE_INTEGER, true);
    }
  }
  if (o.outlierDetection !== undefined) {
    const od = obj(o.outlierDetection, `${at}.outlierDetection`);
    num(od.consecutive5xxErrors, `${at}.outlierDetection.consecutive5xxErrors`, 0, Number.MAX_SAFE_INTEGER, true);
    num(od.consecutiveGatewayErrors, `${at}.outlierDetection.consecutiveGatewayErrors`, 0, Number.MAX_SAFE_INTEGER, true);
    // Envoy requires interval and base_ejection_time > 0.
    num(od.intervalMs, `${at}.outlierDetection.intervalMs`, 1, Number.MAX_SAFE_INTEGER);
    num(od.baseEjectionTimeMs, `${at}.outlierDetection.baseEjectionTimeMs`, 1, Number.MAX_SAFE_INTEGER);
    num(od.maxEjectionPercent, `${at}.outlierDetection.maxEjectionPercent`, 0, 100);
  }
  if (o.localityLbSetting !== undefined) {
    const ls = obj(o.localityLbSetting, `${at}.localityLbSetting`);
    if (ls.enabled !== undefined && typeof ls.enabled !== 'boolean') throw invalid(`${at}.localityLbSetting.enabled: expected a boolean`);
    for (const [i, f] of arr(ls.failover, `${at}.localityLbSetting.failover`, true).entries()) {
      const fo = obj(f, `${at}.localityLbSetting.failover[${i}]`);
      str(fo.from, `${at}.localityLbSetting.failover[${i}].from`);
      str(fo.to, `${at}.localityLbSetting.failover[${i}].to`);
    }
  }
  num(o.idleTimeoutMs, `${at}.idleTimeoutMs`, 1, Number.MAX_SAFE_INTEGER, true);
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
