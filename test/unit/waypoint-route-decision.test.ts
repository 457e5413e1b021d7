// decide(): what one request on a service port turns into — the default cluster without routes,
// 404 NR when routes exist and none matches, the route's backend otherwise — and pod-addressed
// traffic (pinned to a workload) forwarded to that workload with no routing at all; fault delays
// mark the decision (Envoy's DI flag), aborts answer FI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledConfig } from '../../src/waypoint/compiled-config.js';
import { decide, type Decision, type MutableRequest } from '../../src/waypoint/route-decision.js';
import { WAYPOINT_CONFIG_VERSION, type Cluster, type Route } from '../../src/waypoint/model/route-model.js';

const HOST = 'reviews.default.svc.cluster.local';
const cluster = (name: string): Cluster => ({ name, hostname: HOST, namespace: 'default', port: 80, protocol: 'http1', lb: { kind: 'LEAST_REQUEST' }, connectTimeoutMs: 1000 });
const DEFAULT = 'outbound|80||reviews.default.svc.cluster.local';
const V2 = 'outbound|80||reviews-v2.default.svc.cluster.local';

const toV2: Route = {
  name: 'default/r.r0.m0',
  source: { kind: 'HTTPRoute', namespace: 'default', name: 'r', rule: 0, match: 0 },
  match: { path: { type: 'PathPrefix', value: '/v2' } },
  action: { kind: 'forward', backends: [{ cluster: V2, weight: 1 }] },
};

function compiled(routes: Route[], clusters = [cluster(DEFAULT), cluster(V2)]): CompiledConfig {
  return new CompiledConfig({
    version: WAYPOINT_CONFIG_VERSION,
    waypoint: { namespace: 'default', name: 'wp' },
    services: [{ hostname: HOST, namespace: 'default', ports: [{ port: 80, name: 'http', protocol: 'http', routes, defaultCluster: DEFAULT }] }],
    clusters,
  });
}

function run(cfg: CompiledConfig, path: string, pinnedWorkloadUid?: string): Promise<Decision> {
  const req: MutableRequest = { method: 'GET', path, query: '', headers: new Map([['host', ['reviews']]]) };
  return decide({ port: cfg.port('default', HOST, 80)!, clusters: cfg.clusters, servicePort: 80, random: () => 0, delay: async () => undefined, pinnedWorkloadUid }, req);
}

/** A decision as `forward <cluster> [uids] <route>` or `local <status> <flags>`. */
function summary(d: Decision): string {
  if (d.kind === 'local') return `local ${d.status} ${d.flags}`;
  return `forward ${d.cluster.name} [${(d.cluster.workloadUids ?? []).join()}] ${d.route?.name ?? '-'}`;
}

const cases: Array<{ name: string; routes: Route[]; clusters?: Cluster[]; path: string; pinned?: string; want: string }> = [
  { name: 'no routes: the default cluster', routes: [], path: '/x', want: `forward ${DEFAULT} [] -` },
  { name: 'a matching route: its backend', routes: [toV2], path: '/v2/a', want: `forward ${V2} [] default/r.r0.m0` },
  { name: 'routes, none matching: 404 NR', routes: [toV2], path: '/other', want: 'local 404 NR' },
  { name: 'pod-addressed, no routes: the default cluster narrowed to the pod', routes: [], path: '/x', pinned: 'k8s/default/reviews-v1', want: `forward ${DEFAULT} [k8s/default/reviews-v1] -` },
  { name: 'pod-addressed ignores a matching route', routes: [toV2], path: '/v2/a', pinned: 'k8s/default/reviews-v1', want: `forward ${DEFAULT} [k8s/default/reviews-v1] -` },
  { name: 'pod-addressed is never a route miss', routes: [toV2], path: '/other', pinned: 'k8s/default/reviews-v1', want: `forward ${DEFAULT} [k8s/default/reviews-v1] -` },
  { name: 'pod-addressed without the default cluster: 503 NC', routes: [], clusters: [cluster(V2)], path: '/x', pinned: 'k8s/default/reviews-v1', want: 'local 503 NC' },
];

for (const c of cases) {
  test(`decide: ${c.name}`, async () => {
    assert.equal(summary(await run(compiled(c.routes, c.clusters), c.path, c.pinned)), c.want);
  });
}

test('decide: pinning does not change the shared cluster object', async () => {
  const cfg = compiled([]);
  await run(cfg, '/x', 'k8s/default/reviews-v1');
  assert.equal(cfg.clusters.get(DEFAULT)!.workloadUids, undefined);
});

/** The route to v2 with a fault; `random` 0 injects every fault with a percentage above 0. */
const faulty = (fault: Route['fault']): Route => ({ ...toV2, fault });

const faultCases: Array<{ name: string; fault: Route['fault']; want: string; delayed: boolean; waited: number[] }> = [
  { name: 'a delay: forwarded after it, marked delayed', fault: { delay: { ms: 70, percent: 100 } }, want: `forward ${V2} [] default/r.r0.m0`, delayed: true, waited: [70] },
  { name: 'a delay at 0 %: not injected, not marked', fault: { delay: { ms: 70, percent: 0 } }, want: `forward ${V2} [] default/r.r0.m0`, delayed: false, waited: [] },
  { name: 'an abort: FI, not delayed', fault: { abort: { httpStatus: 500, percent: 100 } }, want: 'local 500 FI', delayed: false, waited: [] },
  { name: 'a delay then an abort: DI,FI', fault: { delay: { ms: 5, percent: 100 }, abort: { httpStatus: 503, percent: 100 } }, want: 'local 503 DI,FI', delayed: true, waited: [5] },
];

for (const c of faultCases) {
  test(`decide, fault: ${c.name}`, async () => {
    const cfg = compiled([faulty(c.fault)]);
    const waited: number[] = [];
    const req: MutableRequest = { method: 'GET', path: '/v2/x', query: '', headers: new Map([['host', ['reviews']]]) };
    const d = await decide({ port: cfg.port('default', HOST, 80)!, clusters: cfg.clusters, servicePort: 80, random: () => 0, delay: async (ms) => void waited.push(ms) }, req);
    assert.equal(summary(d), c.want);
    assert.equal(d.delayed === true, c.delayed);
    assert.deepEqual(waited, c.waited);
  });
}
