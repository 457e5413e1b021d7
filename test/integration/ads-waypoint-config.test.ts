// A real AdsServer fed by a real MeshPipeline serves ambit.waypoint.v1.WaypointConfig to a delta
// client subscribed by name: the config arrives, follows an HTTPRoute change, and never reaches a
// node agent's wildcard Address/Authorization subscription.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MeshPipeline, ResourceCache } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/common/log.js';
import { createRegistry } from '../../src/metrics/index.js';
import { ADDRESS_TYPE_URL, WAYPOINT_CONFIG_TYPE_URL, decodeWaypointConfig, encodeAddress, encodeAuthorization, encodeWaypointConfig } from '../../src/xds/index.js';
import { MemorySource } from '../../bench/control/memory-source.js';
import { OPTS } from '../helpers/k8s-objects.js';
import { startAds, type AdsFixture } from '../helpers/ads-fixture.js';
import { meshWithWaypoint, route, svc, toService } from '../helpers/waypoint-objects.js';

const WP_NODE = { id: 'sidecar~10.0.0.2~wp-1.default~default.svc.cluster.local', metadata: { NAME: 'wp-1', NAMESPACE: 'default' } };

const reviewsRoute = (path: string) =>
  route('reviews', { parentRefs: toService('reviews'), rules: [{ matches: [{ path: { type: 'Exact', value: path } }], backendRefs: [{ name: 'reviews', port: 80 }] }] });

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(): Promise<{ source: MemorySource; ads: AdsFixture }> {
  const source = new MemorySource(meshWithWaypoint(svc('reviews'), reviewsRoute('/a')), silentLogger());
  await source.start();
  const cache = new ResourceCache();
  const pipeline = new MeshPipeline({
    source,
    cache,
    options: OPTS,
    encoders: { encodeAddress, encodeAuthorization, encodeWaypointConfig },
    registry: createRegistry({ processMetrics: false }),
    logger: silentLogger(),
  });
  pipeline.start();
  cleanups.push(() => pipeline.close());
  const ads = await startAds({ cache });
  cleanups.push(() => ads.close());
  return { source, ads };
}

test('a waypoint subscribed by name gets its config, then the update an HTTPRoute change makes; node agents never see it', async () => {
  const { source, ads } = await setup();
  const agent = await ads.syncedClient();
  assert.ok(agent.address.resources.length > 0);
  assert.ok(agent.address.resources.every((r) => r.anyType === ADDRESS_TYPE_URL), 'Address answers hold Address resources only');

  const wp = ads.client();
  wp.send({ node: WP_NODE, typeUrl: WAYPOINT_CONFIG_TYPE_URL, subscribe: ['default/wp', 'default/none'] });
  const first = await wp.next(WAYPOINT_CONFIG_TYPE_URL);
  assert.deepEqual(first.resources.map((r) => [r.name, r.anyType]), [['default/wp', WAYPOINT_CONFIG_TYPE_URL]]);
  assert.deepEqual(first.removed, ['default/none'], 'a subscribed name that does not exist is answered as removed');
  const cfg = decodeWaypointConfig(first.resources[0]!.value, 'default/wp');
  const port = cfg.services.find((s) => s.hostname === 'reviews.default.svc.cluster.local')!.ports[0]!;
  assert.deepEqual(port.routes.map((r) => r.match.path), [{ type: 'Exact', value: '/a' }]);
  wp.ack(first);

  source.apply([{ type: 'upsert', object: reviewsRoute('/b') }]);
  const second = await wp.next(WAYPOINT_CONFIG_TYPE_URL);
  assert.deepEqual(second.resources.map((r) => r.name), ['default/wp']);
  assert.notEqual(second.resources[0]!.version, first.resources[0]!.version);
  const updated = decodeWaypointConfig(second.resources[0]!.value, 'default/wp');
  assert.deepEqual(updated.services[0]!.ports[0]!.routes.map((r) => r.match.path), [{ type: 'Exact', value: '/b' }]);
  wp.ack(second);

  // The route change touched no Address or Authorization: the agent hears nothing, of any type.
  await agent.client.expectQuiet(300);
  assert.ok(agent.client.responses.every((r) => r.typeUrl !== WAYPOINT_CONFIG_TYPE_URL));

  // A change that leaves the config equal is not pushed again.
  source.apply([{ type: 'upsert', object: reviewsRoute('/b') }]);
  await wp.expectQuiet(300, WAYPOINT_CONFIG_TYPE_URL);
});

test('a config the waypoint cannot decode is refused with a clear reason (what its NACK carries)', async () => {
  const { ads } = await setup();
  const wp = ads.client();
  wp.send({ node: WP_NODE, typeUrl: WAYPOINT_CONFIG_TYPE_URL, subscribe: ['default/wp'] });
  const r = await wp.next(WAYPOINT_CONFIG_TYPE_URL);
  assert.throws(() => decodeWaypointConfig(r.resources[0]!.value, 'other/wp'), { code: 'XDS_INVALID', message: /resource name is not the waypoint "default\/wp"/ });
  wp.nack(r, 'default/wp: test refusal');
  await wp.expectQuiet(200, WAYPOINT_CONFIG_TYPE_URL);
  assert.equal(wp.ended, undefined, 'a NACK does not end the stream');
});
