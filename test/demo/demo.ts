// `npm run demo`: a user's day with `ambit control`, narrated. Pod netns on a bridge, a manifests
// folder, the control plane and two node agents as processes; label, policy and unlabel edits live.

import { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import type { Narrator } from './narration.js';
import { runDemo } from './demo-runner.js';
import * as steps from './demo-steps.js';

const PREREQUISITES = {
  rootReason:
    'root: the demo creates network namespaces (one per pod), veth pairs, a bridge and iptables rules inside the pods, ' +
    'and watches a pod\'s veth with tcpdump, which needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN. Run it as root: `sudo npm run demo`. ' +
    'Without root, `npm start` runs one agent on the embedded example (SOCKS5 on 127.0.0.1:15080), and ' +
    '`ambit control --manifests examples/mesh` runs the control plane on the example manifests (examples/mesh/README.md).',
  tools: ['ip', 'iptables', 'nsenter', 'curl', 'iperf3', 'tcpdump'],
  aptPackages: 'iproute2 iptables util-linux curl iperf3 tcpdump',
};

interface Demo {
  mesh?: CpInpodMesh;
}

async function run(d: Demo, n: Narrator): Promise<void> {
  n.step('Building the topology: one bridge, four pod network namespaces on two "nodes"');
  const mesh = await CpInpodMesh.create({ ambient: false });
  d.mesh = mesh;
  steps.describeTopology(n, mesh);

  n.step('The manifests folder, and the control plane on it (`ambit control`, the istiod role)');
  await steps.startControlPlane(n, mesh);

  n.step('Two node agents (`ambit node`): xDS clients of the control plane, certificates from its CA');
  await steps.startAgents(n, mesh);

  n.step('(a) The namespace has no ambient label: the pods are not captured');
  await steps.notCaptured(n, mesh);

  n.step('(b) Label the namespace istio.io/dataplane-mode=ambient: captured live, mutual TLS');
  const metricsBefore = await steps.agentMetrics(mesh);
  await steps.enroll(n, mesh);

  n.step(`iperf3 from c1 to s1 for ${steps.IPERF_SECONDS}s through the mesh (HBONE between the nodes)`);
  await steps.iperf(n, mesh);

  n.step('(c) An AuthorizationPolicy as a manifest: DENY from service account client');
  await steps.policy(n, mesh);
  await steps.movedMetrics(n, mesh, metricsBefore);

  n.step('(d) Remove the label: the pods leave the mesh, no restarts');
  await steps.unenroll(n, mesh);
}

const d: Demo = {};
process.exitCode = await runDemo({
  command: 'npm run demo',
  name: 'demo',
  prerequisites: PREREQUISITES,
  steps: 8,
  run: (n) => run(d, n),
  close: async () => d.mesh?.close(),
  doneTitle: 'Demo complete',
  doneDetail: 'cleaning up (processes stopped; namespaces, veths, bridge, rules and files removed)',
});
