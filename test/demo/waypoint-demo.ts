// `npm run demo:waypoint`: Istio's traffic-management and security tutorials against `ambit waypoint`,
// each manifest beside what the client pod sees; every step checks its outcome and fails loudly.

import type { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import type { Narrator } from './narration.js';
import { runDemo } from './demo-runner.js';
import { showWaypoint, startMesh } from './waypoint-setup-steps.js';
import { canary, headerAb } from './gateway-api-steps.js';
import { mirroring, requestRouting, trafficShifting } from './istio-routing-steps.js';
import { circuitBreaking, faultInjection, requestTimeouts, retries } from './istio-resilience-steps.js';
import { authorization, jwt } from './istio-security-steps.js';

const PREREQUISITES = {
  rootReason:
    'root: the demo creates network namespaces (one per pod, the waypoint\'s included), veth pairs, a bridge and ' +
    'iptables rules inside the pods, which needs CAP_NET_ADMIN and CAP_SYS_ADMIN. Run it as root: `sudo npm run demo:waypoint`. ' +
    'Without root, `ambit control --manifests examples/mesh` and `ambit waypoint --manifests examples/mesh` show the ' +
    'translation of the example HTTPRoute (examples/mesh/README.md).',
  tools: ['ip', 'iptables', 'nsenter', 'curl', 'hey'],
  aptPackages: 'iproute2 iptables util-linux curl hey',
};

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

const d: Demo = {};
process.exitCode = await runDemo({
  command: 'npm run demo:waypoint',
  name: 'waypoint demo',
  prerequisites: PREREQUISITES,
  steps: 2 + SCENARIOS.length,
  run: (n) => run(d, n),
  close: () => close(d),
  doneTitle: 'Waypoint demo complete',
  doneDetail: 'every step behaved as the tutorials say; cleaning up',
});
