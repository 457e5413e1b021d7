// What the waypoint holds and logs: one-line descriptions of its /config_dump (routes of echo:80, a
// cluster's upstream policy, the security policies), which the demo waits on after each manifest edit,
// and its access log lines per request path.

import type { Cluster, Route, WaypointConfig } from '../../src/waypoint/index.js';
import type { LogLine } from '../helpers/agent-process.js';
import { hostnameOf } from '../helpers/waypoint-manifests.js';
import type { WaypointMesh } from '../helpers/waypoint-mesh.js';

/** `outbound|80|v1|echo.demo.svc.cluster.local` → `echo/v1`; `outbound|80||echo-v2...` → `echo-v2`. */
export function shortCluster(name: string | undefined): string {
  if (name === undefined) return '(invalid)';
  const [, , subset, host] = name.split('|');
  const svc = (host ?? '').split('.')[0]!;
  return subset ? `${svc}/${subset}` : svc;
}

function describeMatch(r: Route): string {
  const parts: string[] = [];
  const p = r.match.path;
  if (p && !(p.value === '/' && (p.type === 'PathPrefix' || p.type === 'Prefix'))) parts.push(`${p.type} ${p.value}`);
  for (const h of r.match.headers ?? []) parts.push(`${h.name}${h.invert ? '!' : ''}=${h.value}`);
  if (r.match.method) parts.push(r.match.method);
  return parts.length > 0 ? `[${parts.join(' ')}] ` : '';
}

/** `[end-user=jason] → echo-v2 100%` with the route's fault, timeout, retries and mirrors. */
export function describeRoute(r: Route): string {
  const a = r.action;
  let out = describeMatch(r);
  if (a.kind === 'forward') {
    const total = a.backends.reduce((s, b) => s + b.weight, 0);
    out += `→ ${a.backends.map((b) => `${shortCluster(b.cluster)} ${total > 0 ? Math.round((b.weight / total) * 100) : 0}%`).join(' + ')}`;
  } else {
    out += a.kind === 'direct' ? `→ ${a.status}` : '→ redirect';
  }
  if (r.fault?.delay) out += `, delay ${r.fault.delay.ms} ms for ${r.fault.delay.percent}%`;
  if (r.fault?.abort) out += `, abort ${r.fault.abort.httpStatus} for ${r.fault.abort.percent}%`;
  if (r.timeouts?.requestMs !== undefined) out += `, timeout ${r.timeouts.requestMs} ms`;
  if (r.retry && r.retry.attempts > 0) out += `, retries ${r.retry.attempts} on ${r.retry.retryOn.join(',')}`;
  for (const m of r.mirrors ?? []) out += `, mirror ${shortCluster(m.cluster)} ${m.percent}%`;
  return out;
}

/** Routes of Service echo port 80 in the waypoint's order. */
export function echoRoutes(c: WaypointConfig | undefined): readonly Route[] {
  return c?.services.find((s) => s.hostname === hostnameOf('echo'))?.ports.find((p) => p.port === 80)?.routes ?? [];
}

/** `HTTPRoute demo/echo: → echo-v1 90% + echo-v2 10%`, one line per route ('' when none). */
export function describeEchoRoutes(c: WaypointConfig | undefined): string[] {
  return echoRoutes(c).map((r) => `${r.source.kind} ${r.source.namespace}/${r.source.name}: ${describeRoute(r)}`);
}

export function cluster(c: WaypointConfig | undefined, name: string): Cluster | undefined {
  return c?.clusters.find((x) => x.name === name);
}

/** `LEAST_REQUEST, maxConnections 1, maxPendingRequests 1, ..., outlier 5xx×1`. */
export function describeCluster(k: Cluster | undefined): string {
  if (!k) return '(absent)';
  const parts: string[] = [k.lb.kind];
  for (const [f, v] of Object.entries(k.circuitBreaker ?? {})) parts.push(`${f} ${String(v)}`);
  if (k.outlierDetection) parts.push(`outlier detection after ${k.outlierDetection.consecutive5xxErrors ?? '-'} 5xx`);
  return parts.join(', ');
}

/** `ALLOW demo/echo-viewer`, `jwt testing@secure.istio.io` — what the waypoint enforces. */
export function describeSecurity(c: WaypointConfig | undefined): string[] {
  const s = c?.security;
  return [
    ...(s?.authorization ?? []).map((p) => `${p.action} ${p.namespace}/${p.name} (${p.rules.length} rule${p.rules.length === 1 ? '' : 's'})`),
    ...(s?.jwtRules ?? []).map((j) => `jwt issuer ${j.issuer}${j.jwks ? ', keys inline' : ''}`),
  ];
}

/** The waypoint's access log lines (`request complete`) from index `from` on, for paths under `prefix`. */
export function accessLog(wm: WaypointMesh, from: number, prefix: string): LogLine[] {
  return wm.waypoint.lines.slice(from).filter((l) => l.msg === 'request complete' && String(l.path).startsWith(prefix));
}

/** Waits until the waypoint logged `n` requests under `prefix` since `from` (lines trail the answers). */
export async function waitAccessLog(wm: WaypointMesh, from: number, prefix: string, n: number, timeoutMs = 10_000): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = accessLog(wm, from, prefix);
    if (got.length >= n) return got;
    if (Date.now() > deadline) throw new Error(`the waypoint logged ${got.length} of ${n} requests under ${prefix} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
