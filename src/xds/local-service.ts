// Converts one `services[i]` entry of the local config into the internal Service. Endpoints listed
// inline on the service are returned separately: the state model derives endpoints from workloads.

import type { LoadBalancing, RoutingPreference, Service, WeightedWaypoint, WorkloadStatus } from '../state/index.js';
import { readCidrAddress, readGateway, readNetworkAddress, readPortMap } from './local-gateway.js';
import type { YamlPath, YamlReader } from './yaml-reader.js';

const SERVICE_FIELDS = [
  'name', 'namespace', 'hostname', 'vips', 'cidrVips', 'ports', 'endpoints', 'subjectAltNames',
  'waypoint', 'weightedWaypoints', 'loadBalancer', 'ipFamilies', 'canonical', 'visibility',
] as const;

const SCOPES: readonly RoutingPreference[] = ['Region', 'Zone', 'Subzone', 'Node', 'Cluster', 'Network'];

/** `services[i].endpoints[uid]`: folded into that workload's `services` map by the caller. */
export interface InlineEndpoint {
  readonly workloadUid: string;
  readonly port: ReadonlyMap<number, number>;
  readonly status: WorkloadStatus;
  readonly path: YamlPath;
}

function readLoadBalancer(r: YamlReader, value: unknown, path: YamlPath): LoadBalancing | undefined {
  if (value === undefined || value === null) return undefined;
  const o = r.object(value, path, ['routingPreferences', 'mode', 'healthPolicy']);
  if (o === undefined) return undefined;
  const prefs = r.list(o.routingPreferences, [...path, 'routingPreferences']).map((v, i) =>
    r.enumOf(v, [...path, 'routingPreferences', i], SCOPES, 'Region'),
  );
  return {
    routingPreferences: prefs,
    mode: r.enumOf(o.mode, [...path, 'mode'], ['Standard', 'Strict', 'Failover', 'Passthrough'] as const, 'Standard'),
    healthPolicy: r.enumOf(o.healthPolicy, [...path, 'healthPolicy'], ['OnlyHealthy', 'AllowAll'] as const, 'OnlyHealthy'),
  };
}

function readWeightedWaypoints(r: YamlReader, value: unknown, path: YamlPath): WeightedWaypoint[] {
  const out: WeightedWaypoint[] = [];
  r.list(value, path).forEach((v, i) => {
    const o = r.object(v, [...path, i], ['destination', 'weight'], ['destination']);
    if (o === undefined) return;
    const destination = readGateway(r, o.destination, [...path, i, 'destination']);
    const weight = r.int(o.weight, [...path, i, 'weight'], 0, 0xffffffff, 0);
    if (destination !== undefined) out.push({ destination, weight });
  });
  return out;
}

function readEndpoints(r: YamlReader, value: unknown, path: YamlPath): InlineEndpoint[] {
  const out: InlineEndpoint[] = [];
  for (const [uid, v] of Object.entries(r.dict(value, path))) {
    const epath = [...path, uid];
    const o = r.object(v, epath, ['workloadUid', 'port', 'status'], ['workloadUid']);
    if (o === undefined) continue;
    out.push({
      workloadUid: r.string(o.workloadUid, [...epath, 'workloadUid']),
      port: readPortMap(r, o.port, [...epath, 'port']),
      status: r.enumOf(o.status, [...epath, 'status'], ['Healthy', 'Unhealthy'] as const, 'Healthy'),
      path: epath,
    });
  }
  return out;
}

export function readService(
  r: YamlReader,
  value: unknown,
  path: YamlPath,
): { service: Service; endpoints: InlineEndpoint[] } | undefined {
  const o = r.object(value, path, SERVICE_FIELDS, ['name', 'namespace', 'hostname']);
  if (o === undefined) return undefined;
  const p = (k: string): YamlPath => [...path, k];
  const vips = r
    .list(o.vips, p('vips'))
    .map((v, i) => readNetworkAddress(r, v, [...p('vips'), i]))
    .filter((v) => v !== undefined);
  const cidrVips = r
    .list(o.cidrVips, p('cidrVips'))
    .map((v, i) => readCidrAddress(r, v, [...p('cidrVips'), i]))
    .filter((v) => v !== undefined);
  const ipFamily = r.enumOf(o.ipFamilies, p('ipFamilies'), ['Automatic', 'IPv4', 'IPv6', 'Dual'] as const, 'Automatic');
  const service: Service = {
    name: r.string(o.name, p('name')),
    namespace: r.string(o.namespace, p('namespace')),
    hostname: r.string(o.hostname, p('hostname')),
    vips,
    cidrVips,
    ports: readPortMap(r, o.ports, p('ports')),
    subjectAltNames: r.list(o.subjectAltNames, p('subjectAltNames')).map((v, i) => r.string(v, [...p('subjectAltNames'), i])),
    waypoint: readGateway(r, o.waypoint, p('waypoint')),
    weightedWaypoints: readWeightedWaypoints(r, o.weightedWaypoints, p('weightedWaypoints')),
    loadBalancer: readLoadBalancer(r, o.loadBalancer, p('loadBalancer')),
    ipFamilies: ipFamily,
    canonical: r.bool(o.canonical, p('canonical')),
    visibility: r.enumOf(o.visibility, p('visibility'), ['Public', 'Namespace'] as const, 'Public'),
  };
  if (service.hostname.includes('/')) r.fail(p('hostname'), `hostname "${service.hostname}" must not contain "/"`);
  return { service, endpoints: readEndpoints(r, o.endpoints, p('endpoints')) };
}
