// The waypoint demo's Gateway API scenarios: a canary by HTTPRoute weights edited live (90/10 →
// 50/50 → 0/100) and an A/B route on a request header (Istio's traffic-shifting and request-routing tasks).

import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import { batch, batchCommand, countBy, REQUESTS, versionLine, type BatchSpec, type Outcome } from './client-view.js';
import { expect, expectShare } from './demo-checks.js';
import { applyEdits, type Applied } from './manifest-edits.js';
import type { Narrator } from './narration.js';
import { AB_ROUTE, canaryRoute } from './tutorial-manifests.js';
import { describeEchoRoutes } from './waypoint-state.js';

export const ROUTE_FILE = 'echo-route.yaml';

/** Shows an applied edit beside the client's view, then what the waypoint holds and how fast. */
export function showApplied(n: Narrator, a: Applied, right: readonly string[], holds = describeEchoRoutes(a.config)): void {
  n.columns(a.title, a.lines, 'what c1 sees', right);
  n.say(`the waypoint had it ${a.ms} ms after the write; it holds:`);
  for (const l of holds) n.say(`  ${l}`);
}

const waitFor = (want: string) => ({
  until: (c: Parameters<typeof describeEchoRoutes>[0]) => describeEchoRoutes(c).join('\n') === want,
  describe: (c: Parameters<typeof describeEchoRoutes>[0]) => describeEchoRoutes(c).join('; ') || '(no routes)',
});

/** `N answers: v1 ×91, v2 ×9` after checking v2's share. */
async function split(wm: WaypointMesh, v2Share: number, spec: BatchSpec): Promise<{ out: Outcome[]; lines: string[] }> {
  const out = await batch(wm, spec);
  expect(out.every((o) => o.status === 200), `${spec.n} answers 200`, versionLine(out));
  const v = countBy(out, (o) => o.version);
  expectShare(v.get('v2') ?? 0, spec.n, v2Share, `answers from v2 (${versionLine(out)})`);
  expectShare(v.get('v1') ?? 0, spec.n, 1 - v2Share, `answers from v1 (${versionLine(out)})`);
  return { out, lines: [batchCommand(spec), `${spec.n} answers: ${versionLine(out)}`] };
}

export async function canary(n: Narrator, wm: WaypointMesh): Promise<void> {
  const spec: BatchSpec = { path: '/canary', n: REQUESTS.split };
  for (const [v1, v2] of [[90, 10], [50, 50], [0, 100]] as const) {
    const want = `HTTPRoute demo/echo: → echo-v1 ${v1}% + echo-v2 ${v2}%`;
    const a = await applyEdits(wm, [{ file: ROUTE_FILE, yaml: canaryRoute(v1, v2) }], waitFor(want).until, waitFor(want).describe);
    const { lines } = await split(wm, v2 / 100, spec);
    showApplied(n, a, [...lines, v2 === 100 ? 'v2 has all the traffic: the canary is done' : `expected about ${v1}% / ${v2}%`]);
  }
}

export async function headerAb(n: Narrator, wm: WaypointMesh): Promise<void> {
  const want = ['HTTPRoute demo/echo: [end-user=jason] → echo-v2 100%', 'HTTPRoute demo/echo: → echo-v1 100%'].join('\n');
  const a = await applyEdits(wm, [{ file: ROUTE_FILE, yaml: AB_ROUTE }], waitFor(want).until, waitFor(want).describe);
  const jasonSpec: BatchSpec = { path: '/ab', n: REQUESTS.batch, headers: ['end-user: jason'] };
  const othersSpec: BatchSpec = { path: '/ab', n: REQUESTS.batch };
  const asJason = await batch(wm, jasonSpec);
  const others = await batch(wm, othersSpec);
  expect(asJason.every((o) => o.status === 200 && o.version === 'v2'), 'every request with end-user: jason answered by v2', versionLine(asJason));
  expect(others.every((o) => o.status === 200 && o.version === 'v1'), 'every other request answered by v1', versionLine(others));
  showApplied(n, a, [
    batchCommand(jasonSpec),
    `${jasonSpec.n} answers: ${versionLine(asJason)}`,
    '',
    batchCommand(othersSpec),
    `${othersSpec.n} answers: ${versionLine(others)}`,
  ]);
}
