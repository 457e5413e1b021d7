// `npm run demo:waypoint`: Istio's traffic-management and security tutorials against `ambit waypoint`,
// each manifest beside what the client pod sees; every step checks its outcome and fails loudly.

import { spawnSync } from 'node:child_process';
import { loadNativeSockets } from '../../src/sockets/index.js';
import type { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import { Narrator, bold } from './narration.js';
import { showWaypoint, startMesh } from './waypoint-setup-steps.js';
import { canary, headerAb } from './gateway-api-steps.js';
import { mirroring, requestRouting, trafficShifting } from './istio-routing-steps.js';
import { circuitBreaking, faultInjection, requestTimeouts, retries } from './istio-resilience-steps.js';
import { authorization, jwt } from './istio-security-steps.js';

const TOOLS = ['ip', 'iptables', 'nsenter', 'curl', 'hey'];

/** Every reason the demo cannot run here, each with what to do about it. */
function prerequisites(): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    missing.push(
      'root: the demo creates network namespaces (one per pod, the waypoint\'s included), veth pairs, a bridge and ' +
        'iptables rules inside the pods, which needs CAP_NET_ADMIN and CAP_SYS_ADMIN. Run it as root: `sudo npm run demo:waypoint`. ' +
        'Without root, `ambit control --manifests examples/mesh` and `ambit waypoint --manifests examples/mesh` show the ' +
        'translation of the example HTTPRoute (examples/mesh/README.md).',
    );
  }
  for (const tool of TOOLS) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      missing.push(`${tool}: not installed (Debian: apt-get install iproute2 iptables util-linux curl hey)`);
    }
  }
  const native = loadNativeSockets();
  if (!native.ok) missing.push(`native socket addon: ${native.reason}`);
  return missing;
}

/** What exists so far, for the cleanup (the mesh as soon as its topology does). */
interface Demo {
  mesh?: CpInpodMesh;
  wm?: WaypointMesh;
}

/** The steps after start-up, in order: [title, step]. */
const SCENARIOS: ReadonlyArray<readonly [string, (n: Narrator, wm: WaypointMesh) => Promise<void>]> = [
  ['Canary with an HTTPRoute: weights 90/10 → 50/50 → 0/100, edited live', canary],
  ['A/B on a header with an HTTPRoute: end-user: jason → v2, everyone else → v1', headerAb],
  ['Request routing: VirtualService + DestinationRule subsets, all to v1, then jason to v2', requestRouting],
  ['Traffic shifting: VirtualService weights 50/50 between the subsets', trafficShifting],
  ['Fault injection: a 2 s delay for jason, HTTP 500 for half of everyone else', faultInjection],
  ['Request timeouts: timeout 0.5s against a backend that needs 2 s', requestTimeouts],
  ['Retries: one pod answers 503; no retries, then retries: attempts 3, retryOn 5xx', retries],
  ['Circuit breaking: DestinationRule connectionPool of one connection, one pending request', circuitBreaking],
  ['Mirroring: every request to v1, a copy of each to v2', mirroring],
  ['Authorization at the waypoint: ALLOW by principal, method and path (targetRefs: Service)', authorization],
  ['JWT: RequestAuthentication (keys inline) + AuthorizationPolicy on requestPrincipals and a claim', jwt],
];

async function run(d: Demo, n: Narrator): Promise<void> {
  d.wm = await startMesh(n, (m) => (d.mesh = m));
  await showWaypoint(n, d.wm);
  for (const [title, step] of SCENARIOS) {
    n.step(title);
    await step(n, d.wm);
  }
}

async function close(d: Demo): Promise<void> {
  if (d.wm) await d.wm.close();
  else await d.mesh?.close();
}

async function main(): Promise<number> {
  const missing = prerequisites();
  if (missing.length > 0) {
    console.error('npm run demo:waypoint cannot run on this machine yet:');
    for (const m of missing) console.error(`  - ${m}`);
    return 1;
  }
  const n = new Narrator(2 + SCENARIOS.length);
  const d: Demo = {};
  // Ctrl-C: stop the processes gracefully and remove the topology before exiting.
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void close(d).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(d, n);
    console.log(`\n${bold('Waypoint demo complete')} in ${n.elapsed()}: every step behaved as the tutorials say; cleaning up`);
    return 0;
  } catch (err) {
    // After Ctrl-C the steps fail as their processes go away: only the cleanup matters then.
    if (!interrupted) console.error(`\nwaypoint demo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    if (!interrupted) await close(d);
  }
}

process.exitCode = await main();
