// The in-pod test mesh in ztunnel's local config format: pods c1, c2 on node1; s1, s2 on node2
// (both endpoints of service echo with a VIP); `ext` is outside the mesh (no workload entry).

export interface MeshPod {
  readonly name: string;
  readonly ip: string;
  /** When set the workload is dual-stack (both addresses in workloadIps), as on a dual-stack cluster. */
  readonly ip6?: string;
  readonly netnsPath: string;
}

export interface InpodMesh {
  readonly c1: MeshPod;
  readonly c2: MeshPod;
  readonly s1: MeshPod;
  readonly s2: MeshPod;
  readonly ext: MeshPod;
  readonly vip: string;
}

/** One in-pod HBONE workload entry (`netns:` set) of the local config; `services` is appended verbatim. */
export function workloadYaml(p: MeshPod, node: string, sa: string, services = ''): string {
  return `- uid: Kubernetes//Pod/default/${p.name}
  name: ${p.name}
  namespace: default
  serviceAccount: ${sa}
  workloadIps: [${[p.ip, p.ip6].filter((a) => a !== undefined).map((a) => `"${a}"`).join(', ')}]
  protocol: HBONE
  node: ${node}
  netns: ${p.netnsPath}
  workloadName: ${p.name}
  canonicalName: ${p.name}
  canonicalRevision: v1
${services}`;
}

const ECHO_SVC = `  services:
    "default/echo.default.svc.cluster.local":
      80: 8080
      9000: 9000
`;

/** `policies` are appended verbatim as list items under `policies:`. */
export function inpodMeshYaml(m: InpodMesh, policies = ''): string {
  return `workloads:
${workloadYaml(m.c1, 'node1', 'client')}${workloadYaml(m.c2, 'node1', 'other')}${workloadYaml(m.s1, 'node2', 'server', ECHO_SVC)}${workloadYaml(m.s2, 'node2', 'server', ECHO_SVC)}services:
- name: echo
  namespace: default
  hostname: echo.default.svc.cluster.local
  vips: ["/${m.vip}"]
  ports:
    80: 8080
    9000: 9000
policies:${policies ? '\n' + policies : ' []\n'}`;
}
