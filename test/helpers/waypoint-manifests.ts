// Kubernetes manifests of the waypoint netns mesh: namespace `demo` (ambient, istio.io/use-waypoint),
// clients c1/c2 (node1), echo servers s1 (version v1) and s2 (v2) on node2 behind Services echo,
// echo-v1 and echo-v2, and the waypoint: Gateway `waypoint`, its Service and its pod `wp`.

import { stringify } from 'yaml';
import { NETNS_ANNOTATION } from '../../src/k8s/index.js';
import { ENROLL_LABEL, MESH_NAMESPACE, type ManifestPod } from './inpod-manifests.js';

export const WAYPOINT_NAME = 'waypoint';
/** Ports of every echo Service: HTTP, opaque TCP (echo) and gRPC. */
export const ECHO_PORTS = { http: 80, tcp: 9000, grpc: 9090 } as const;
/** Container ports of the echo pods. */
export const ECHO_TARGETS = { http: 8080, tcp: 9000, grpc: 9090 } as const;

export const WP_POD_ROLES = {
  c1: { node: 'node1', sa: 'client', labels: { app: 'client' } },
  c2: { node: 'node1', sa: 'other', labels: { app: 'other' } },
  s1: { node: 'node2', sa: 'server', labels: { app: 'echo', version: 'v1' } },
  s2: { node: 'node2', sa: 'server', labels: { app: 'echo', version: 'v2' } },
  // Istio's waypoint pod: the Gateway name label (its Service selects it), never captured by a node
  // agent, and HBONE-native (istiod marks such pods with networking.istio.io/tunnel=http).
  wp: {
    node: 'node1',
    sa: WAYPOINT_NAME,
    labels: { 'gateway.networking.k8s.io/gateway-name': WAYPOINT_NAME, [ENROLL_LABEL]: 'none', 'networking.istio.io/tunnel': 'http' },
  },
} as const;

export type WpPodName = keyof typeof WP_POD_ROLES;
export const WP_POD_NAMES = Object.keys(WP_POD_ROLES) as WpPodName[];

/** The echo Services: `echo` selects both versions, `echo-v1`/`echo-v2` one each. */
export const ECHO_SERVICES = { echo: {}, 'echo-v1': { version: 'v1' }, 'echo-v2': { version: 'v2' } } as const;
export type EchoService = keyof typeof ECHO_SERVICES;

export interface WaypointMeshAddresses {
  readonly pods: Readonly<Record<WpPodName, ManifestPod>>;
  readonly vips: Readonly<Record<EchoService | 'waypoint', string>>;
}

export const hostnameOf = (svc: string): string => `${svc}.${MESH_NAMESPACE}.svc.cluster.local`;

/** Ambient, and every Service of the namespace uses the waypoint (the namespace label). */
export function namespaceYaml(): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: MESH_NAMESPACE, labels: { [ENROLL_LABEL]: 'ambient', 'istio.io/use-waypoint': WAYPOINT_NAME } },
  });
}

function podObject(name: WpPodName, p: ManifestPod): Record<string, unknown> {
  const role = WP_POD_ROLES[name];
  const server = (role.labels as Record<string, string>).app === 'echo';
  const ports = server
    ? [{ name: 'http', containerPort: ECHO_TARGETS.http }, { name: 'tcp-echo', containerPort: ECHO_TARGETS.tcp }, { name: 'grpc', containerPort: ECHO_TARGETS.grpc }]
    : name === 'wp' ? [{ name: 'mesh', containerPort: 15008 }] : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: MESH_NAMESPACE, labels: { ...role.labels }, annotations: { [NETNS_ANNOTATION]: p.netnsPath } },
    spec: {
      nodeName: role.node,
      serviceAccountName: role.sa,
      containers: [{ name: server ? 'echo' : name === 'wp' ? 'istio-proxy' : 'main', image: 'ambit/pod-server', ...(ports ? { ports } : {}) }],
    },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function podsYaml(a: WaypointMeshAddresses): string {
  return WP_POD_NAMES.map((n) => stringify(podObject(n, a.pods[n]))).join('---\n');
}

export function echoServicesYaml(a: WaypointMeshAddresses): string {
  return (Object.keys(ECHO_SERVICES) as EchoService[])
    .map((name) =>
      stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: MESH_NAMESPACE },
        spec: {
          selector: { app: 'echo', ...ECHO_SERVICES[name] },
          clusterIP: a.vips[name],
          clusterIPs: [a.vips[name]],
          ports: [
            { name: 'http', port: ECHO_PORTS.http, targetPort: ECHO_TARGETS.http },
            { name: 'tcp-echo', port: ECHO_PORTS.tcp, targetPort: ECHO_TARGETS.tcp },
            { name: 'grpc', port: ECHO_PORTS.grpc, targetPort: ECHO_TARGETS.grpc },
          ],
        },
      }),
    )
    .join('---\n');
}

/** The waypoint Gateway (HBONE listener on 15008) and the Service that is its address. */
export function waypointYaml(a: WaypointMeshAddresses): string {
  const gateway = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: WAYPOINT_NAME, namespace: MESH_NAMESPACE, labels: { 'istio.io/waypoint-for': 'service' } },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: WAYPOINT_NAME,
      namespace: MESH_NAMESPACE,
      labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller', 'gateway.networking.k8s.io/gateway-name': WAYPOINT_NAME },
    },
    spec: {
      selector: { 'gateway.networking.k8s.io/gateway-name': WAYPOINT_NAME },
      clusterIP: a.vips.waypoint,
      clusterIPs: [a.vips.waypoint],
      ports: [{ name: 'mesh', port: 15008, targetPort: 15008 }],
    },
  };
  return `${stringify(gateway)}---\n${stringify(service)}`;
}

/** The files of the manifests folder, by name (they replace the in-pod mesh's own). */
export function waypointMeshFiles(a: WaypointMeshAddresses): Record<string, string> {
  return {
    'namespace.yaml': namespaceYaml(),
    'pods.yaml': podsYaml(a),
    'echo-service.yaml': echoServicesYaml(a),
    'waypoint.yaml': waypointYaml(a),
  };
}

/** parentRefs entry for an echo Service (all ports, or one). */
export function serviceParent(name: EchoService, port?: number): Record<string, unknown> {
  return { group: '', kind: 'Service', name, ...(port !== undefined ? { port } : {}) };
}

/** A backendRefs entry. */
export function backend(name: string, port: number, weight?: number): Record<string, unknown> {
  return { name, port, ...(weight !== undefined ? { weight } : {}) };
}

/** An HTTPRoute (or GRPCRoute / TCPRoute by `kind`) of the mesh namespace as YAML. */
export function routeYaml(kind: 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute', name: string, parentRefs: readonly Record<string, unknown>[], rules: readonly Record<string, unknown>[]): string {
  return stringify({
    apiVersion: kind === 'TCPRoute' ? 'gateway.networking.k8s.io/v1alpha2' : 'gateway.networking.k8s.io/v1',
    kind,
    metadata: { name, namespace: MESH_NAMESPACE },
    spec: { parentRefs, rules },
  });
}

/**
 * The L4 policy that makes the echo pods accept only their waypoint: ALLOW with the waypoint's
 * principal as the only source. Enforced by the server pods' node agent (a selector policy).
 */
export function onlyFromWaypointYaml(trustDomain = 'cluster.local'): string {
  return stringify({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'echo-only-from-waypoint', namespace: MESH_NAMESPACE },
    spec: {
      selector: { matchLabels: { app: 'echo' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [`${trustDomain}/ns/${MESH_NAMESPACE}/sa/${WAYPOINT_NAME}`] } }] }],
    },
  });
}
