// A two-node mesh in ztunnel's local config format, on a private loopback prefix: node "a" has two
// client workloads, node "b" an echo workload behind service echo.default.svc.cluster.local.

export interface MeshAddresses {
  readonly prefix: string;
  readonly nodeA: string;
  readonly nodeB: string;
  readonly client: string;
  readonly client2: string;
  readonly echo: string;
  readonly tcpEcho: string;
  readonly vip: string;
  readonly echoPort: number;
}

export function meshAddresses(prefix: string, echoPort = 8080): MeshAddresses {
  return {
    prefix,
    nodeA: `${prefix}.1`,
    nodeB: `${prefix}.2`,
    client: `${prefix}.11`,
    client2: `${prefix}.12`,
    echo: `${prefix}.21`,
    tcpEcho: `${prefix}.22`,
    vip: `${prefix}.100`,
    echoPort,
  };
}

export const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
export const CLIENT2_ID = 'spiffe://cluster.local/ns/default/sa/other';
export const ECHO_ID = 'spiffe://cluster.local/ns/default/sa/echo';

/** The YAML; `policies` is appended verbatim under `policies:` (already indented list items). */
export function meshYaml(a: MeshAddresses, policies = ''): string {
  return `workloads:
- uid: Kubernetes//v1/Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["${a.client}"]
  protocol: HBONE
  node: a
  workloadName: client
  canonicalName: client
  canonicalRevision: v1
- uid: Kubernetes//v1/Pod/default/client2
  name: client2
  namespace: default
  serviceAccount: other
  workloadIps: ["${a.client2}"]
  protocol: HBONE
  node: a
  workloadName: client2
  canonicalName: client2
- uid: Kubernetes//v1/Pod/default/echo
  name: echo
  namespace: default
  serviceAccount: echo
  workloadIps: ["${a.echo}"]
  protocol: HBONE
  node: b
  workloadName: echo
  canonicalName: echo
  canonicalRevision: v2
  services:
    "default/echo.default.svc.cluster.local":
      80: ${a.echoPort}
- uid: Kubernetes//v1/Pod/default/tcp-echo
  name: tcp-echo
  namespace: default
  workloadIps: ["${a.tcpEcho}"]
  protocol: TCP
  node: b
services:
- name: echo
  namespace: default
  hostname: echo.default.svc.cluster.local
  vips: ["/${a.vip}"]
  ports:
    80: ${a.echoPort}
policies:
${policies || '[]'}
`.replace('policies:\n[]', 'policies: []');
}
