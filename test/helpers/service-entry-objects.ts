// ServiceEntry objects and YAML for the translation tests, the egress integration tests and the
// egress netns test: one builder, and the Service/Workload shapes the translation gives back.

import { isIP } from 'node:net';
import type { KubeObject } from '../../src/k8s/index.js';
import type { Service, Workload } from '../../src/state/index.js';
import { expectedWorkload } from './k8s-objects.js';

export interface ServiceEntryMeta {
  readonly ns?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly created?: string;
  readonly status?: Record<string, unknown>;
}

export function serviceEntry(name: string, spec: Record<string, unknown>, o: ServiceEntryMeta = {}): KubeObject<'ServiceEntry'> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.created ? { creationTimestamp: o.created } : {}),
    },
    spec,
    ...(o.status ? { status: o.status } : {}),
  } as unknown as KubeObject<'ServiceEntry'>;
}

/** The Service of one host of a ServiceEntry with defaults: no VIPs, canonical, Standard LB. */
export function expectedEntryService(name: string, hostname: string, over: Partial<Service> = {}): Service {
  return {
    name,
    namespace: over.namespace ?? 'default',
    hostname,
    vips: [],
    cidrVips: [],
    ports: new Map(),
    subjectAltNames: [],
    waypoint: undefined,
    weightedWaypoints: [],
    loadBalancer: undefined,
    ipFamilies: 'Automatic',
    canonical: true,
    visibility: 'Public',
    ...over,
  };
}

/** The Workload of one endpoint (`address`) of ServiceEntry `name` in `default`, cluster c1. */
export function expectedEntryWorkload(name: string, address: string, over: Partial<Workload> = {}): Workload {
  const namespace = over.namespace ?? 'default';
  const ip = isIP(address) !== 0 ? address : undefined;
  return expectedWorkload(name, {
    uid: `c1/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`,
    workloadIps: ip === undefined ? [] : [ip],
    hostname: ip === undefined ? address : '',
    protocol: 'TCP',
    ...over,
  });
}

/** A ServiceEntry as manifest YAML (JSON is YAML): what the netns and process tests write. */
export function serviceEntryYaml(name: string, ns: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: ns, labels }, spec }, null, 2) + '\n';
}
