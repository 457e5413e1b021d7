// The delta ADS protocol end to end with an independent grpc-js client: wildcard sync, incremental
// pushes, removals, ACK/NACK, initial_resource_versions, on-demand names, unknown types and refusals.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE, AUTHZ_TYPE, SOTW_PATH, decodeMessage, ztunnelNode } from '../helpers/ads-client.js';
import { authorization, names, startAds, workload, workloads, type AdsFixture } from '../helpers/ads-fixture.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { contentVersion } from '../../src/controlplane/ads/versions.js';

const W1 = 'Kubernetes//Pod/default/w1';
const W2 = 'Kubernetes//Pod/default/w2';
const W3 = 'Kubernetes//Pod/default/w3';
const QUIET_MS = 250; // > TEST_DEBOUNCE.quietMs plus scheduling slack

const fixtures: AdsFixture[] = [];
async function fixture(overrides: Parameters<typeof startAds>[0] = {}): Promise<AdsFixture> {
  const f = await startAds(overrides);
  fixtures.push(f);
  return f;
}
after(async () => {
  for (const f of fixtures) await f.close();
});

test('wildcard initial sync: one response per type with every resource, Any-wrapped, content-hash versions', async () => {
  const f = await fixture({ controlPlaneId: 'ambit-test' });
  f.cache.setMany([
    [ADDRESS_TYPE, workloads(W1, W2)],
    [AUTHZ_TYPE, new Map([['default/allow', authorization('default', 'allow')]])],
  ]);
  const { client, address, authz } = await f.syncedClient();
  assert.equal(address.typeUrl, ADDRESS_TYPE);
  assert.deepEqual(names(address), [W1, W2]);
  assert.deepEqual(address.removed, []);
  for (const r of address.resources) {
    assert.equal(r.anyType, ADDRESS_TYPE);
    assert.equal(r.version, contentVersion(workload(r.name)));
    assert.equal((decodeMessage('istio.workload.Address', r.value).workload as { uid: string }).uid, r.name);
  }
  assert.deepEqual(names(authz), ['default/allow']);
  assert.equal(authz.resources[0]!.anyType, AUTHZ_TYPE);
  assert.equal((decodeMessage('istio.security.Authorization', authz.resources[0]!.value) as { name: string }).name, 'allow');
  assert.notEqual(address.nonce, authz.nonce);
  assert.equal(address.controlPlane, 'ambit-test');
  await client.expectQuiet(QUIET_MS);
});

test('incremental push: only changed and added resources, only for the type that changed', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  f.cache.setResources(AUTHZ_TYPE, new Map([['default/p', authorization('default', 'p')]]));
  const { client } = await f.syncedClient();
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1)], [W2, workload(W2, { node: 'node-2' })], [W3, workload(W3)]]));
  const push = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(push), [W2, W3]);
  assert.deepEqual(push.removed, []);
  assert.equal(push.resources.find((r) => r.name === W2)!.version, contentVersion(workload(W2, { node: 'node-2' })));
  client.ack(push);
  await client.expectQuiet(QUIET_MS); // no Authorization response, nothing resent
  assert.deepEqual([...client.held(ADDRESS_TYPE).keys()].sort(), [W1, W2, W3]);
});

test('removals: a resource leaving the desired set is sent in removed_resources only', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2, W3));
  const { client } = await f.syncedClient();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  const push = await client.next(ADDRESS_TYPE);
  assert.deepEqual(push.resources, []);
  assert.deepEqual([...push.removed].sort(), [W2, W3]);
  client.ack(push);
  assert.deepEqual([...client.held(ADDRESS_TYPE).keys()], [W1]);
  await client.expectQuiet(QUIET_MS);
});

test('ACK vs NACK: a NACK is logged and counted, its versions are not resent until they change', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  const { client } = await f.syncedClient();
  const bad = new Map([[W1, workload(W1, { tunnelProtocol: 2 })], [W2, workload(W2)]]);
  f.cache.setResources(ADDRESS_TYPE, bad);
  const rejected = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(rejected), [W1]);
  client.nack(rejected, `${W1}: unsupported tunnel protocol LEGACY_ISTIO_MTLS`);
  const line = await f.logs.waitFor('ADS: NACK');
  assert.equal(line.message, `${W1}: unsupported tunnel protocol LEGACY_ISTIO_MTLS`);
  assert.equal(line.type, ADDRESS_TYPE);
  assert.equal(metricSum(await f.registry.metrics(), 'pilot_total_xds_rejects', { type: ADDRESS_TYPE }), 1);
  const dbg = f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!;
  assert.equal(dbg.lastNack?.message, `${W1}: unsupported tunnel protocol LEGACY_ISTIO_MTLS`);
  assert.equal(dbg.lastNack?.nonce, rejected.nonce);
  assert.equal(dbg.awaitingAck, false, 'a NACK ends the in-flight response');
  // Same desired set again plus an unrelated change: the NACKed W1 is not resent.
  f.cache.setResources(ADDRESS_TYPE, new Map([...bad, [W3, workload(W3)]]));
  const next = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(next), [W3]);
  client.ack(next);
  await client.expectQuiet(QUIET_MS);
  // W1 fixed (new content, new version): resent.
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2, W3));
  const fixed = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(fixed), [W1]);
  assert.equal(fixed.resources[0]!.version, contentVersion(workload(W1)));
  client.ack(fixed);
  assert.equal(f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!.nonceAcked !== '', true);
});

test('initial_resource_versions on reconnect: current versions not resent, changed resent, vanished removed', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2, W3));
  const first = await f.syncedClient();
  const held = Object.fromEntries(first.client.held(ADDRESS_TYPE));
  first.client.close();
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1)], [W2, workload(W2, { node: 'moved' })]]));
  const second = f.client();
  second.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE, initialVersions: held });
  const r = await second.next(ADDRESS_TYPE);
  assert.deepEqual(names(r), [W2]);
  assert.deepEqual(r.removed, [W3]);
  second.ack(r);
  await second.expectQuiet(QUIET_MS);
});

test('on-demand: ["*"] subscribed+unsubscribed is nothing; names answered with the resource or a removal', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  const c = f.client();
  c.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE, subscribe: ['*'], unsubscribe: ['*'] });
  const initial = await c.next(ADDRESS_TYPE);
  assert.deepEqual(initial.resources, []);
  assert.deepEqual(initial.removed, []);
  c.ack(initial);
  c.send({ typeUrl: ADDRESS_TYPE, subscribe: [W1, '/10.0.0.99'] });
  const answer = await c.next(ADDRESS_TYPE);
  assert.deepEqual(names(answer), [W1]);
  assert.deepEqual(answer.removed, ['/10.0.0.99']);
  c.ack(answer);
  // Not subscribed: W2's change is not pushed; W1's is.
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1)], [W2, workload(W2, { node: 'x' })]]));
  await c.expectQuiet(QUIET_MS);
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1, { node: 'y' })], [W2, workload(W2, { node: 'x' })]]));
  const changed = await c.next(ADDRESS_TYPE);
  assert.deepEqual(names(changed), [W1]);
  c.ack(changed);
  // Unsubscribed: no removal, no more pushes for it.
  c.send({ typeUrl: ADDRESS_TYPE, unsubscribe: [W1] });
  await c.expectQuiet(QUIET_MS);
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  await c.expectQuiet(QUIET_MS);
  const dbg = f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!;
  assert.deepEqual({ wildcard: dbg.wildcard, subscribed: dbg.subscribed }, { wildcard: false, subscribed: ['/10.0.0.99'] });
});

test('unknown type URL: an empty answer; named resources of it are answered as removed', async () => {
  const f = await fixture();
  const c = f.client();
  const unknown = 'type.googleapis.com/example.Unknown';
  c.send({ node: ztunnelNode(), typeUrl: unknown });
  const r = await c.next(unknown);
  assert.deepEqual({ resources: r.resources, removed: r.removed }, { resources: [], removed: [] });
  c.ack(r);
  c.send({ typeUrl: unknown, subscribe: ['x'] });
  assert.deepEqual((await c.next(unknown)).removed, ['x']);
});

test('StreamAggregatedResources (state of the world) is answered UNIMPLEMENTED', async () => {
  const f = await fixture();
  const c = f.client({ path: SOTW_PATH });
  c.halfClose();
  const s = await c.status;
  assert.equal(s.code, grpc.status.UNIMPLEMENTED);
  assert.match(s.details, /DeltaAggregatedResources/);
});

test('a first request without a node id ends the stream INVALID_ARGUMENT; the node is recorded from the first request', async () => {
  const f = await fixture();
  const anonymous = f.client();
  anonymous.send({ typeUrl: ADDRESS_TYPE });
  const s = await anonymous.status;
  assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
  assert.match(s.details, /missing node information/);
  const node = ztunnelNode('ztunnel-xyz', '10.1.2.3');
  const { client } = await f.syncedClient(node);
  // A later request with another node does not replace it (only the first request carries one).
  client.send({ node: { id: 'someone-else' }, typeUrl: 'type.googleapis.com/x.Y' });
  await client.next('type.googleapis.com/x.Y');
  const dbg = f.server.debugView();
  assert.equal(dbg.totalClients, 1);
  assert.equal(dbg.clients[0]!.nodeId, node.id);
  assert.deepEqual(dbg.clients[0]!.metadata, node.metadata);
});

test('client half-close: the server ends the stream OK and forgets the connection', async () => {
  const f = await fixture();
  const { client } = await f.syncedClient();
  assert.equal(metricSum(await f.registry.metrics(), 'pilot_xds', {}), 1);
  client.halfClose();
  assert.equal((await client.status).code, grpc.status.OK);
  await f.logs.waitFor('ADS: connection closed');
  assert.equal(f.server.connectionCount, 0);
  assert.equal(metricSum(await f.registry.metrics(), 'pilot_xds', {}), 0);
});
