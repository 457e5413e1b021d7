// Istio objects for the waypoint netns tests of Istio's tutorials (test/netns/waypoint-istio-*):
// VirtualService, DestinationRule, AuthorizationPolicy, RequestAuthentication as YAML, views of the
// WaypointConfig they compile into, and client measurements (timed curl, h2load, metric deltas).

import { stringify } from 'yaml';
import type { Cluster, Route, WaypointConfig } from '../../src/waypoint/index.js';
import { MESH_NAMESPACE } from './inpod-manifests.js';
import { metricSum } from './prometheus-text.js';
import { WAYPOINT_NAME, hostnameOf } from './waypoint-manifests.js';
import type { WaypointConfigView, WaypointMesh } from './waypoint-mesh.js';

/** Subsets v1/v2 by the pods' `version` label, as the tutorials' `destination-rule-all.yaml`. */
export const VERSION_SUBSETS = [
  { name: 'v1', labels: { version: 'v1' } },
  { name: 'v2', labels: { version: 'v2' } },
] as const;

/** The cluster of a Service port (and subset), named as Envoy/Istio name it. */
export const clusterName = (svc: string, subset = '', port = 80): string => `outbound|${port}|${subset}|${hostnameOf(svc)}`;

function object(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): string {
  return stringify({ apiVersion, kind, metadata: { name, namespace: MESH_NAMESPACE, ...(annotations ? { annotations } : {}) }, spec });
}

export const virtualServiceYaml = (name: string, spec: Record<string, unknown>): string => object('networking.istio.io/v1', 'VirtualService', name, spec);

export const destinationRuleYaml = (name: string, spec: Record<string, unknown>): string => object('networking.istio.io/v1', 'DestinationRule', name, spec);

/** `destination` of a VirtualService route to the echo Service's subset. */
export const toSubset = (subset: string, weight?: number, host = 'echo'): Record<string, unknown> => ({ destination: { host, subset }, ...(weight !== undefined ? { weight } : {}) });

/** targetRefs entries: the waypoint Gateway, or a Service of the namespace. */
export const GATEWAY_TARGET = { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: WAYPOINT_NAME } as const;
export const serviceTarget = (name: string): Record<string, unknown> => ({ kind: 'Service', group: '', name });

export const authorizationPolicyYaml = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): string =>
  object('security.istio.io/v1', 'AuthorizationPolicy', name, spec, annotations);

export const requestAuthenticationYaml = (name: string, spec: Record<string, unknown>): string => object('security.istio.io/v1', 'RequestAuthentication', name, spec);

/** The WaypointConfig as the waypoint holds it (the view typed in full). */
export const fullConfig = (c: WaypointConfigView): WaypointConfig => c as unknown as WaypointConfig;

/** The routes compiled into `svc:port` (e.g. `echo:80`), [] when none. */
export function routesAt(c: WaypointConfigView, key: string): readonly Route[] {
  const [svc, port] = key.split(':');
  return fullConfig(c).services.find((s) => s.hostname === hostnameOf(svc!))?.ports.find((p) => p.port === Number(port))?.routes ?? [];
}

/** `[cluster, weight]` pairs of every forward route at `svc:port`, route by route. */
export function weightsAt(c: WaypointConfigView, key: string): Array<Array<[string, number]>> {
  return routesAt(c, key).map((r) => (r.action.kind === 'forward' ? r.action.backends.map((b): [string, number] => [b.cluster ?? '', b.weight]) : []));
}

/** `[cluster, weight]` of the TCP backends of `svc:port` ([] when the port has none). */
export function tcpWeightsAt(c: WaypointConfigView, key: string): Array<[string, number]> {
  const [svc, port] = key.split(':');
  const p = fullConfig(c).services.find((s) => s.hostname === hostnameOf(svc!))?.ports.find((x) => x.port === Number(port));
  return (p?.tcpBackends ?? []).map((b): [string, number] => [b.cluster ?? '', b.weight]);
}

/** `[cluster, percent]` of every route's mirrors at `svc:port`, route by route. */
export function mirrorsAt(c: WaypointConfigView, key: string): Array<Array<[string, number]>> {
  return routesAt(c, key).map((r) => (r.mirrors ?? []).map((m): [string, number] => [m.cluster, m.percent]));
}

export function clusterIn(c: WaypointConfigView, name: string): Cluster | undefined {
  return fullConfig(c).clusters.find((x) => x.name === name);
}

/** Names of the AuthorizationPolicies and RequestAuthentications in force at the waypoint, sorted. */
export function securityNames(c: WaypointConfigView): { authz: string[]; jwt: string[] } {
  const s = fullConfig(c).security;
  return {
    authz: [...new Set((s?.authorization ?? []).map((p) => p.name))].sort(),
    jwt: [...new Set((s?.jwtRules ?? []).map((r) => r.source.replace(/#\d+$/, '').replace(/^[^/]*\//, '')))].sort(),
  };
}

/** A metric's sum on the waypoint's stats port, e.g. istio_requests_total with some labels. */
export async function waypointMetric(wm: WaypointMesh, name: string, labels: Record<string, string>): Promise<number> {
  return metricSum(await wm.waypoint.metrics(), name, labels);
}

/** One curl from a client pod with its status and curl's own `time_total` (seconds: no exec overhead in it). */
export async function timedCurl(wm: WaypointMesh, url: string, args: readonly string[] = [], pod: 'c1' | 'c2' = 'c1'): Promise<{ status: number; seconds: number; pod: string }> {
  const r = await wm.exec(pod, ['curl', '-sS', '-o', '/dev/null', '--max-time', '30', '-w', '%{http_code} %{time_total} %header{x-pod}', ...args, url], 45_000);
  if (r.code !== 0) throw new Error(`curl ${url} failed (${r.code}): ${r.stderr}`);
  const [status, seconds, who] = r.stdout.trim().split(' ');
  return { status: Number(status), seconds: Number(seconds), pod: who ?? '' };
}

/**
 * `n` opaque TCP connections from `pod`, one after the other, each sending a line and reading the
 * echo until the peer closes: how many echoed it back, and the errors of the others.
 */
export async function tcpConnections(wm: WaypointMesh, ip: string, port: number, n: number, pod: 'c1' | 'c2' = 'c1'): Promise<{ echoed: number; failed: string[] }> {
  const script = [
    'import json,socket,sys',
    'ok=0; failed=[]',
    `for i in range(${n}):`,
    '  msg=("conn-%d" % i).encode()',
    '  try:',
    `    s=socket.create_connection((${JSON.stringify(ip)},${port}),timeout=10)`,
    '    s.sendall(msg); s.shutdown(socket.SHUT_WR)',
    '    out=b""',
    '    while True:',
    '      b=s.recv(65536)',
    '      if not b: break',
    '      out+=b',
    '    s.close()',
    '    if out==msg: ok+=1',
    '    else: failed.append("conn-%d: got %r" % (i,out))',
    '  except Exception as e:',
    '    failed.append("conn-%d: %s" % (i,e))',
    'print(json.dumps({"echoed":ok,"failed":failed}))',
  ].join('\n');
  const r = await wm.exec(pod, ['python3', '-c', script], 30_000 + n * 1_000);
  if (r.code !== 0) throw new Error(`tcp client failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { echoed: number; failed: string[] };
}

/**
 * `h2load` (HTTP/2 cleartext with prior knowledge, as h2load speaks to http:// URLs) from c1: `n`
 * requests over `c` connections with `m` concurrent streams each; the status class counts it reports.
 */
export async function h2load(wm: WaypointMesh, url: string, n: number, c: number, m: number): Promise<{ '2xx': number; '4xx': number; '5xx': number; succeeded: number; errored: number }> {
  const r = await wm.exec('c1', ['h2load', '-n', String(n), '-c', String(c), '-m', String(m), '-T', '20', url], 180_000);
  if (r.code !== 0) throw new Error(`h2load failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(r.stdout);
  const reqs = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(r.stdout);
  if (!codes || !reqs) throw new Error(`unexpected h2load output:\n${r.stdout}`);
  return { '2xx': Number(codes[1]), '4xx': Number(codes[3]), '5xx': Number(codes[4]), succeeded: Number(reqs[1]), errored: Number(reqs[3]) };
}
