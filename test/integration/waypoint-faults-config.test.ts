// Waypoint data path, fault injection and config lifecycle: delays and aborts (HTTP status and
// gRPC status) by percentage with a seeded random, so each request's fate is known in advance
// (flags DI, FI); setConfig while requests are in flight (old ones finish on the old config, new
// ones use the new); configDump's contents.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { chance, pickWeighted } from '../../src/waypoint/routing/index.js';
import { clusterName, WAYPOINT_CONFIG_VERSION, type Fault, type Route } from '../../src/waypoint/index.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { DEFAULT_CLUSTER, H2_PORT, HOST, HTTP_PORT, LEGACY_CLUSTER, NS, VIP, WAYPOINT_ID, baseCluster, seeded, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const SEED = 20_260_101;
const V1 = clusterName(HOST, HTTP_PORT, 'v1');
const V2 = clusterName(HOST, HTTP_PORT, 'v2');

function route(name: string, extra: Partial<Route> = {}, cluster = DEFAULT_CLUSTER): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster, weight: 1 }] }, ...extra };
}

describe('waypoint faults and config', () => {
  let rig: WaypointRig;
  /** The same sequence the waypoint draws from: replaying it predicts every request. */
  const replica = seeded(SEED);
  const clusters = (): ReturnType<typeof baseCluster>[] => [
    baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT),
    baseCluster(clusterName(HOST, H2_PORT), HOST, H2_PORT, { protocol: 'http2' }),
    baseCluster(V1, HOST, HTTP_PORT, { subset: 'v1', workloadUids: [`Kubernetes//Pod/${NS}/reviews-v1`] }),
    baseCluster(V2, HOST, HTTP_PORT, { subset: 'v2', workloadUids: [`Kubernetes//Pod/${NS}/reviews-v2`] }),
  ];
  before(async () => {
    rig = await startWaypointRig({ random: seeded(SEED) });
  });
  after(async () => rig.close());

  async function flagCount(flags: string): Promise<number> {
    return metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: flags });
  }

  /**
   * What the waypoint will do with the next request under `fault` (one backend): [delayed, aborted].
   * Its draws, in order: the delay, the abort (each only when configured), then for a forwarded
   * request the backend (pickWeighted) and the load balancer's priority level (Envoy draws one per
   * pick even with a single level; round robin draws nothing more).
   */
  function predict(fault: Fault): [boolean, boolean] {
    const delayed = fault.delay !== undefined && chance(fault.delay.percent, replica);
    const aborted = fault.abort !== undefined && chance(fault.abort.percent, replica);
    if (!aborted) {
      pickWeighted([{ weight: 1 }], replica);
      replica();
    }
    return [delayed, aborted];
  }

  it('aborts exactly the requests the seeded random picks, with the status and FI', async () => {
    const fault: Fault = { abort: { httpStatus: 418, percent: 40 } };
    rig.config({ http: [route('abort', { fault })] }, clusters());
    const fi0 = await flagCount('FI');
    const hits0 = rig.hits.length;
    const agent = rig.agent();
    let aborted = 0;
    for (let i = 0; i < 30; i++) {
      const [, abort] = predict(fault);
      const r = await rig.request({ path: `/fault/abort/${i}`, agent });
      assert.equal(r.status, abort ? 418 : 200, `request ${i}`);
      if (abort) aborted++;
    }
    assert.ok(aborted > 3 && aborted < 27, `${aborted} of 30 aborted: the seed exercises both outcomes`);
    assert.equal(await flagCount('FI'), fi0 + aborted);
    assert.equal(rig.hits.length - hits0, 30 - aborted, 'aborted requests never reach a backend');
  });

  it('delays exactly the requests the seeded random picks, with DI', async () => {
    const fault: Fault = { delay: { ms: 400, percent: 50 } };
    rig.config({ http: [route('delay', { fault })] }, clusters());
    const di0 = await flagCount('DI');
    const agent = rig.agent();
    let delayed = 0;
    for (let i = 0; i < 8; i++) {
      const [delay] = predict(fault);
      const t0 = Date.now();
      const r = await rig.request({ path: `/fault/delay/${i}`, agent });
      const took = Date.now() - t0;
      assert.equal(r.status, 200);
      if (delay) {
        delayed++;
        assert.ok(took >= 400, `request ${i} delayed only ${took} ms`);
      } else assert.ok(took < 400, `request ${i} not delayed but took ${took} ms`);
    }
    assert.ok(delayed > 0 && delayed < 8, `${delayed} of 8 delayed`);
    assert.equal(await flagCount('DI'), di0 + delayed);
  });

  it('delay and abort together report DI,FI; a gRPC abort is a 200 with grpc-status', async () => {
    rig.config({ http: [route('both', { fault: { delay: { ms: 50, percent: 100 }, abort: { httpStatus: 503, percent: 100 } } })], h2: [route('grpc-abort', { fault: { abort: { grpcStatus: 14, percent: 100 } } }, clusterName(HOST, H2_PORT))] }, clusters());
    const both0 = await flagCount('DI,FI');
    assert.equal((await rig.request({ path: '/fault/both' })).status, 503);
    assert.equal(await flagCount('DI,FI'), both0 + 1);
    const g = await rig.request({ path: '/pkg.Svc/Call', authority: `${VIP}:${H2_PORT}`, method: 'POST', headers: { 'content-type': 'application/grpc' }, body: '' });
    assert.equal(g.status, 200);
    assert.equal(g.headers['grpc-status'], '14');
    assert.ok(!rig.hits.some((h) => h.url === '/pkg.Svc/Call'));
  });

  it('setConfig while requests are in flight: old ones finish on the old config, new ones use the new', async () => {
    const cfg = (tag: string, cluster: string): void =>
      rig.config({ http: [route(`cfg-${tag}`, { responseHeaders: { set: [{ name: 'x-config', value: tag }] } }, cluster)] }, clusters());
    cfg('A', V1);
    const keepAlive = rig.agent();
    const warm = await rig.request({ path: '/swap/warm', agent: keepAlive });
    assert.equal(warm.headers['x-config'], 'A');
    const slow = rig.request({ path: '/swap/slow?delay=600' });
    await new Promise((r) => setTimeout(r, 150));
    cfg('B', V2);
    const fresh = await rig.request({ path: '/swap/new' });
    assert.equal(fresh.headers['x-config'], 'B');
    assert.equal(fresh.headers['x-backend'], 'v2');
    // The next request on a tunnel opened under A is routed by B.
    const reused = await rig.request({ path: '/swap/reused', agent: keepAlive });
    assert.equal(reused.headers['x-config'], 'B');
    const old = await slow;
    assert.equal(old.status, 200);
    assert.equal(old.headers['x-config'], 'A');
    assert.equal(old.headers['x-backend'], 'v1');

    // A config without the port: requests in flight finish; the open tunnel gets 404, new CONNECTs too.
    const slow2 = rig.request({ path: '/swap/slow2?delay=400', agent: keepAlive });
    await new Promise((r) => setTimeout(r, 100));
    rig.proxy.setConfig({ version: WAYPOINT_CONFIG_VERSION, waypoint: { namespace: NS, name: 'waypoint' }, services: [], clusters: [] });
    assert.equal((await slow2).status, 200);
    assert.equal((await rig.request({ path: '/swap/gone', agent: keepAlive })).status, 404);
    await assert.rejects(rig.connect(), /status 404/);
  });

  it('configDump shows services, routes, clusters with endpoints, protocol, health and active requests', async () => {
    const r = route('dumped', { match: { path: { type: 'PathPrefix', value: '/d' } }, timeouts: { requestMs: 5000 } }, V1);
    rig.config({ http: [r] }, clusters());
    const pending = rig.request({ path: '/d/slow?delay=500' });
    await new Promise((res) => setTimeout(res, 200));
    const dump = rig.proxy.configDump() as {
      version: number; waypoint: { namespace: string; name: string }; identity: string;
      services: Array<{ hostname: string; namespace: string; ports: Array<{ port: number; name: string; protocol: string; defaultCluster: string; routes: Route[] }> }>;
      clusters: Array<{ name: string; protocol: string; endpoints: Array<{ workload: string; uid: string; address: string; identity: string; protocol: string; health: string; activeRequests: number }> }>;
      stats: { tunnels: number };
    };
    assert.equal(dump.version, WAYPOINT_CONFIG_VERSION);
    assert.deepEqual(dump.waypoint, { namespace: NS, name: 'waypoint' });
    assert.equal(dump.identity, WAYPOINT_ID);
    const reviews = dump.services.find((s) => s.hostname === HOST)!;
    assert.deepEqual(reviews.ports.map((p) => [p.port, p.name, p.protocol, p.defaultCluster]), [
      [80, 'http', 'http', DEFAULT_CLUSTER],
      [81, 'grpc', 'grpc', clusterName(HOST, H2_PORT)],
      [82, 'tcp', 'tcp', clusterName(HOST, 82)],
    ]);
    assert.deepEqual(reviews.ports[0]!.routes, [r]);
    const v1 = dump.clusters.find((c) => c.name === V1)!;
    assert.deepEqual(v1.endpoints, [{
      workload: `${NS}/reviews-v1`, uid: `Kubernetes//Pod/${NS}/reviews-v1`, address: `${rig.ips.v1}:8080`,
      identity: `spiffe://cluster.local/ns/${NS}/sa/reviews`, protocol: 'HBONE', health: 'HEALTHY', activeRequests: 1,
      locality: { region: '', zone: '', subzone: '' },
    }]);
    const all = dump.clusters.find((c) => c.name === DEFAULT_CLUSTER)!;
    assert.deepEqual(all.endpoints.map((e) => e.address).sort(), [`${rig.ips.v1}:8080`, `${rig.ips.v2}:8080`]);
    const legacy = dump.clusters.find((c) => c.name === LEGACY_CLUSTER)!;
    assert.deepEqual(legacy.endpoints.map((e) => [e.address, e.protocol]), [[`${rig.ips.legacy}:8080`, 'TCP']]);
    assert.ok(dump.stats.tunnels >= 1);
    assert.equal((await pending).status, 200);
    const after = rig.proxy.configDump() as typeof dump;
    assert.equal(after.clusters.find((c) => c.name === V1)!.endpoints[0]!.activeRequests, 0);
  });
});
