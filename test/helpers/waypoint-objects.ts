// A small ambient mesh with one waypoint (default/wp) for waypoint-translation tests, route builders
// for HTTPRoute/GRPCRoute/TCPRoute/VirtualService/DestinationRule, and readable views of the
// translated WaypointConfig.

import { translateAll, type FullTranslation } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { Cluster, Route, ServicePortConfig, WaypointConfig } from '../../src/waypoint/model/route-model.js';
import { OPTS, ambientNs, gateway, httpRoute, service, type ServiceOptions } from './k8s-objects.js';

/** Namespace `default` uses waypoint `wp` (Gateway + its Service, which gives it an address). */
export function meshWithWaypoint(...extra: KubeObject[]): KubeObject[] {
  return [
    ambientNs('default', { 'istio.io/use-waypoint': 'wp' }),
    gateway('wp'),
    service('wp', { clusterIP: '10.96.0.2', ports: [{ name: 'mesh', port: 15008 }], labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } }),
    ...extra,
  ];
}

/** A served Service (default namespace unless `ns`), default port http/80. */
export const svc = (name: string, o: ServiceOptions = {}): KubeObject<'Service'> => service(name, { clusterIP: `10.96.1.${name.length}`, ...o });

export function route(name: string, spec: Record<string, unknown>, o: { ns?: string; created?: string } = {}): KubeObject<'HTTPRoute'> {
  const r = httpRoute(name, o.ns ?? 'default', spec);
  return o.created ? ({ ...r, metadata: { ...r.metadata, creationTimestamp: o.created } } as unknown as KubeObject<'HTTPRoute'>) : r;
}

export function grpcRoute(name: string, spec: Record<string, unknown>, ns = 'default'): KubeObject<'GRPCRoute'> {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', metadata: { name, namespace: ns }, spec } as unknown as KubeObject<'GRPCRoute'>;
}

export function tcpRoute(name: string, spec: Record<string, unknown>, o: { ns?: string; created?: string } = {}): KubeObject<'TCPRoute'> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1alpha2',
    kind: 'TCPRoute',
    metadata: { name, namespace: o.ns ?? 'default', ...(o.created ? { creationTimestamp: o.created } : {}) },
    spec,
  } as unknown as KubeObject<'TCPRoute'>;
}

/** parentRefs to a Service (optionally one port). */
export const toService = (name: string, port?: number): Record<string, unknown>[] => [{ group: '', kind: 'Service', name, ...(port !== undefined ? { port } : {}) }];

export interface Translated {
  readonly all: FullTranslation;
  readonly config: WaypointConfig;
  /** `severity Kind/ns/name field: reason` of the waypoint translation's problems. */
  readonly problems: string[];
  port(service: string, port?: number): ServicePortConfig;
  routes(service: string, port?: number): readonly Route[];
}

export function translateWp(objects: KubeObject[]): Translated {
  const all = translateAll(snapshotOf(objects), OPTS);
  const config = all.waypoints.configs.find((c) => c.waypoint.name === 'wp');
  if (config === undefined) throw new Error('no config for default/wp');
  const port = (service: string, p = 80): ServicePortConfig => {
    const s = config.services.find((x) => x.hostname.startsWith(`${service}.`));
    const found = s?.ports.find((x) => x.port === p);
    if (found === undefined) throw new Error(`no ${service}:${p} in ${JSON.stringify(config.services.map((x) => x.hostname))}`);
    return found;
  };
  return {
    all,
    config,
    problems: all.waypoints.errors.map((e) => `${e.severity} ${e.object.kind}/${e.object.namespace ?? ''}/${e.object.name} ${e.field}: ${e.reason}`),
    port,
    routes: (service, p) => port(service, p).routes,
  };
}

export const cluster = (name: string, port = 80, ns = 'default'): string => `outbound|${port}||${name}.${ns}.svc.cluster.local`;

/** A VirtualService (networking.istio.io/v1 unless `version`), default namespace. */
export function virtualService(name: string, spec: Record<string, unknown>, o: { ns?: string; created?: string; version?: string } = {}): KubeObject<'VirtualService'> {
  return {
    apiVersion: `networking.istio.io/${o.version ?? 'v1'}`,
    kind: 'VirtualService',
    metadata: { name, namespace: o.ns ?? 'default', ...(o.created ? { creationTimestamp: o.created } : {}) },
    spec,
  } as unknown as KubeObject<'VirtualService'>;
}

/** A DestinationRule (networking.istio.io/v1 unless `version`), default namespace. */
export function destinationRule(name: string, spec: Record<string, unknown>, o: { ns?: string; created?: string; version?: string } = {}): KubeObject<'DestinationRule'> {
  return {
    apiVersion: `networking.istio.io/${o.version ?? 'v1'}`,
    kind: 'DestinationRule',
    metadata: { name, namespace: o.ns ?? 'default', ...(o.created ? { creationTimestamp: o.created } : {}) },
    spec,
  } as unknown as KubeObject<'DestinationRule'>;
}

/** The cluster of `name` in the translated config (throws when absent). */
export function clusterOf(t: Translated, name: string): Cluster {
  const c = t.config.clusters.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no cluster ${name} in ${JSON.stringify(t.config.clusters.map((x) => x.name))}`);
  return c;
}
