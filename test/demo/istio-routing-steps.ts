// The waypoint demo's VirtualService routing scenarios, as Istio's tasks run them: request routing
// (all to v1, then end-user: jason to v2), traffic shifting by subset weights, and mirroring to v2.

import type { WaypointConfig } from '../../src/waypoint/index.js';
import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import { batch, batchCommand, countBy, REQUESTS, versionLine, type BatchSpec } from './client-view.js';
import { expect, expectShare } from './demo-checks.js';
import { applyEdits, type ManifestEdit } from './manifest-edits.js';
import type { Narrator } from './narration.js';
import { ROUTE_FILE, showApplied } from './gateway-api-steps.js';
import { DESTINATION_RULE, VS_ALL_V1, VS_JASON, VS_MIRROR, vsWeights } from './tutorial-manifests.js';
import { cluster, describeCluster, describeEchoRoutes } from './waypoint-state.js';

export const VS_FILE = 'echo-vs.yaml';
export const DR_FILE = 'echo-dr.yaml';
export const SUBSET_V1 = 'outbound|80|v1|echo.demo.svc.cluster.local';

/** Applies `edits` and waits until the routes of echo:80 read `want` (one line per route) and `also` holds. */
export function applyRoutes(wm: WaypointMesh, edits: readonly ManifestEdit[], want: readonly string[], also: (c: WaypointConfig) => boolean = () => true) {
  return applyEdits(
    wm,
    edits,
    (c) => describeEchoRoutes(c).join('\n') === want.join('\n') && also(c),
    (c) => `${describeEchoRoutes(c).join('; ') || '(no routes)'}; ${SUBSET_V1}: ${describeCluster(cluster(c, SUBSET_V1))}`,
  );
}

const VS = 'VirtualService demo/echo:';

export async function requestRouting(n: Narrator, wm: WaypointMesh): Promise<void> {
  // A VirtualService owns its Service: the HTTPRoute goes first (Istio does not mix them on one host).
  const allV1 = await applyRoutes(
    wm,
    [{ file: ROUTE_FILE, yaml: undefined }, { file: DR_FILE, yaml: DESTINATION_RULE }, { file: VS_FILE, yaml: VS_ALL_V1 }],
    [`${VS} → echo/v1 100%`],
  );
  const spec: BatchSpec = { path: '/productpage', n: REQUESTS.batch };
  const out = await batch(wm, spec);
  expect(out.every((o) => o.status === 200 && o.version === 'v1'), 'every answer from subset v1', versionLine(out));
  showApplied(n, allV1, [batchCommand(spec), `${spec.n} answers: ${versionLine(out)}`, '', 'subset v1 = the pods of echo labelled version=v1']);

  const jason = await applyRoutes(wm, [{ file: VS_FILE, yaml: VS_JASON }], [`${VS} [end-user=jason] → echo/v2 100%`, `${VS} → echo/v1 100%`]);
  const jasonSpec: BatchSpec = { ...spec, headers: ['end-user: jason'] };
  const asJason = await batch(wm, jasonSpec);
  const others = await batch(wm, spec);
  expect(asJason.every((o) => o.status === 200 && o.version === 'v2'), 'jason always on v2', versionLine(asJason));
  expect(others.every((o) => o.status === 200 && o.version === 'v1'), 'everyone else on v1', versionLine(others));
  showApplied(n, jason, [batchCommand(jasonSpec), `${spec.n} answers: ${versionLine(asJason)}`, '', batchCommand(spec), `${spec.n} answers: ${versionLine(others)}`]);
}

export async function trafficShifting(n: Narrator, wm: WaypointMesh): Promise<void> {
  const a = await applyRoutes(wm, [{ file: VS_FILE, yaml: vsWeights(50, 50) }], [`${VS} → echo/v1 50% + echo/v2 50%`]);
  const spec: BatchSpec = { path: '/productpage', n: REQUESTS.split };
  const out = await batch(wm, spec);
  const v = countBy(out, (o) => o.version);
  expect(out.every((o) => o.status === 200), 'every answer 200', versionLine(out));
  expectShare(v.get('v2') ?? 0, spec.n, 0.5, `answers from v2 (${versionLine(out)})`);
  showApplied(n, a, [batchCommand(spec), `${spec.n} answers: ${versionLine(out)}`, 'expected about 50% / 50%']);
}

export async function mirroring(n: Narrator, wm: WaypointMesh): Promise<void> {
  // The circuit-breaking DestinationRule goes back to plain subsets in the same edit.
  const a = await applyRoutes(
    wm,
    [{ file: DR_FILE, yaml: DESTINATION_RULE }, { file: VS_FILE, yaml: VS_MIRROR }],
    [`${VS} → echo/v1 100%, mirror echo/v2 100%`],
    (c) => cluster(c, SUBSET_V1)?.circuitBreaker === undefined,
  );
  const from = wm.mark();
  const spec: BatchSpec = { path: '/mirror', n: REQUESTS.batch };
  const out = await batch(wm, spec);
  expect(out.every((o) => o.status === 200 && o.version === 'v1'), 'every answer from v1 (a mirror\'s answer is dropped)', versionLine(out));
  // Copies are sent alongside and may land just after the client's answers.
  const copies = await wm.waitSeen(from, (s) => s.pod === 's2' && s.url.startsWith('/mirror'), spec.n, 10_000).catch(() => wm.seenSince(from, '/mirror').filter((s) => s.pod === 's2'));
  const originals = wm.seenSince(from, '/mirror').filter((s) => s.pod === 's1');
  expect(copies.length === spec.n && originals.length === spec.n, `v1 and v2 each to receive ${spec.n} requests`, `v1 ${originals.length}, v2 ${copies.length}`);
  const copy = copies[0]!;
  showApplied(n, a, [
    batchCommand(spec),
    `${spec.n} answers: ${versionLine(out)}`,
    '',
    'what the echo pods logged:',
    `  s1 (v1): ${originals.length} requests`,
    `  s2 (v2): ${copies.length} copies, e.g. ${copy.method} ${copy.url} Host: ${copy.headers.host?.[0] ?? '?'}`,
    '  (no -shadow suffix: Istio turns off Envoy\'s host rewrite)',
  ]);
}
