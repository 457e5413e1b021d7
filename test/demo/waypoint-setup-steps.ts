// The waypoint demo's first two steps: the mesh (pods, `ambit control`, two node agents, the JSON echo
// servers v1/v2) and the waypoint (Gateway, its pod running `ambit waypoint`), with a first look at traffic.

import type { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import { WaypointMesh, WAYPOINT_IDENTITY, type WaypointMeshStage } from '../helpers/waypoint-mesh.js';
import { ECHO_SERVICES, WP_POD_NAMES, WP_POD_ROLES, hostnameOf } from '../helpers/waypoint-manifests.js';
import { batch, batchCommand, countBy, REQUESTS, versionLine } from './client-view.js';
import { expect } from './demo-checks.js';
import type { Narrator } from './narration.js';
import { accessLog, waitAccessLog } from './waypoint-state.js';

const STEP_2 = 'The waypoint: a Gateway of class istio-waypoint and its pod running `ambit waypoint`';

/** Starts everything, narrating each stage; `onMesh` gets the mesh as soon as it exists (Ctrl-C). */
export async function startMesh(n: Narrator, onMesh: (m: CpInpodMesh) => void): Promise<WaypointMesh> {
  n.step('The mesh: pod network namespaces on a bridge, `ambit control` on a manifests folder, two node agents');
  const onStage = (stage: WaypointMeshStage, mesh: CpInpodMesh): void => {
    onMesh(mesh);
    const short = (p: string): string => p.replace(mesh.dir, '$DIR');
    if (stage === 'topology') {
      n.say(`DIR=${mesh.dir}`);
      n.say(`bridge ${mesh.topo.bridge} (${mesh.topo.gatewayIp}); namespace demo (ambient, istio.io/use-waypoint=waypoint):`);
      for (const name of WP_POD_NAMES) {
        const p = mesh.topo.pods.get(name)!;
        const r = WP_POD_ROLES[name];
        const labels = Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(' ');
        n.say(`  ${name.padEnd(3)} ${p.ip.padEnd(12)} netns ${p.netnsName.padEnd(20)} ${r.node}, sa ${r.sa.padEnd(8)} ${labels}`);
      }
      const vips = (Object.keys(ECHO_SERVICES) as Array<keyof typeof ECHO_SERVICES>).map((s) => `${s} ${mesh.topo.vip(s === 'echo' ? 10 : s === 'echo-v1' ? 11 : 12)}`);
      n.say(`Services (port 80 → 8080): ${vips.join(', ')}; echo selects both versions`);
      n.note('(no DNS in the pods: `http://echo/...` below is curl to the VIP of echo)');
    } else if (stage === 'control-plane') {
      const cp = mesh.cp!;
      n.say(`$ ambit ${cp.args.map(short).join(' ')}`);
      n.say(`pid ${cp.pid}: xDS + CA on ${cp.tlsAddress}; it translates every file of $DIR/manifests and pushes on each change`);
    } else if (stage === 'agents') {
      for (const node of ['node1', 'node2'] as const) n.say(`ambit node (${node}): pid ${mesh.agent(node).pid}, ready`);
    } else if (stage === 'servers') {
      n.say('echo servers: s1 answers as v1, s2 as v2 (JSON of what they received, header x-version; one log line per request)');
      n.step(STEP_2);
    }
  };
  const wm = await WaypointMesh.start({ onStage });
  return wm;
}

export async function showWaypoint(n: Narrator, wm: WaypointMesh): Promise<void> {
  const yaml = wm.mesh.manifests.read('waypoint.yaml');
  const gateway = yaml.split('---')[0]!.trimEnd().split('\n');
  const dump = await wm.mesh.agent('node1').configDump();
  const svc = (dump.services as Array<{ hostname: string; waypoint?: { destination?: { hostname?: string; address?: string }; hboneMtlsPort?: number } }>).find((s) => s.hostname === hostnameOf('echo'));
  const via = svc?.waypoint;
  expect(via?.destination?.hostname === hostnameOf('waypoint'), `node1 to send echo's traffic to ${hostnameOf('waypoint')}`, JSON.stringify(via ?? null));
  n.columns('manifests/waypoint.yaml (the Gateway; its Service follows)', gateway, 'what it does', [
    `pod wp (${wm.ip('wp')}): ambit waypoint, pid ${wm.waypoint.pid}`,
    `identity ${WAYPOINT_IDENTITY}`,
    'xDS and its certificate from ambit control (its own token)',
    `node1's view of Service echo: waypoint ${via?.destination?.hostname ?? '?'}`,
    `  (HBONE port ${via?.hboneMtlsPort ?? '?'}): the agents send echo's traffic there`,
  ]);
  const from = wm.mark();
  const log = wm.waypoint.lines.length;
  const spec = { path: '/hello', n: REQUESTS.batch };
  const out = await batch(wm, spec);
  const seen = wm.seenSince(from, '/hello');
  const viaWaypoint = seen.every((s) => s.client === wm.ip('wp'));
  const versions = countBy(out, (o) => o.version);
  expect(out.every((o) => o.status === 200), `${spec.n} answers 200`, versionLine(out));
  expect(versions.has('v1') && versions.has('v2'), 'both versions to answer (no route yet: the Service itself, both pods)', versionLine(out));
  expect(seen.length === spec.n && viaWaypoint, `the echo pods to see ${spec.n} requests from the waypoint ${wm.ip('wp')}`, `${seen.length} from ${[...new Set(seen.map((s) => s.client))].join(', ')}`);
  await waitAccessLog(wm, log, '/hello', spec.n);
  n.columns('no route yet', ['(no HTTPRoute or VirtualService for echo:', ' the waypoint forwards to the Service)'], 'what c1 sees', [
    batchCommand(spec),
    `${spec.n} answers: ${versionLine(out)}`,
    `the pods saw every request from ${wm.ip('wp')} (the waypoint),`,
    `  which logged ${accessLog(wm, log, '/hello').length} access log lines`,
  ]);
  n.note(`HBONE: c1 → node1 agent → wp:15008 (c1's identity) → waypoint → s1/s2's agent:15008 (the waypoint's identity)`);
}
