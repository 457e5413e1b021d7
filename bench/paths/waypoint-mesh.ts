// The waypoint path's mesh, described twice and kept consistent: for the node agents in ztunnel's
// local config format, and for `ambit waypoint` as the Kubernetes objects its manifests mode translates.
//
// Invariant: both descriptions name the same pods (IPs, nodes, service accounts ⇒ SPIFFE identities),
// the same Service (VIP, port, target port) and the same waypoint (identity, pod IP, HBONE 15008).

import { workloadYaml, type MeshPod } from '../../test/helpers/inpod-mesh-config.js';
import { CLIENT_SERVICE_ACCOUNT, SERVER_SERVICE_ACCOUNT } from './mesh-config.js';
import { APP_HTTP_PORT } from './server-app.js';

/** The namespace of every object (workloadYaml's: `default`). */
export const WAYPOINT_NAMESPACE = 'default';
/** The Gateway of class istio-waypoint, its Service and its service account share this name (Istio's default). */
export const WAYPOINT_NAME = 'waypoint';
/** HBONE port of the waypoint (Istio's, fixed in the GatewayAddress). */
export const WAYPOINT_HBONE_PORT = 15008;
/** The Service the client dials through its VIP; it uses the waypoint. */
export const BENCH_SERVICE = 'bench';
/** The Service port the client dials (mapped to the app's APP_HTTP_PORT); named `http` so the waypoint parses HTTP. */
export const BENCH_SERVICE_PORT = 80;
/** The node the waypoint pod is on: one without an agent, so nothing captures the waypoint pod. */
export const WAYPOINT_NODE = 'node3';

export interface WaypointMesh {
  readonly client: MeshPod;
  readonly server: MeshPod;
  /** The waypoint pod (its netns is not used: the pod is not captured). */
  readonly waypoint: MeshPod;
  /** ClusterIP of the bench Service: what the client dials. */
  readonly vip: string;
  /** ClusterIP of the waypoint's own Service (its address in the Gateway translation). */
  readonly waypointVip: string;
  /** Node names of the two agents; must match their NODE_NAME. */
  readonly nodes?: { readonly client: string; readonly server: string };
}

/** `spiffe://cluster.local/ns/default/sa/waypoint`: what the agents verify on the waypoint's certificate. */
export function waypointIdentity(trustDomain = 'cluster.local'): string {
  return `spiffe://${trustDomain}/ns/${WAYPOINT_NAMESPACE}/sa/${WAYPOINT_NAME}`;
}

export const benchServiceHostname = (): string => `${BENCH_SERVICE}.${WAYPOINT_NAMESPACE}.svc.cluster.local`;

/**
 * The agents' local config: client and server captured in-pod (`netns:`); the server an endpoint of
 * the bench Service, whose `waypoint` is the waypoint pod's IP; the waypoint pod an HBONE workload
 * with no netns on a node without agent (ztunnel's GatewayAddress `"/<ip>"` resolves to it, and its
 * identity is the SAN the client agent expects).
 */
export function waypointAgentsYaml(m: WaypointMesh): string {
  const nodes = m.nodes ?? { client: 'node1', server: 'node2' };
  const host = benchServiceHostname();
  const endpointOf = `  services:
    "${WAYPOINT_NAMESPACE}/${host}":
      ${BENCH_SERVICE_PORT}: ${APP_HTTP_PORT}
`;
  const wp = m.waypoint;
  return `workloads:
${workloadYaml(m.client, nodes.client, CLIENT_SERVICE_ACCOUNT)}${workloadYaml(m.server, nodes.server, SERVER_SERVICE_ACCOUNT, endpointOf)}- uid: Kubernetes//Pod/${WAYPOINT_NAMESPACE}/${wp.name}
  name: ${wp.name}
  namespace: ${WAYPOINT_NAMESPACE}
  serviceAccount: ${WAYPOINT_NAME}
  workloadIps: ["${wp.ip}"]
  protocol: HBONE
  node: ${WAYPOINT_NODE}
  workloadName: ${WAYPOINT_NAME}
  canonicalName: ${WAYPOINT_NAME}
  canonicalRevision: v1
services:
- name: ${BENCH_SERVICE}
  namespace: ${WAYPOINT_NAMESPACE}
  hostname: ${host}
  vips: ["/${m.vip}"]
  ports:
    ${BENCH_SERVICE_PORT}: ${APP_HTTP_PORT}
  waypoint:
    destination: "/${wp.ip}"
    hboneMtlsPort: ${WAYPOINT_HBONE_PORT}
policies: []
`;
}

function pod(p: MeshPod, node: string, serviceAccount: string, labels: Record<string, string>): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${p.name}
  namespace: ${WAYPOINT_NAMESPACE}
  labels:
${Object.entries(labels).map(([k, v]) => `    ${k}: ${v}\n`).join('')}spec:
  nodeName: ${node}
  serviceAccountName: ${serviceAccount}
  containers:
  - name: main
    image: ambit/bench
status:
  phase: Running
  podIP: ${p.ip}
  podIPs:
  - ip: ${p.ip}
  conditions:
  - type: Ready
    status: "True"
`;
}

/**
 * The waypoint's manifests folder (file name → YAML): the ambient Namespace, the three Pods as the
 * kubelet would report them, the bench Service (clusterIP = the VIP, `istio.io/use-waypoint`), and
 * the Gateway of class istio-waypoint with its Service. No route: the waypoint forwards to the
 * Service's own endpoints (GAMMA: no routes ⇒ the service's default cluster).
 */
export function waypointManifests(m: WaypointMesh): Record<string, string> {
  const nodes = m.nodes ?? { client: 'node1', server: 'node2' };
  const gatewayLabel = 'gateway.networking.k8s.io/gateway-name';
  return {
    'namespace.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: ${WAYPOINT_NAMESPACE}
  labels:
    istio.io/dataplane-mode: ambient
`,
    'pods.yaml': [
      pod(m.client, nodes.client, CLIENT_SERVICE_ACCOUNT, { app: 'bench-client' }),
      pod(m.server, nodes.server, SERVER_SERVICE_ACCOUNT, { app: 'bench-server' }),
      pod(m.waypoint, WAYPOINT_NODE, WAYPOINT_NAME, { [gatewayLabel]: WAYPOINT_NAME }),
    ].join('---\n'),
    'service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: ${BENCH_SERVICE}
  namespace: ${WAYPOINT_NAMESPACE}
  labels:
    istio.io/use-waypoint: ${WAYPOINT_NAME}
spec:
  selector:
    app: bench-server
  clusterIP: ${m.vip}
  clusterIPs: ["${m.vip}"]
  ports:
  - name: http
    port: ${BENCH_SERVICE_PORT}
    targetPort: ${APP_HTTP_PORT}
`,
    'waypoint.yaml': `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${WAYPOINT_NAME}
  namespace: ${WAYPOINT_NAMESPACE}
  labels:
    istio.io/waypoint-for: service
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: ${WAYPOINT_HBONE_PORT}
    protocol: HBONE
---
apiVersion: v1
kind: Service
metadata:
  name: ${WAYPOINT_NAME}
  namespace: ${WAYPOINT_NAMESPACE}
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
    ${gatewayLabel}: ${WAYPOINT_NAME}
spec:
  selector:
    ${gatewayLabel}: ${WAYPOINT_NAME}
  clusterIP: ${m.waypointVip}
  clusterIPs: ["${m.waypointVip}"]
  ports:
  - name: mesh
    port: ${WAYPOINT_HBONE_PORT}
    targetPort: ${WAYPOINT_HBONE_PORT}
`,
  };
}
