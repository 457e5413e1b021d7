// A synthetic cluster for the control-plane bench, deterministic for a shape: namespaces, nodes,
// Deployment-style pods behind selector Services with their EndpointSlices, policies and waypoints.
//
// Shapes follow what a real cluster's controllers write: ReplicaSet owners with pod-template-hash,
// named container ports, one EndpointSlice per selector Service listing its pods by targetRef, a
// `tier` Service per namespace spanning several Deployments, a few selector-less Services with
// hand-written slices, namespace- and workload-level AuthorizationPolicies and PeerAuthentications,
// and two namespaces whose traffic goes through a waypoint.

import type { KubeObject } from '../../src/k8s/index.js';

export interface ClusterShape {
  /** Pods in all (Deployment pods, plus per-namespace CronJob pods and waypoint pods). */
  readonly pods: number;
  /** Service objects in all (including tier, selector-less and waypoint Services). */
  readonly services: number;
  readonly namespaces: number;
  /** Nodes the pods are spread over (one node agent, i.e. one xDS client, per node). */
  readonly nodes: number;
}

/** A Deployment-style group of pods behind one app Service: what the change generator picks from. */
export interface AppInfo {
  readonly namespace: string;
  readonly app: string;
  /** ReplicaSet hash (pod-template-hash). */
  readonly hash: string;
  /** Pod names, in creation order. */
  readonly pods: readonly string[];
  /** The labels every pod of the group carries. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface SyntheticCluster {
  readonly shape: ClusterShape;
  /** Every object, cluster-scoped first, then by namespace. */
  readonly objects: readonly KubeObject[];
  readonly apps: readonly AppInfo[];
  readonly rootNamespace: string;
  /** Object counts by kind. */
  readonly counts: Readonly<Record<string, number>>;
}

export const ROOT_NAMESPACE = 'istio-system';
const ZONES = ['us-east1-a', 'us-east1-b', 'us-east1-c'] as const;
/** Namespaces (by index) that run a waypoint and send their traffic through it. */
const WAYPOINT_NAMESPACES = [0, 1];
const WAYPOINT_REPLICAS = 2;

export const namespaceName = (i: number): string => `team-${String(i).padStart(3, '0')}`;
export const nodeName = (i: number): string => `node-${String(i).padStart(3, '0')}`;

/** A stable pseudo-random lowercase-alphanumeric string of `len` characters for seed `n`. */
export function token(n: number, len: number): string {
  const chars = 'bcdfghjklmnpqrstvwxz2456789';
  let x = (Math.imul(n + 1, 2654435761) ^ 0x9e3779b9) >>> 0;
  let out = '';
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0;
    out += chars[x % chars.length];
  }
  return out;
}

/** A stable uid-shaped string (8-4-4-4-12 hex) for seed `n`. */
export function uidOf(kind: string, n: number): string {
  let h = 0x811c9dc5;
  for (const c of `${kind}/${n}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const hex = (v: number, len: number): string => (v >>> 0).toString(16).padStart(8, '0').slice(0, len);
  return `${hex(h, 8)}-${hex(n, 4)}-4${hex(h >>> 4, 3)}-8${hex(n * 7, 3)}-${hex(h ^ n, 8)}${hex(n, 4)}`;
}

/** The n-th pod IP: 10.16.0.0/12 upwards (unique for n < 2^20). */
export const podIp = (n: number): string => `10.${16 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
/** The n-th Service cluster IP: 10.96.0.0/16, from .0.1. */
export const serviceIp = (n: number): string => `10.96.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

interface PodSpecInput {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly owner: { readonly kind: string; readonly name: string } | undefined;
  readonly generateName: string | undefined;
  readonly serviceAccount: string;
  readonly node: string;
  readonly ip: string;
  readonly seq: number;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>;
}

/** A Pod as the API server holds it for a running, ready pod. */
export function makePod(p: PodSpecInput): KubeObject<'Pod'> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: uidOf('Pod', p.seq),
      labels: p.labels,
      ...(p.generateName !== undefined ? { generateName: p.generateName } : {}),
      ...(p.owner !== undefined
        ? { ownerReferences: [{ apiVersion: p.owner.kind === 'Job' ? 'batch/v1' : 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: uidOf(p.owner.kind, p.seq >> 4), controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    spec: {
      serviceAccountName: p.serviceAccount,
      nodeName: p.node,
      containers: [
        {
          name: 'main',
          image: `registry.example.com/${p.labels['app'] ?? 'job'}:1.4.2`,
          ports: p.ports.map((x) => ({ name: x.name, containerPort: x.containerPort, protocol: 'TCP' })),
        },
      ],
    },
    status: {
      phase: 'Running',
      hostIP: `192.168.${(p.seq >> 8) & 255}.${p.seq & 255}`,
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
        { type: 'PodScheduled', status: 'True' },
      ],
    },
  } as unknown as KubeObject<'Pod'>;
}

export const APP_PORTS = [
  { name: 'http', containerPort: 8080 },
  { name: 'metrics', containerPort: 9090 },
];

/** Builds the cluster; the same shape always gives the same objects. */
export function generateCluster(shape: ClusterShape): SyntheticCluster {
  const { namespaces: nsCount, nodes } = shape;
  if (nsCount < 2 || shape.services < nsCount * 3 || shape.pods < shape.services || nodes < 1) {
    throw new RangeError(`cluster shape too small: need namespaces >= 2, services >= 3 per namespace, pods >= services, nodes >= 1 (got ${JSON.stringify(shape)})`);
  }
  const objects: KubeObject[] = [];
  const apps: AppInfo[] = [];
  let podSeq = 0;
  let svcSeq = 0;
  const nodeOf = (seq: number): string => nodeName(seq % nodes);

  objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ROOT_NAMESPACE, uid: uidOf('Namespace', 100_000) } } as unknown as KubeObject);
  for (let i = 0; i < nodes; i++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: nodeName(i),
        uid: uidOf('Node', i),
        labels: { 'kubernetes.io/hostname': nodeName(i), 'topology.kubernetes.io/region': 'us-east1', 'topology.kubernetes.io/zone': ZONES[i % ZONES.length]! },
      },
    } as unknown as KubeObject);
  }
  objects.push(...meshPolicies());

  // Fixed per namespace: one CronJob pod; waypoint namespaces also a waypoint's pods and Service.
  const fixedPods = nsCount + WAYPOINT_NAMESPACES.length * WAYPOINT_REPLICAS;
  const appPods = shape.pods - fixedPods;
  // Per namespace: a tier Service; every 10th namespace a selector-less Service; waypoint
  // namespaces the waypoint's Service; the rest are app Services (one Deployment each).
  const fixedServices = nsCount + Math.ceil(nsCount / 10) + WAYPOINT_NAMESPACES.length;
  const appServices = shape.services - fixedServices;
  if (appServices < nsCount || appPods < appServices) throw new RangeError(`cluster shape too small for its fixed objects: ${JSON.stringify(shape)}`);
  // Replica counts vary (2, 6, 10, 14, 18 around the mean), the last app takes the remainder.
  const mean = appPods / appServices;
  const replicas: number[] = [];
  let assigned = 0;
  for (let a = 0; a < appServices; a++) {
    const r = a === appServices - 1 ? appPods - assigned : Math.max(1, Math.round(mean * (0.2 + 0.4 * (a % 5))));
    replicas.push(Math.max(1, r));
    assigned += replicas[a]!;
  }
  // Keep the total exact when rounding overshot: trim from the largest groups.
  for (let over = assigned - appPods; over > 0; ) {
    const i = replicas.indexOf(Math.max(...replicas));
    const take = Math.min(over, replicas[i]! - 1);
    replicas[i]! -= take;
    over -= take;
  }

  let appIndex = 0;
  for (let n = 0; n < nsCount; n++) {
    const ns = namespaceName(n);
    const waypoint = WAYPOINT_NAMESPACES.includes(n);
    const nsLabels: Record<string, string> = { 'kubernetes.io/metadata.name': ns, team: `t${n % 7}` };
    // Most namespaces are in the mesh; every 8th stays out (its pods are plain TCP workloads).
    if (n % 8 !== 7) nsLabels['istio.io/dataplane-mode'] = 'ambient';
    if (waypoint) nsLabels['istio.io/use-waypoint'] = 'waypoint';
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, uid: uidOf('Namespace', n), labels: nsLabels } } as unknown as KubeObject);

    const nsApps = Math.floor(appServices / nsCount) + (n < appServices % nsCount ? 1 : 0);
    const firstApp = `${ns.replace('team-', 'svc')}-0`;
    for (let k = 0; k < nsApps; k++, appIndex++) {
      const app = `${ns.replace('team-', 'svc')}-${k}`;
      const hash = token(appIndex, 10);
      const tier = k % 3 === 0 ? 'web' : k % 3 === 1 ? 'api' : 'data';
      const podNames: string[] = [];
      const endpoints: unknown[] = [];
      const labels = { app, version: 'v1', tier, 'pod-template-hash': hash };
      for (let r = 0; r < replicas[appIndex]!; r++) {
        const seq = podSeq++;
        const name = `${app}-${hash}-${token(seq, 5)}`;
        const pod = makePod({
          namespace: ns, name, seq, ip: podIp(seq), node: nodeOf(seq), serviceAccount: app,
          labels: { ...labels },
          owner: { kind: 'ReplicaSet', name: `${app}-${hash}` },
          generateName: `${app}-${hash}-`,
          ports: APP_PORTS,
        });
        objects.push(pod);
        podNames.push(name);
        endpoints.push({ addresses: [podIp(seq)], conditions: { ready: true, serving: true, terminating: false }, nodeName: nodeOf(seq), targetRef: { kind: 'Pod', namespace: ns, name, uid: pod.metadata.uid } });
      }
      apps.push({ namespace: ns, app, hash, pods: podNames, labels });
      // Every other Service names its target port (resolved per pod), the others give it as a number.
      const named = k % 2 === 0;
      objects.push(service(ns, app, svcSeq++, { app }, [
        { name: 'http', port: 80, targetPort: named ? 'http' : 8080 },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ]));
      objects.push(endpointSlice(ns, app, endpoints, [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }]));
    }
    // The tier Service spans every `web` Deployment of the namespace (pods in two Services).
    objects.push(service(ns, 'web', svcSeq++, { tier: 'web' }, [{ name: 'http', port: 80, targetPort: 'http' }]));
    if (n % 10 === 0) {
      // A database outside the cluster, reached through a selector-less Service and a hand-written slice.
      objects.push(service(ns, 'external-db', svcSeq++, undefined, [{ name: 'tcp', port: 5432, targetPort: 5432 }]));
      objects.push(endpointSlice(ns, 'external-db', [0, 1].map((i) => ({ addresses: [`172.20.${n}.${10 + i}`], conditions: { ready: true } })), [{ name: 'tcp', port: 5432 }]));
    }
    // A CronJob's pod (no Service).
    {
      const seq = podSeq++;
      const job = `report-${28_000_000 + n}`;
      objects.push(makePod({
        namespace: ns, name: `${job}-${token(seq, 5)}`, seq, ip: podIp(seq), node: nodeOf(seq), serviceAccount: 'reporter',
        labels: { 'batch.kubernetes.io/job-name': job, 'job-name': job },
        owner: { kind: 'Job', name: job }, generateName: `${job}-`, ports: [],
      }));
    }
    if (waypoint) {
      objects.push(...waypointObjects(ns, svcSeq++, () => podSeq++, nodeOf));
    }
    objects.push(...namespacePolicies(n, ns, firstApp));
  }
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return { shape, objects, apps, rootNamespace: ROOT_NAMESPACE, counts };
}

type ServicePortInput = { readonly name: string; readonly port: number; readonly targetPort: number | string };

function service(ns: string, name: string, seq: number, selector: Record<string, string> | undefined, ports: readonly ServicePortInput[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, uid: uidOf('Service', seq), labels: { app: name } },
    spec: {
      type: 'ClusterIP',
      ...(selector !== undefined ? { selector } : {}),
      clusterIP: serviceIp(seq),
      clusterIPs: [serviceIp(seq)],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    },
  } as unknown as KubeObject;
}

function endpointSlice(ns: string, svc: string, endpoints: readonly unknown[], ports: ReadonlyArray<{ name: string; port: number }>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svc}-${token(svc.length * 31 + ns.length, 5)}`,
      namespace: ns,
      labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
    addressType: 'IPv4',
    endpoints,
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
  } as unknown as KubeObject;
}

/** A waypoint as `istioctl waypoint apply` leaves it: the Gateway (with its address), its Service and pods. */
function waypointObjects(ns: string, svcSeq: number, nextPod: () => number, nodeOf: (seq: number) => string): KubeObject[] {
  const out: KubeObject[] = [];
  const host = `waypoint.${ns}.svc.cluster.local`;
  out.push({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: ns, labels: { 'istio.io/waypoint-for': 'service' } },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
    status: { addresses: [{ type: 'Hostname', value: host }] },
  } as unknown as KubeObject);
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'waypoint', namespace: ns, labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller', 'gateway.networking.k8s.io/gateway-name': 'waypoint' } },
    spec: {
      type: 'ClusterIP',
      selector: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' },
      clusterIP: serviceIp(svcSeq),
      clusterIPs: [serviceIp(svcSeq)],
      ports: [{ name: 'mesh', port: 15008, targetPort: 15008, protocol: 'TCP' }, { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' }],
    },
  } as unknown as KubeObject);
  for (let r = 0; r < WAYPOINT_REPLICAS; r++) {
    const seq = nextPod();
    const hash = token(svcSeq, 10);
    out.push(makePod({
      namespace: ns, name: `waypoint-${hash}-${token(seq, 5)}`, seq, ip: podIp(seq), node: nodeOf(seq), serviceAccount: 'waypoint',
      labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'istio.io/dataplane-mode': 'none', 'pod-template-hash': hash, 'networking.istio.io/tunnel': 'http' },
      owner: { kind: 'ReplicaSet', name: `waypoint-${hash}` }, generateName: `waypoint-${hash}-`,
      ports: [{ name: 'mesh', containerPort: 15008 }, { name: 'status-port', containerPort: 15021 }],
    }));
  }
  return out;
}

/** Mesh-wide: STRICT mTLS, and a global DENY of a blocked range. */
function meshPolicies(): KubeObject[] {
  return [
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace: ROOT_NAMESPACE, creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: { mtls: { mode: 'STRICT' } },
    } as unknown as KubeObject,
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'deny-blocked-ranges', namespace: ROOT_NAMESPACE },
      spec: { action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['192.0.2.0/24', '198.51.100.0/24'] } }] }] },
    } as unknown as KubeObject,
  ];
}

/**
 * Per namespace: ALLOW from the namespace itself and the ingress; a selector ALLOW for its first
 * app; every 5th namespace a selector DENY on the metrics port; every 10th a PERMISSIVE namespace
 * PeerAuthentication, and every 10th (offset 5) a workload one with a PERMISSIVE port.
 */
function namespacePolicies(n: number, ns: string, firstApp: string): KubeObject[] {
  const out: KubeObject[] = [];
  const ap = (name: string, spec: Record<string, unknown>): KubeObject =>
    ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace: ns }, spec }) as unknown as KubeObject;
  out.push(ap('allow-same-namespace', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: [ns, 'ingress'] } }] }] }));
  out.push(ap(`allow-to-${firstApp}`, {
    selector: { matchLabels: { app: firstApp } },
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: [`cluster.local/ns/${ns}/sa/${ns.replace('team-', 'svc')}-1`, 'cluster.local/ns/ingress/sa/gateway'] } }], to: [{ operation: { ports: ['8080'] } }] }],
  }));
  if (n % 5 === 0) {
    out.push(ap('deny-metrics-from-outside', {
      selector: { matchLabels: { tier: 'web' } },
      action: 'DENY',
      rules: [{ from: [{ source: { notNamespaces: [ns, 'monitoring'] } }], to: [{ operation: { ports: ['9090'] } }] }],
    }));
  }
  const pa = (name: string, spec: Record<string, unknown>): KubeObject =>
    ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace: ns, creationTimestamp: '2025-02-01T00:00:00Z' }, spec }) as unknown as KubeObject;
  if (n % 10 === 3) out.push(pa('permissive', { mtls: { mode: 'PERMISSIVE' } }));
  if (n % 10 === 5) out.push(pa(`${firstApp}-metrics`, { selector: { matchLabels: { app: firstApp } }, mtls: { mode: 'STRICT' }, portLevelMtls: { 9090: { mode: 'PERMISSIVE' } } }));
  return out;
}
