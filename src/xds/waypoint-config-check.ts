// Shape check of a WaypointConfig received as JSON: a waypoint executes only a config whose every
// field has the model's type and whose invariants hold (names unique, every named cluster present).
// Throws MeshError XDS_INVALID with the path of the first bad field, which the NACK carries.

import type { WaypointConfig } from '../waypoint/model/route-model.js';
import { checkWaypointSecurity } from './waypoint-security-check.js';
import { invalid } from './wds-wire.js';

type Json = unknown;
const PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'];
const ACTIONS = ['forward', 'redirect', 'direct'];
const PATH_TYPES = ['Exact', 'PathPrefix', 'Prefix', 'RegularExpression'];
const STRING_TYPES = ['Exact', 'Prefix', 'Suffix', 'RegularExpression', 'Present'];
const PATH_MODIFIERS = ['ReplaceFullPath', 'ReplacePrefixMatch', 'PrefixRewrite', 'RegexRewrite'];

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
    const lb = obj(o.lb, `${at}.lb`);
    oneOf(lb.kind, `${at}.lb.kind`, ['LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM', 'CONSISTENT_HASH']);
    if (lb.kind === 'CONSISTENT_HASH') checkHashKey(obj(lb.key, `${at}.lb.key`), `${at}.lb.key`);
    num(o.connectTimeoutMs, `${at}.connectTimeoutMs`, 0, Number.MAX_SAFE_INTEGER);
    if (o.localityLb !== undefined) checkLocalityLb(obj(o.localityLb, `${at}.localityLb`), `${at}.localityLb`);
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
  if (c.security !== undefined) checkWaypointSecurity(c.security);
  return value as WaypointConfig;
}

function checkBackend(b: Json, at: string, cluster: (v: Json, at: string, optional?: boolean) => void): void {
  const o = obj(b, at);
  num(o.weight, `${at}.weight`, 0, Number.MAX_SAFE_INTEGER);
  cluster(o.cluster, `${at}.cluster`, true);
  num(o.invalidStatus, `${at}.invalidStatus`, 100, 599, true);
  checkRewrite(o.rewrite, `${at}.rewrite`);
}

function strings(v: Json, at: string): void {
  for (const [i, x] of arr(v, at).entries()) str(x, `${at}[${i}]`);
}

/** URL rewrite path modifiers: the known types with their string fields. */
function checkRewrite(v: Json, at: string): void {
  if (v === undefined) return;
  const p = obj(v, at).path;
  if (p === undefined) return;
  const po = obj(p, `${at}.path`);
  oneOf(po.type, `${at}.path.type`, PATH_MODIFIERS);
  if (po.type === 'RegexRewrite') {
    str(po.pattern, `${at}.path.pattern`);
    str(po.substitution, `${at}.path.substitution`);
  } else {
    str(po.value, `${at}.path.value`);
    if (po.type !== 'ReplaceFullPath') str(po.prefix, `${at}.path.prefix`);
  }
}

function checkCors(c: Record<string, Json>, at: string): void {
  for (const [i, m] of arr(c.allowOrigins, `${at}.allowOrigins`).entries()) {
    const mo = obj(m, `${at}.allowOrigins[${i}]`);
    oneOf(mo.type, `${at}.allowOrigins[${i}].type`, ['Exact', 'Prefix', 'RegularExpression']);
    str(mo.value, `${at}.allowOrigins[${i}].value`);
  }
  for (const f of ['allowMethods', 'allowHeaders', 'exposeHeaders'] as const) strings(c[f], `${at}.${f}`);
  num(c.maxAgeSeconds, `${at}.maxAgeSeconds`, 0, Number.MAX_SAFE_INTEGER, true);
  if (c.allowCredentials !== undefined && typeof c.allowCredentials !== 'boolean') throw invalid(`${at}.allowCredentials: expected a boolean`);
  oneOf(c.unmatchedPreflights, `${at}.unmatchedPreflights`, ['forward', 'ignore'], true);
}

/** One of header, cookie (+ path, ttlMs), sourceIp, queryParam. */
function checkHashKey(k: Record<string, Json>, at: string): void {
  const set = ['header', 'cookie', 'sourceIp', 'queryParam'].filter((f) => k[f] !== undefined);
  if (set.length !== 1) throw invalid(`${at}: expected exactly one of header, cookie, sourceIp, queryParam`);
  if (k.sourceIp !== undefined && k.sourceIp !== true) throw invalid(`${at}.sourceIp: expected true`);
  for (const f of ['header', 'cookie', 'queryParam'] as const) if (k[f] !== undefined) str(k[f], `${at}.${f}`);
  str(k.path, `${at}.path`, true);
  num(k.ttlMs, `${at}.ttlMs`, 0, Number.MAX_SAFE_INTEGER, true);
}

function checkLocalityLb(l: Record<string, Json>, at: string): void {
  if (l.enabled !== undefined && typeof l.enabled !== 'boolean') throw invalid(`${at}.enabled: expected a boolean`);
  for (const [i, d] of arr(l.distribute, `${at}.distribute`, true).entries()) {
    const o = obj(d, `${at}.distribute[${i}]`);
    str(o.from, `${at}.distribute[${i}].from`);
    for (const [k, w] of Object.entries(obj(o.to, `${at}.distribute[${i}].to`))) num(w, `${at}.distribute[${i}].to[${k}]`, 0, 100);
  }
  for (const [i, f] of arr(l.failover, `${at}.failover`, true).entries()) {
    const o = obj(f, `${at}.failover[${i}]`);
    str(o.from, `${at}.failover[${i}].from`);
    str(o.to, `${at}.failover[${i}].to`);
  }
  if (l.failoverPriority !== undefined) strings(l.failoverPriority, `${at}.failoverPriority`);
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
  checkRewrite(r.rewrite, `${at}.rewrite`);
  if (r.cors !== undefined) checkCors(obj(r.cors, `${at}.cors`), `${at}.cors`);
  if (r.retry !== undefined) {
    const ro = obj(r.retry, `${at}.retry`);
    num(ro.attempts, `${at}.retry.attempts`, 0, 1_000);
    arr(ro.codes, `${at}.retry.codes`);
    arr(ro.retryOn, `${at}.retry.retryOn`);
    num(ro.backoffMs, `${at}.retry.backoffMs`, 0, Number.MAX_SAFE_INTEGER);
  }
}
