// Small builders for the Kubernetes objects translation tests start from, and the fully defaulted
// resources they expect back, so each table row states only what its rule changes.

import type { KubeObject } from '../../src/k8s/index.js';
import type { TranslateOptions, MeshTranslation } from '../../src/controlplane/index.js';
import type { PortMap, Service, Workload } from '../../src/state/index.js';

export const OPTS: TranslateOptions = {
  clusterId: 'c1',
  trustDomain: 'cluster.local',
  domainSuffix: 'cluster.local',
  rootNamespace: 'istio-system',
  network: '',
};

type Meta = { labels?: Record<string, string>; annotations?: Record<string, string> };

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject<'Namespace'> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export const ambientNs = (name = 'default', labels: Record<string, string> = {}): KubeObject<'Namespace'> =>
  namespace(name, { 'istio.io/dataplane-mode': 'ambient', ...labels });

export interface PodOptions extends Meta {
  ns?: string;
  ip?: string;
  ips?: string[];
  node?: string;
  sa?: string;
  ready?: boolean;
  phase?: string;
  hostNetwork?: boolean;
  ports?: { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
  owner?: { kind: string; name: string };
  generateName?: string;
  deleting?: boolean;
  uid?: string;
}

export function pod(name: string, o: PodOptions = {}): KubeObject<'Pod'> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
      ...(o.uid ? { uid: o.uid } : {}),
      ...(o.generateName ? { generateName: o.generateName } : {}),
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.owner.kind, name: o.owner.name, uid: 'u', controller: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'app', ports: o.ports ?? [] }],
      ...(o.sa ? { serviceAccountName: o.sa } : {}),
      ...(o.node ? { nodeName: o.node } : {}),
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ips ? { podIPs: o.ips.map((ip) => ({ ip })) } : o.ip === '' ? {} : { podIP: o.ip ?? '10.0.0.1' }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  } as KubeObject<'Pod'>;
}

export interface ServiceOptions extends Meta {
  ns?: string;
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: 'TCP' | 'UDP' }[];
  spec?: Record<string, unknown>;
}

export function service(name: string, o: ServiceOptions = {}): KubeObject<'Service'> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.ns ?? 'default', labels: o.labels ?? {}, annotations: o.annotations ?? {} },
    spec: {
      ...(o.selector ? { selector: o.selector } : {}),
      ...(o.clusterIPs ? { clusterIPs: o.clusterIPs } : { clusterIP: o.clusterIP ?? '10.96.0.10' }),
      ports: o.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }],
      ...(o.spec ?? {}),
    },
  } as KubeObject<'Service'>;
}

export interface GatewayOptions extends Meta {
  ns?: string;
  className?: string;
  listeners?: Record<string, unknown>[];
  addresses?: { type?: string; value: string }[];
}

/** A waypoint Gateway as `istioctl waypoint generate` writes it (HBONE listener on 15008). */
export function gateway(name: string, o: GatewayOptions = {}): KubeObject<'Gateway'> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: o.ns ?? 'default', labels: o.labels ?? {}, annotations: o.annotations ?? {} },
    spec: {
      gatewayClassName: o.className ?? 'istio-waypoint',
      listeners: o.listeners ?? [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    },
    ...(o.addresses ? { status: { addresses: o.addresses } } : {}),
  } as unknown as KubeObject<'Gateway'>;
}

export function authz(name: string, ns: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject<'AuthorizationPolicy'> {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns, annotations }, spec } as unknown as KubeObject<'AuthorizationPolicy'>;
}

export function peerAuthn(name: string, ns: string, spec: Record<string, unknown>, created?: string): KubeObject<'PeerAuthentication'> {
  return {
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'PeerAuthentication',
    metadata: { name, namespace: ns, ...(created ? { creationTimestamp: created } : {}) },
    spec,
  } as unknown as KubeObject<'PeerAuthentication'>;
}

export function endpointSlice(name: string, ns: string, serviceName: string | undefined, body: Record<string, unknown>): KubeObject<'EndpointSlice'> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: serviceName ? { 'kubernetes.io/service-name': serviceName } : {} },
    addressType: 'IPv4',
    endpoints: [],
    ...body,
  } as unknown as KubeObject<'EndpointSlice'>;
}

export function node(name: string, labels: Record<string, string>): KubeObject<'Node'> {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
}

export function httpRoute(name: string, ns: string, spec: Record<string, unknown>, generation = 1): KubeObject<'HTTPRoute'> {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: ns, generation }, spec } as unknown as KubeObject<'HTTPRoute'>;
}

/** The Workload translation gives the default `pod(name)` in an ambient `default` namespace. */
export function expectedWorkload(name: string, over: Partial<Workload> = {}): Workload {
  const namespace = over.namespace ?? 'default';
  return {
    uid: `c1//Pod/${namespace}/${name}`,
    name,
    namespace,
    workloadIps: ['10.0.0.1'],
    hostname: '',
    network: '',
    protocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'default',
    waypoint: undefined,
    networkGateway: undefined,
    node: '',
    canonicalName: name,
    canonicalRevision: 'latest',
    workloadType: 'pod',
    workloadName: name,
    nativeTunnel: false,
    applicationTunnel: undefined,
    services: new Map(),
    authorizationPolicies: [],
    status: 'Healthy',
    clusterId: 'c1',
    locality: { region: '', zone: '', subzone: '' },
    networkMode: 'Standard',
    capacity: 1,
    netns: undefined,
    ...over,
  };
}

/** The Service translation gives the default `service(name)` (port 80 → 8080, VIP 10.96.0.10). */
export function expectedService(name: string, over: Partial<Service> = {}): Service {
  const namespace = over.namespace ?? 'default';
  return {
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    vips: [{ network: '', ip: '10.96.0.10' }],
    cidrVips: [],
    ports: new Map([[80, 8080]]),
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

export function ports(...pairs: [number, number][]): PortMap {
  return new Map(pairs);
}

export function workloadNamed(t: MeshTranslation, name: string): Workload | undefined {
  return t.workloads.find((w) => w.name === name);
}

export function serviceNamed(t: MeshTranslation, name: string): Service | undefined {
  return t.services.find((s) => s.name === name);
}

/** `kind/ns/name field: reason` lines, for readable assertions on problems. */
export function problemLines(t: MeshTranslation): string[] {
  return t.errors.map((e) => `${e.severity} ${e.object.kind}/${e.object.namespace ?? ''}/${e.object.name} ${e.field}: ${e.reason}`);
}
