// The waypoint demo's resilience scenarios, after Istio's tasks: fault injection (a delay for jason,
// an abort for half of the rest), request timeouts, retries around a failing pod, circuit breaking.

import { metricSum } from '../helpers/prometheus-text.js';
import type { WaypointMesh } from '../helpers/waypoint-mesh.js';
import { batch, batchCommand, countBy, fmtMs, heyRun, REQUESTS, statusLine, timingLine, versionLine, type BatchSpec } from './client-view.js';
import { expect, expectShare } from './demo-checks.js';
import { applyEdits } from './manifest-edits.js';
import type { Narrator } from './narration.js';
import { showApplied } from './gateway-api-steps.js';
import { applyRoutes, DR_FILE, VS_FILE } from './istio-routing-steps.js';
import { DESTINATION_RULE_CIRCUIT_BREAKER, VS_FAULTS, VS_NO_RETRIES, VS_RETRIES, VS_TIMEOUT } from './tutorial-manifests.js';
import { cluster, describeCluster, describeEchoRoutes, waitAccessLog } from './waypoint-state.js';

const VS = 'VirtualService demo/echo:';
/** The access log's response flags, counted: `- ×20, FI ×20`. */
const flagLine = (lines: ReadonlyArray<Record<string, unknown>>): string =>
  [...countBy(lines, (l) => `${String(l.response_code)} ${String(l.response_flags)}`)].map(([k, v]) => `${k} ×${v}`).join(', ');

export async function faultInjection(n: Narrator, wm: WaypointMesh): Promise<void> {
  const a = await applyRoutes(wm, [{ file: VS_FILE, yaml: VS_FAULTS }], [
    `${VS} [end-user=jason] → echo/v1 100%, delay 2000 ms for 100%`,
    `${VS} → echo/v1 100%, abort 500 for 50%`,
  ]);
  const log = wm.waypoint.lines.length;
  const jasonSpec: BatchSpec = { path: '/ratings', n: 2, headers: ['end-user: jason'] };
  const asJason = await batch(wm, jasonSpec);
  expect(asJason.every((o) => o.status === 200 && o.ms >= 1900 && o.ms < 5000), "jason's requests answered 200 after the 2 s delay", asJason.map((o) => `${o.status} in ${fmtMs(o.ms)}`).join(', '));
  const spec: BatchSpec = { path: '/ratings', n: REQUESTS.half };
  const others = await batch(wm, spec);
  const codes = countBy(others, (o) => o.status);
  expect([...codes.keys()].every((k) => k === '200' || k === '500'), 'only 200 and 500', statusLine(others));
  expectShare(codes.get('500') ?? 0, spec.n, 0.5, `aborted requests (${statusLine(others)})`);
  expect(others.every((o) => (o.status === 500) === (o.version === '')), 'every 500 made by the waypoint (no backend answered it)', versionLine(others));
  const lines = await waitAccessLog(wm, log, '/ratings', jasonSpec.n + spec.n);
  const fi = lines.filter((l) => l.response_flags === 'FI').length;
  const di = lines.filter((l) => l.response_flags === 'DI').length;
  expect(fi === (codes.get('500') ?? 0) && di === jasonSpec.n, `flags FI on each abort and DI on each delay`, flagLine(lines));
  showApplied(n, a, [
    batchCommand(jasonSpec),
    `${jasonSpec.n} answers: ${statusLine(asJason)}, each after ${timingLine(asJason)}`,
    '',
    batchCommand(spec),
    `${spec.n} answers: ${statusLine(others)} ("fault filter abort")`,
    `  in ${timingLine(others)}`,
    '',
    `waypoint access log: ${flagLine(lines)}`,
  ]);
}

export async function requestTimeouts(n: Narrator, wm: WaypointMesh): Promise<void> {
  const a = await applyRoutes(wm, [{ file: VS_FILE, yaml: VS_TIMEOUT }], [`${VS} → echo/v1 100%, timeout 500 ms`]);
  const log = wm.waypoint.lines.length;
  // The echo pod waits `delay` ms before answering: the tutorial's slow ratings service.
  const slow: BatchSpec = { path: '/reviews?delay=2000', n: 2 };
  const fast: BatchSpec = { path: '/reviews?delay=50', n: 2 };
  const s = await batch(wm, slow);
  const f = await batch(wm, fast);
  expect(s.every((o) => o.status === 504 && o.ms >= 450 && o.ms < 1900), '504 after about 0.5 s when the backend needs 2 s', s.map((o) => `${o.status} in ${fmtMs(o.ms)}`).join(', '));
  expect(f.every((o) => o.status === 200 && o.ms >= 45 && o.ms < 500), '200 after about 50 ms when the backend needs 50 ms', f.map((o) => `${o.status} in ${fmtMs(o.ms)}`).join(', '));
  const lines = await waitAccessLog(wm, log, '/reviews', 4);
  expect(lines.filter((l) => l.response_flags === 'UT').length === 2, 'flag UT on the timed-out requests', flagLine(lines));
  showApplied(n, a, [
    `${batchCommand(slow)}   (backend needs 2 s)`,
    `${slow.n} answers: ${statusLine(s)} ("upstream request timeout"), after ${timingLine(s)}`,
    '',
    `${batchCommand(fast)}   (backend needs 50 ms)`,
    `${fast.n} answers: ${statusLine(f)}, after ${timingLine(f)}`,
    '',
    `waypoint access log: ${flagLine(lines)}`,
  ]);
}

export async function retries(n: Narrator, wm: WaypointMesh): Promise<void> {
  // `status=503&only=s1`: the echo pod s1 (v1) answers 503, s2 (v2) answers 200 — one bad pod.
  const spec: BatchSpec = { path: '/details?status=503&only=s1', n: REQUESTS.half };
  const before = await applyRoutes(wm, [{ file: VS_FILE, yaml: VS_NO_RETRIES }], [`${VS} → echo 100%`]);
  const out1 = await batch(wm, spec);
  const codes = countBy(out1, (o) => o.status);
  expect([...codes.keys()].every((k) => k === '200' || k === '503'), 'only 200 (s2) and 503 (s1)', statusLine(out1));
  expectShare(codes.get('503') ?? 0, spec.n, 0.5, `503s from the bad pod without retries (${statusLine(out1)})`);
  showApplied(n, before, [
    'pod s1 answers 503 to these requests (query status=503&only=s1)',
    batchCommand(spec),
    `${spec.n} answers: ${statusLine(out1)}`,
    `  (Istio's default retry policy does not retry a 503)`,
  ]);

  const log = wm.waypoint.lines.length;
  const after = await applyRoutes(wm, [{ file: VS_FILE, yaml: VS_RETRIES }], [`${VS} → echo 100%, retries 3 on 5xx`]);
  const out2 = await batch(wm, spec);
  expect(out2.every((o) => o.status === 200 && o.version === 'v2'), 'every answer 200 from v2 (retries go to the other pod)', `${statusLine(out2)}; ${versionLine(out2)}`);
  const lines = await waitAccessLog(wm, log, '/details', spec.n);
  const retried = lines.filter((l) => l.attempts === 2).length;
  expect(retried > 0 && lines.every((l) => l.attempts === 1 || l.attempts === 2), 'some requests retried once, none more', `attempts ${[...countBy(lines, (l) => String(l.attempts))].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  showApplied(n, after, [
    batchCommand(spec),
    `${spec.n} answers: ${statusLine(out2)}, ${versionLine(out2)}`,
    `waypoint access log: ${retried} requests took 2 attempts`,
    '  (s1 said 503, the retry went to s2), the rest 1',
  ]);
}

const DEFAULT_CLUSTER = 'outbound|80||echo.demo.svc.cluster.local';

export async function circuitBreaking(n: Narrator, wm: WaypointMesh): Promise<void> {
  const a = await applyEdits(
    wm,
    [{ file: VS_FILE, yaml: undefined }, { file: DR_FILE, yaml: DESTINATION_RULE_CIRCUIT_BREAKER }],
    (c) => describeEchoRoutes(c).length === 0 && cluster(c, DEFAULT_CLUSTER)?.circuitBreaker?.maxConnections === 1,
    (c) => `${describeEchoRoutes(c).join('; ') || '(no routes)'}; ${DEFAULT_CLUSTER}: ${describeCluster(cluster(c, DEFAULT_CLUSTER))}`,
  );
  const overflows = async (): Promise<number> => {
    const m = await wm.waypoint.metrics();
    return ['pending', 'requests'].reduce((s, kind) => s + metricSum(m, 'ambit_waypoint_upstream_overflow_total', { cluster: DEFAULT_CLUSTER, kind }), 0);
  };
  // The backend takes 50 ms per request so that concurrent requests overlap.
  const one = await heyRun(wm, '/get?delay=50', 10, 1);
  expect(one.statuses.get('200') === 10, 'one client at a time: all 200', one.line);
  const log = wm.waypoint.lines.length;
  const o0 = await overflows();
  const three = await heyRun(wm, '/get?delay=50', 30, 3);
  const ok = three.statuses.get('200') ?? 0;
  const tripped = three.statuses.get('503') ?? 0;
  expect(ok > 0 && tripped > 0 && ok + tripped === 30, 'three concurrent clients: some 200, some 503, nothing else', three.line);
  const lines = await waitAccessLog(wm, log, '/get', 30);
  const uo = lines.filter((l) => l.response_code === 503 && l.response_flags === 'UO').length;
  const counted = (await overflows()) - o0;
  expect(uo === tripped && counted === tripped, `each 503 flagged UO and counted as an overflow (${tripped})`, `${flagLine(lines)}; overflow counter +${counted}`);
  showApplied(n, a, [
    one.command,
    `  ${one.line}`,
    three.command,
    `  ${three.line}`,
    '',
    `waypoint access log: ${flagLine(lines)}`,
    `ambit_waypoint_upstream_overflow_total +${counted}`,
    '(flag UO: the circuit breaker answered, not a pod)',
  ], [`${DEFAULT_CLUSTER}: ${describeCluster(cluster(a.config, DEFAULT_CLUSTER))}`]);
}
