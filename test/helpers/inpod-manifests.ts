// Kubernetes manifests of the in-pod demo mesh for `ambit control`: namespace `demo`, pods c1, c2
// (node1) and s1, s2 (node2, behind Service echo) carrying nodeName, podIPs and `ambit.dev/netns`.

import { NETNS_ANNOTATION } from '../../src/k8s/index.js';

export const MESH_NAMESPACE = 'demo';
export const ENROLL_LABEL = 'istio.io/dataplane-mode';

/** What the manifests need of a pod of the topology. */
export interface ManifestPod {
  readonly name: string;
  readonly ip: string;
  readonly netnsPath: string;
}

/** The role of each pod: node, service account, app label. examples/mesh uses the same. */
export const POD_ROLES = {
  c1: { node: 'node1', sa: 'client', app: 'client' },
  c2: { node: 'node1', sa: 'other', app: 'other' },
  s1: { node: 'node2', sa: 'server', app: 'echo' },
  s2: { node: 'node2', sa: 'server', app: 'echo' },
} as const;

export type PodName = keyof typeof POD_ROLES;
export const POD_NAMES = Object.keys(POD_ROLES) as PodName[];

export interface MeshPods {
  readonly c1: ManifestPod;
  readonly c2: ManifestPod;
  readonly s1: ManifestPod;
  readonly s2: ManifestPod;
  /** ClusterIP of Service echo. */
  readonly vip: string;
}

/** SPIFFE identity of a service account of the mesh namespace. */
export const spiffeOf = (sa: string): string => `spiffe://cluster.local/ns/${MESH_NAMESPACE}/sa/${sa}`;

/** The Namespace; `ambient` adds the enrollment label (the edit the demo makes). */
export function namespaceYaml(ambient: boolean): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${MESH_NAMESPACE}
${ambient ? `  labels:\n    ${ENROLL_LABEL}: ambient\n` : ''}`;
}

/** One pod as the kubelet would report it running; `optOut` labels it istio.io/dataplane-mode=none. */
export function podYaml(name: PodName, p: ManifestPod, opts: { optOut?: boolean } = {}): string {
  const role = POD_ROLES[name];
  const server = role.app === 'echo';
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${MESH_NAMESPACE}
  labels:
    app: ${role.app}
${opts.optOut ? `    ${ENROLL_LABEL}: none\n` : ''}  annotations:
    ${NETNS_ANNOTATION}: ${p.netnsPath}
spec:
  nodeName: ${role.node}
  serviceAccountName: ${role.sa}
  containers:
  - name: ${server ? 'echo' : 'main'}
    image: ambit/pod-server
${server ? '    ports:\n    - name: http\n      containerPort: 8080\n    - name: tcp-echo\n      containerPort: 9000\n' : ''}status:
  phase: Running
  podIP: ${p.ip}
  podIPs:
  - ip: ${p.ip}
  conditions:
  - type: Ready
    status: "True"
`;
}

/** Every pod, one YAML stream; `optOut` names pods labelled istio.io/dataplane-mode=none. */
export function podsYaml(m: MeshPods, opts: { optOut?: readonly PodName[] } = {}): string {
  return POD_NAMES.map((n) => podYaml(n, m[n], { optOut: opts.optOut?.includes(n) })).join('---\n');
}

export function echoServiceYaml(vip: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: ${MESH_NAMESPACE}
spec:
  selector:
    app: echo
  clusterIP: ${vip}
  clusterIPs: ["${vip}"]
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: tcp-echo
    port: 9000
    targetPort: 9000
`;
}

/** DENY to the echo pods from one service account of the mesh namespace. */
export function denyFromYaml(sa: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-${sa}
  namespace: ${MESH_NAMESPACE}
spec:
  selector:
    matchLabels:
      app: echo
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/${MESH_NAMESPACE}/sa/${sa}"]
`;
}

/** The files of the manifests folder, by name. */
export function meshFiles(m: MeshPods, opts: { ambient: boolean; optOut?: readonly PodName[] }): Record<string, string> {
  return {
    'namespace.yaml': namespaceYaml(opts.ambient),
    'pods.yaml': podsYaml(m, { optOut: opts.optOut }),
    'echo-service.yaml': echoServiceYaml(m.vip),
  };
}

/** The token file of `--ca-token-file`: each node agent's token, bound to its node. */
export function tokenFileYaml(tokens: Readonly<Record<string, string>>, account = 'istio-system/ztunnel'): string {
  return Object.entries(tokens)
    .map(([node, token]) => `${token}: { serviceAccount: ${account}, node: ${node} }\n`)
    .join('');
}
