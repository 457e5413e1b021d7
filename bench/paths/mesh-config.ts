// The bench mesh in ztunnel's local config format: one client pod on node1 and one server pod on
// node2, both captured in-pod (`netns:`) and speaking HBONE; no services, no policies.

export interface MeshBenchPod {
  readonly name: string;
  readonly ip: string;
  /** `/var/run/netns/<name>`: the agent enters it to install capture and open listeners. */
  readonly netnsPath: string;
}

export const CLIENT_SERVICE_ACCOUNT = 'bench-client';
export const SERVER_SERVICE_ACCOUNT = 'bench-server';

function workload(p: MeshBenchPod, node: string, serviceAccount: string): string {
  return `- uid: Kubernetes//Pod/default/${p.name}
  name: ${p.name}
  namespace: default
  serviceAccount: ${serviceAccount}
  workloadIps: ["${p.ip}"]
  protocol: HBONE
  node: ${node}
  netns: ${p.netnsPath}
  workloadName: ${p.name}
  canonicalName: ${p.name}
  canonicalRevision: v1
`;
}

/** The YAML for LOCAL_XDS_PATH; node names must match the agents' NODE_NAME. */
export function benchMeshYaml(client: MeshBenchPod, server: MeshBenchPod, nodes = { client: 'node1', server: 'node2' }): string {
  return `workloads:
${workload(client, nodes.client, CLIENT_SERVICE_ACCOUNT)}${workload(server, nodes.server, SERVER_SERVICE_ACCOUNT)}services: []
policies: []
`;
}
