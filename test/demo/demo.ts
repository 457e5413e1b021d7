// `npm run demo`: a user's day with `ambit control`, narrated. Pod netns on a bridge, a manifests
// folder, the control plane and two node agents as processes; label, policy and unlabel edits live.

import { spawnSync } from 'node:child_process';
import { loadNativeSockets } from '../../src/sockets/index.js';
import { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import { Narrator, bold } from './narration.js';
import * as steps from './demo-steps.js';

const TOOLS = ['ip', 'iptables', 'nsenter', 'curl', 'iperf3', 'tcpdump'];

/** Every reason the demo cannot run here, each with what to do about it. */
function prerequisites(): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    missing.push(
      'root: the demo creates network namespaces (one per pod), veth pairs, a bridge and iptables rules inside the pods, ' +
        'and watches a pod\'s veth with tcpdump, which needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN. Run it as root: `sudo npm run demo`. ' +
        'Without root, `npm start` runs one agent on the embedded example (SOCKS5 on 127.0.0.1:15080), and ' +
        '`ambit control --manifests examples/mesh` runs the control plane on the example manifests (examples/mesh/README.md).',
    );
  }
  for (const tool of TOOLS) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      missing.push(`${tool}: not installed (Debian: apt-get install iproute2 iptables util-linux curl iperf3 tcpdump)`);
    }
  }
  const native = loadNativeSockets();
  if (!native.ok) missing.push(`native socket addon: ${native.reason}`);
  return missing;
}

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

async function main(): Promise<number> {
  const missing = prerequisites();
  if (missing.length > 0) {
    console.error('npm run demo cannot run on this machine yet:');
    for (const m of missing) console.error(`  - ${m}`);
    return 1;
  }
  const n = new Narrator(8);
  const d: Demo = {};
  // Ctrl-C: stop the processes gracefully and remove the topology before exiting.
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void (d.mesh?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(d, n);
    console.log(`\n${bold('Demo complete')} in ${n.elapsed()}: cleaning up (processes stopped; namespaces, veths, bridge, rules and files removed)`);
    return 0;
  } catch (err) {
    // After Ctrl-C the steps fail as their processes go away: only the cleanup matters then.
    if (!interrupted) console.error(`\ndemo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    if (!interrupted) await d.mesh?.close();
  }
}

process.exitCode = await main();
