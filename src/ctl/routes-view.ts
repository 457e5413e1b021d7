// `ambit ctl routes`: a waypoint's route table from its admin /config_dump (`proxy`): per service
// port the routes in precedence order with a match summary and backends, then every cluster with
// its endpoints and their health.

import { MeshError } from '../common/errors.js';
import type { Cluster, PathModifier, Route, RouteMatch, ServicePortConfig, WeightedCluster } from '../waypoint/index.js';
import { skew, type AgentDump } from './api-reader.js';
import type { AdminClient } from './admin-client.js';
import { isRecord } from './dump-schema.js';
import type { Table } from './table.js';

export const ROUTE_HEADERS = ['SERVICE', 'PORT', 'PROTOCOL', 'ROUTE', 'MATCH', 'BACKENDS'] as const;
export const CLUSTER_HEADERS = ['CLUSTER', 'LB', 'ENDPOINT', 'ADDRESS', 'HEALTH', 'PROTOCOL', 'ACTIVE'] as const;

interface DumpEndpoint {
  readonly workload: string;
  readonly address: string;
  readonly protocol: string;
  readonly health: string;
  readonly activeRequests: number;
}

/** The waypoint proxy's own dump (src/waypoint/waypoint-proxy.ts configDump). */
export interface WaypointRoutes {
  readonly waypoint: { readonly namespace: string; readonly name: string } | undefined;
  readonly identity: string | undefined;
  /** The route model's version (WAYPOINT_CONFIG_VERSION), not the resource version. */
  readonly version: number | undefined;
  readonly services: readonly { readonly hostname: string; readonly namespace: string; readonly ports: readonly ServicePortConfig[] }[];
  readonly clusters: readonly (Cluster & { readonly endpoints: readonly DumpEndpoint[] })[];
}

/** The route table of a waypoint's dump; refuses a node agent's dump and an older waypoint's. */
export function routesOf(dump: AgentDump, client: AdminClient): WaypointRoutes {
  const raw = dump.raw;
  if (!isRecord(raw.waypoint)) {
    throw new MeshError('CTL_NOT_AMBIT', `${client.address} is a node agent's admin API (its /config_dump names no waypoint): routes needs a waypoint's (--waypoint ADDR)`);
  }
  const proxy = raw.proxy;
  if (!isRecord(proxy) || !Array.isArray(proxy.services) || !Array.isArray(proxy.clusters)) {
    if (proxy === undefined && raw.waypointConfig === undefined) {
      throw new MeshError('CTL_BAD_ANSWER', `${client.who} has no WaypointConfig yet (its dump has no proxy route table): is it ready? (GET /healthz/ready on its readiness port)`);
    }
    throw skew(client, dump.ambit, dump.adminApi, 'answered a /config_dump without proxy.services and proxy.clusters');
  }
  return proxy as unknown as WaypointRoutes;
}

const STRING_OPS: Readonly<Record<string, string>> = { Exact: '=', Prefix: '^=', Suffix: '$=', RegularExpression: '~=' };

/** `path prefix /api, method GET, header x-user=jason, query v~=^1` ; `*` for match-all. */
export function matchSummary(m: RouteMatch): string {
  const parts: string[] = [];
  if (m.path) {
    const kind = { Exact: 'exact', PathPrefix: 'prefix', Prefix: 'string-prefix', RegularExpression: 'regex' }[m.path.type] ?? m.path.type;
    parts.push(`path ${kind} ${m.path.value}${m.path.ignoreCase ? ' (any case)' : ''}`);
  }
  if (m.method) parts.push(`method ${m.method}`);
  for (const h of m.headers ?? []) parts.push(`${h.invert ? 'not ' : ''}header ${h.type === 'Present' ? `${h.name} present` : `${h.name}${STRING_OPS[h.type] ?? '='}${h.value}`}`);
  for (const q of m.queryParams ?? []) parts.push(`query ${q.type === 'Present' ? `${q.name} present` : `${q.name}${STRING_OPS[q.type] ?? '='}${q.value}`}`);
  if (m.grpc) parts.push(`grpc ${m.grpc.type === 'RegularExpression' ? 'regex ' : ''}/${m.grpc.service ?? '*'}/${m.grpc.method ?? '*'}`);
  return parts.length === 0 ? '*' : parts.join(', ');
}

function backendText(b: WeightedCluster, total: number): string {
  const name = b.cluster ?? `<invalid: ${b.invalidReason ?? 'unresolved'} → ${b.invalidStatus ?? 500}>`;
  return total > 1 ? `${name} (weight ${b.weight})` : name;
}

/** A path modifier in one short phrase. */
function pathText(p: PathModifier): string {
  switch (p.type) {
    case 'ReplaceFullPath':
      return p.value;
    case 'RegexRewrite':
      return `s/${p.pattern}/${p.substitution}/`;
    default:
      return `${p.prefix}→${p.value}`;
  }
}

/** What a route does: weighted backends, a redirect, or a fixed answer. */
export function actionSummary(r: Route): string {
  const a = r.action;
  switch (a.kind) {
    case 'forward':
      return a.backends.length === 0 ? 'no backends' : a.backends.map((b) => backendText(b, a.backends.length)).join(', ');
    case 'redirect': {
      const x = a.redirect;
      const where = [x.scheme ? `${x.scheme}://` : '', x.hostname ?? '', x.port !== undefined ? `:${x.port}` : '', x.path ? pathText(x.path) : ''].join('');
      return `redirect ${x.statusCode}${where ? ` ${where}` : ''}`;
    }
    case 'direct':
      return `direct ${a.status}`;
    default:
      return 'unknown action';
  }
}

export function routesTable(r: WaypointRoutes, namespace: string | undefined): Table {
  const rows: string[][] = [];
  for (const s of r.services.filter((x) => namespace === undefined || x.namespace === namespace)) {
    for (const p of s.ports) {
      const head = [s.hostname, String(p.port), p.protocol];
      if (p.routes.length === 0) {
        const tcp = p.tcpBackends ?? [];
        rows.push([...head, '(default)', '*', tcp.length > 0 ? tcp.map((b) => backendText(b, tcp.length)).join(', ') : p.defaultCluster]);
        continue;
      }
      p.routes.forEach((route, i) => rows.push([...head, `${i}: ${route.name}`, matchSummary(route.match), actionSummary(route)]));
    }
  }
  return { headers: ROUTE_HEADERS, rows };
}

export function clustersTable(r: WaypointRoutes, namespace: string | undefined): Table {
  const rows: string[][] = [];
  for (const c of r.clusters.filter((x) => namespace === undefined || x.namespace === namespace)) {
    if (c.endpoints.length === 0) {
      rows.push([c.name, c.lb.kind, '(no endpoints)', '-', '-', '-', '-']);
      continue;
    }
    for (const e of c.endpoints) rows.push([c.name, c.lb.kind, e.workload, e.address, e.health, e.protocol, String(e.activeRequests)]);
  }
  return { headers: CLUSTER_HEADERS, rows };
}
