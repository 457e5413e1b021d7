// Converts one `workloads[i]` entry of the local config (ztunnel's LocalWorkload: the flattened
// Workload plus `services`) into the internal Workload, applying ztunnel's defaults.

import { isAbsolute } from 'node:path';
import type { Locality, Workload, WorkloadType } from '../state/index.js';
import { readGateway, readPortMap } from './local-gateway.js';
import type { YamlPath, YamlReader } from './yaml-reader.js';

const WORKLOAD_FIELDS = [
  'uid', 'name', 'namespace', 'workloadIps', 'hostname', 'network', 'protocol', 'networkMode',
  'trustDomain', 'serviceAccount', 'waypoint', 'networkGateway', 'node', 'canonicalName',
  'canonicalRevision', 'workloadType', 'workloadName', 'nativeTunnel', 'applicationTunnel',
  'services', 'authorizationPolicies', 'status', 'clusterId', 'locality', 'capacity',
  // Ambit extensions: the pod's network namespace path (see docs in embedded-example.ts), and
  // Istio's outboundTrafficPolicy mode for its outbound connections (ALLOW_ANY or REGISTRY_ONLY).
  'netns', 'outboundTrafficPolicy',
] as const;

const WORKLOAD_TYPES: readonly WorkloadType[] = ['deployment', 'cronjob', 'pod', 'job'];

/**
 * The uid given when an entry has none: istiod's Pod uid format (ztunnel proto/workload.proto,
 * Workload.uid), so it also wins ztunnel's same-IP preference for `//Pod/` uids. ztunnel leaves it
 * empty, which makes entries clash.
 */
export function defaultWorkloadUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

function readLocality(r: YamlReader, value: unknown, path: YamlPath): Locality {
  if (value === undefined || value === null) return { region: '', zone: '', subzone: '' };
  const o = r.object(value, path, ['region', 'zone', 'subzone']) ?? {};
  return {
    region: r.string(o.region, [...path, 'region']),
    zone: r.string(o.zone, [...path, 'zone']),
    subzone: r.string(o.subzone, [...path, 'subzone']),
  };
}

function readAppTunnel(r: YamlReader, value: unknown, path: YamlPath): Workload['applicationTunnel'] {
  if (value === undefined || value === null) return undefined;
  const o = r.object(value, path, ['protocol', 'port'], ['protocol']);
  if (o === undefined) return undefined;
  return {
    protocol: r.enumOf(o.protocol, [...path, 'protocol'], ['NONE', 'PROXY'] as const, 'NONE'),
    port: r.port(o.port ?? 0, [...path, 'port'], true),
  };
}

function readServices(r: YamlReader, value: unknown, path: YamlPath): Map<string, ReadonlyMap<number, number>> {
  const out = new Map<string, ReadonlyMap<number, number>>();
  for (const [key, ports] of Object.entries(r.dict(value, path))) {
    const slash = key.indexOf('/');
    if (slash <= 0 || slash === key.length - 1) {
      r.fail([...path, key], `service key "${key}" must be "namespace/hostname"`, true);
      continue;
    }
    out.set(key, readPortMap(r, ports, [...path, key]));
  }
  return out;
}

export function readWorkload(r: YamlReader, value: unknown, path: YamlPath): Workload | undefined {
  const o = r.object(value, path, WORKLOAD_FIELDS, ['namespace', 'workloadIps']);
  if (o === undefined) return undefined;
  const p = (k: string): YamlPath => [...path, k];
  const errorsBefore = r.errors.length;
  const namespace = r.string(o.namespace, p('namespace'));
  const name = r.string(o.name, p('name'));
  const clusterId = r.string(o.clusterId, p('clusterId')) || 'Kubernetes';
  const ips: string[] = [];
  r.list(o.workloadIps, p('workloadIps')).forEach((v, i) => {
    const ip = r.ip(v, [...p('workloadIps'), i]);
    if (ip !== undefined && !ips.includes(ip)) ips.push(ip);
  });
  const typeText = r.string(o.workloadType, p('workloadType'), 'deployment').toLowerCase();
  const workloadType = r.enumOf(typeText, p('workloadType'), WORKLOAD_TYPES, 'deployment');
  const netns = o.netns === undefined || o.netns === null ? undefined : r.string(o.netns, p('netns'));
  if (netns !== undefined && !isAbsolute(netns)) r.fail(p('netns'), `netns must be an absolute path, got "${netns}"`);
  const capacity = r.int(o.capacity, p('capacity'), 0, 0xffffffff, 1);
  const policy = o.outboundTrafficPolicy === undefined || o.outboundTrafficPolicy === null
    ? undefined
    : r.enumOf(o.outboundTrafficPolicy, p('outboundTrafficPolicy'), ['ALLOW_ANY', 'REGISTRY_ONLY'] as const, 'ALLOW_ANY');
  const workload: Workload = {
    uid: r.string(o.uid, p('uid')) || defaultWorkloadUid(clusterId, namespace, name),
    name,
    namespace,
    workloadIps: ips,
    hostname: r.string(o.hostname, p('hostname')),
    network: r.string(o.network, p('network')),
    protocol: r.enumOf(o.protocol, p('protocol'), ['TCP', 'HBONE'] as const, 'TCP'),
    trustDomain: r.string(o.trustDomain, p('trustDomain')) || 'cluster.local',
    serviceAccount: r.string(o.serviceAccount, p('serviceAccount')) || 'default',
    waypoint: readGateway(r, o.waypoint, p('waypoint')),
    networkGateway: readGateway(r, o.networkGateway, p('networkGateway')),
    node: r.string(o.node, p('node')),
    canonicalName: r.string(o.canonicalName, p('canonicalName')),
    canonicalRevision: r.string(o.canonicalRevision, p('canonicalRevision')),
    workloadType,
    workloadName: r.string(o.workloadName, p('workloadName')),
    nativeTunnel: r.bool(o.nativeTunnel, p('nativeTunnel')),
    applicationTunnel: readAppTunnel(r, o.applicationTunnel, p('applicationTunnel')),
    services: readServices(r, o.services, p('services')),
    authorizationPolicies: r.list(o.authorizationPolicies, p('authorizationPolicies')).map((v, i) =>
      r.string(v, [...p('authorizationPolicies'), i]),
    ),
    status: r.enumOf(o.status, p('status'), ['Healthy', 'Unhealthy'] as const, 'Healthy'),
    clusterId,
    locality: readLocality(r, o.locality, p('locality')),
    networkMode: r.enumOf(o.networkMode, p('networkMode'), ['Standard', 'HostNetwork'] as const, 'Standard'),
    capacity,
    netns,
    ...(policy === undefined ? {} : { outboundTrafficPolicy: policy }),
  };
  if (namespace === '' && o.namespace !== undefined && r.errors.length === errorsBefore) {
    r.fail(p('namespace'), 'namespace must not be empty');
  }
  return workload;
}
