// The bench mesh in ztunnel's local config format: one client pod on node1 and one server pod on
// node2, both captured in-pod (`netns:`) and speaking HBONE; no services, no policies.

import { workloadYaml, type MeshPod } from '../../test/helpers/inpod-mesh-config.js';

export const CLIENT_SERVICE_ACCOUNT = 'bench-client';
export const SERVER_SERVICE_ACCOUNT = 'bench-server';

/** The YAML for LOCAL_XDS_PATH; node names must match the agents' NODE_NAME. */
export function benchMeshYaml(client: MeshPod, server: MeshPod, nodes = { client: 'node1', server: 'node2' }): string {
  return `workloads:
${workloadYaml(client, nodes.client, CLIENT_SERVICE_ACCOUNT)}${workloadYaml(server, nodes.server, SERVER_SERVICE_ACCOUNT)}services: []
policies: []
`;
}
