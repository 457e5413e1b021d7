// VirtualService and DestinationRule through the real control-plane path: MeshPipeline → AdsServer
// → a waypoint's named WaypointConfig subscription. The config follows DestinationRule changes and
// pod label changes (subset endpoints), and a VirtualService taking over a Service from an HTTPRoute.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MeshPipeline, ResourceCache } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/common/log.js';
import type { KubeObject } from '../../src/k8s/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { WAYPOINT_CONFIG_TYPE_URL, decodeWaypointConfig, encodeAddress, encodeAuthorization, encodeWaypointConfig } from '../../src/xds/index.js';
import type { WaypointConfig } from '../../src/waypoint/index.js';
import { MemorySource } from '../../bench/control/memory-source.js';
import { OPTS, pod } from '../helpers/k8s-objects.js';
import { startAds } from '../helpers/ads-fixture.js';
import { destinationRule, meshWithWaypoint, route, svc, toService, virtualService } from '../helpers/waypoint-objects.js';

const WP_NODE = { id: 'sidecar~10.0.0.2~wp-1.default~default.svc.cluster.local', metadata: { NAME: 'wp-1', NAMESPACE: 'default' } };
const V2 = 'outbound|80|v2|reviews.default.svc.cluster.local';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const dr = (simple: string): KubeObject => destinationRule('reviews', { host: 'reviews', trafficPolicy: { loadBalancer: { simple } }, subsets: [{ name: 'v2', labels: { version: 'v2' } }] });

test('a VirtualService with subsets takes the Service over an HTTPRoute; DestinationRule and pod label changes are pushed', async () => {
  const source = new MemorySource(meshWithWaypoint(
    svc('reviews', { selector: { app: 'reviews' } }),
    pod('reviews-a', { labels: { app: 'reviews', version: 'v1' }, ip: '10.0.0.11' }),
    pod('reviews-b', { labels: { app: 'reviews', version: 'v2' }, ip: '10.0.0.12' }),
    route('hr', { parentRefs: toService('reviews'), rules: [{ backendRefs: [{ name: 'reviews', port: 80 }] }] }),
  ), silentLogger());
  await source.start();
  const cache = new ResourceCache();
  const pipeline = new MeshPipeline({
    source, cache, options: OPTS, encoders: { encodeAddress, encodeAuthorization, encodeWaypointConfig },
    registry: createRegistry({ processMetrics: false }), logger: silentLogger(),
  });
  pipeline.start();
  cleanups.push(() => pipeline.close());
  const ads = await startAds({ cache });
  cleanups.push(() => ads.close());

  const wp = ads.client();
  wp.send({ node: WP_NODE, typeUrl: WAYPOINT_CONFIG_TYPE_URL, subscribe: ['default/wp'] });
  const next = async (): Promise<WaypointConfig> => {
    const r = await wp.next(WAYPOINT_CONFIG_TYPE_URL);
    wp.ack(r);
    return decodeWaypointConfig(r.resources[0]!.value, 'default/wp');
  };
  const routesOf = (c: WaypointConfig) => c.services.find((s) => s.hostname === 'reviews.default.svc.cluster.local')!.ports[0]!.routes;

  const first = await next();
  assert.deepEqual(routesOf(first).map((r) => r.source.kind), ['HTTPRoute']);

  source.apply([
    { type: 'upsert', object: virtualService('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] }) },
    { type: 'upsert', object: dr('ROUND_ROBIN') },
  ]);
  const second = await next();
  assert.deepEqual(routesOf(second).map((r) => [r.source.kind, r.action]), [['VirtualService', { kind: 'forward', backends: [{ cluster: V2, weight: 100 }] }]]);
  const v2 = second.clusters.find((c) => c.name === V2)!;
  assert.deepEqual([v2.lb, v2.workloadUids], [{ kind: 'ROUND_ROBIN' }, ['c1//Pod/default/reviews-b']]);
  const problems = pipeline.state().waypoints!.errors.map((e) => `${e.object.kind}/${e.object.name} ${e.field}`);
  assert.deepEqual(problems, ['HTTPRoute/hr spec.parentRefs']);

  // A pod joins the subset: its endpoints follow.
  source.apply([{ type: 'upsert', object: pod('reviews-a', { labels: { app: 'reviews', version: 'v2' }, ip: '10.0.0.11' }) }]);
  const third = await next();
  assert.deepEqual(third.clusters.find((c) => c.name === V2)!.workloadUids, ['c1//Pod/default/reviews-a', 'c1//Pod/default/reviews-b']);

  // The DestinationRule changes the load balancer of every cluster of its host.
  source.apply([{ type: 'upsert', object: dr('RANDOM') }]);
  const fourth = await next();
  assert.ok(fourth.clusters.filter((c) => c.hostname === 'reviews.default.svc.cluster.local').every((c) => c.lb.kind === 'RANDOM'));
});
