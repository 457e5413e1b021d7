// The delta ADS client against a scripted control plane (real grpc-js, loopback): subscription,
// ACK/NACK text, partial application, removals, unknown types, reconnects, keeping state, readiness.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, encodeAddress } from '../../src/xds/index.js';
import { startDeltaAdsPeer } from '../helpers/delta-ads-peer.js';
import { eventually, policy, service, startClient, workload } from '../helpers/xds-client-fixture.js';
import { rawAddress } from '../helpers/wds-fixtures.js';

const W1 = workload('Kubernetes//Pod/default/w1', '10.0.0.11');
const W2 = workload('Kubernetes//Pod/default/w2', '10.0.0.12');
const S1 = service('default', 'echo.default.svc.cluster.local', '10.96.0.1');
const P1 = policy('default', 'allow-all');
const LEGACY = rawAddress({ workload: { uid: 'Kubernetes//Pod/default/legacy', tunnelProtocol: 2 } });

test('on connect: one wildcard request per type, Address first, with ztunnel node id, metadata and headers', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address, { AUTH_TOKEN: 'not-over-plaintext' });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.waitForRequest((r) => r.typeUrl === AUTHORIZATION_TYPE_URL);
  assert.deepEqual(s.requests.map((r) => r.typeUrl), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);
  for (const r of s.requests) {
    assert.equal(r.node?.id, 'ztunnel~10.0.0.5~ztunnel-x.istio-system~istio-system.svc.cluster.local');
    assert.deepEqual(r.node?.metadata, { NAME: 'ztunnel-x', NAMESPACE: 'istio-system', INSTANCE_IPS: '10.0.0.5', NODE_NAME: 'node-1', FOO: 'bar', LABELS: { a: 1 } });
    assert.deepEqual(r.resourceNamesSubscribe, [], 'wildcard');
    assert.deepEqual(r.resourceNamesUnsubscribe, []);
    assert.deepEqual(r.initialResourceVersions, {}, 'nothing held on the first stream');
    assert.equal(r.responseNonce, '');
    assert.equal(r.errorDetail, undefined);
  }
  assert.equal(s.metadata.clusterid, 'Kubernetes');
  assert.equal(s.metadata.x_tenant, 'acme', 'XDS_HEADER_X_TENANT');
  assert.equal(s.metadata.authorization, undefined, 'no bearer token over plaintext http://');
  await eventually(() => f.client.dump().state === 'connected', 'connected once the response headers arrive');
});

test('ACK: the state is applied before the ACK, which carries only type and nonce; synced after both types', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.waitForRequest((r) => r.typeUrl === AUTHORIZATION_TYPE_URL);
  let synced = false;
  void f.client.whenSynced().then(() => (synced = true));
  const n1 = s.push(ADDRESS_TYPE_URL, [{ address: W1, version: 'a1' }, { address: S1, version: 'a1' }]);
  const ack = await s.replyTo(n1);
  assert.deepEqual(ack, { typeUrl: ADDRESS_TYPE_URL, node: undefined, resourceNamesSubscribe: [], resourceNamesUnsubscribe: [], initialResourceVersions: {}, responseNonce: n1, errorDetail: undefined });
  assert.deepEqual(f.state.workloadByUid(W1.uid), W1);
  assert.ok(f.state.serviceByKey('default/echo.default.svc.cluster.local'));
  assert.equal(f.client.synced, false, 'Authorization has not been ACKed yet');
  assert.deepEqual(f.client.dump().pendingTypes, [AUTHORIZATION_TYPE_URL]);
  await s.replyTo(s.push(AUTHORIZATION_TYPE_URL, [{ authorization: P1 }]));
  await f.client.whenSynced();
  assert.ok(synced && f.client.synced);
  assert.ok(f.state.policyByKey('default/allow-all'));
  assert.deepEqual(f.messages[0], [ADDRESS_TYPE_URL, encodeAddress(W1).length + encodeAddress(S1).length], 'istio_xds_message_bytes_total counts the resources');
  assert.equal(f.messages[1]?.[0], AUTHORIZATION_TYPE_URL);
});

test('a response with bad resources: the good ones apply, one NACK (code 0) lists `<name>: <reason>; ...`', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  const nonce = s.push(ADDRESS_TYPE_URL, [
    { address: W1 },
    { name: 'Kubernetes//Pod/default/legacy', bytes: LEGACY },
    { name: 'empty', noResource: true },
    { address: S1 },
    { name: 'renamed', address: W2 },
  ]);
  const nack = await s.replyTo(nonce);
  const message =
    'Kubernetes//Pod/default/legacy: unsupported tunnel_protocol LEGACY_ISTIO_MTLS; ' +
    'empty: XDS payload without resource; ' +
    'renamed: resource name is not the workload uid "Kubernetes//Pod/default/w2"';
  assert.deepEqual(nack.errorDetail, { code: 0, message });
  assert.equal(nack.node, undefined);
  assert.ok(f.state.workloadByUid(W1.uid), 'good workload applied');
  assert.ok(f.state.serviceByKey('default/echo.default.svc.cluster.local'), 'good service applied');
  assert.equal(f.state.workloadByUid('Kubernetes//Pod/default/legacy'), undefined);
  assert.equal(f.state.workloadByUid(W2.uid), undefined);
  const dump = f.client.dump();
  assert.equal(dump.lastNack?.message, message);
  assert.equal(dump.lastNack?.nonce, nonce);
  assert.equal(dump.nacks, 1);
  assert.deepEqual(dump.pendingTypes, [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL], 'a NACKed response does not count for readiness');
  // A refused new version of a good resource leaves the old one serving.
  const again = await s.replyTo(s.push(ADDRESS_TYPE_URL, [{ name: W1.uid, version: '2', bytes: rawAddress({ workload: { uid: W1.uid, tunnelProtocol: 2 } }) }]));
  assert.match(again.errorDetail?.message ?? '', /LEGACY_ISTIO_MTLS/);
  assert.equal(f.state.workloadByUid(W1.uid)?.protocol, 'HBONE');
});

test('removals by name; names never held are ignored; a response of an unknown type is ACKed', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.replyTo(s.push(ADDRESS_TYPE_URL, [{ address: W1 }, { address: W2 }, { address: S1 }]));
  const ack = await s.replyTo(s.push(ADDRESS_TYPE_URL, [], [W1.uid, 'default/echo.default.svc.cluster.local', 'never-held']));
  assert.equal(ack.errorDetail, undefined);
  assert.equal(f.state.workloadByUid(W1.uid), undefined);
  assert.equal(f.state.serviceByKey('default/echo.default.svc.cluster.local'), undefined);
  assert.ok(f.state.workloadByUid(W2.uid));
  const before = f.state.snapshot();
  const cluster = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
  const reply = await s.replyTo(s.push(cluster, [{ name: 'c1', bytes: Buffer.from([1, 2, 3]) }]));
  assert.deepEqual([reply.typeUrl, reply.errorDetail], [cluster, undefined], 'unknown type: ACK');
  assert.equal(f.state.snapshot(), before, 'the state is untouched');
});

test('reconnect: initial_resource_versions hold what was accepted (not what was refused); a rotation status is Reconnect', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s1 = await peer.stream(1);
  await s1.replyTo(s1.push(ADDRESS_TYPE_URL, [{ address: W1, version: '3' }, { address: S1, version: '5' }, { name: 'Kubernetes//Pod/default/legacy', version: '1', bytes: LEGACY }]));
  await s1.replyTo(s1.push(AUTHORIZATION_TYPE_URL, [{ authorization: P1, version: '2' }]));
  await s1.replyTo(s1.push(ADDRESS_TYPE_URL, [{ name: W1.uid, version: '4', bytes: rawAddress({ workload: { uid: W1.uid, tunnelProtocol: 2 } }) }]));
  s1.end(grpc.status.UNAVAILABLE, 'transport is closing');
  const s2 = await peer.stream(2);
  const [addr, auth] = await Promise.all([
    s2.waitForRequest((r) => r.typeUrl === ADDRESS_TYPE_URL),
    s2.waitForRequest((r) => r.typeUrl === AUTHORIZATION_TYPE_URL),
  ]);
  assert.deepEqual(s2.requests.map((r) => r.typeUrl), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL], 'Address first again');
  assert.deepEqual(addr.initialResourceVersions, { [W1.uid]: '3', 'default/echo.default.svc.cluster.local': '5' });
  assert.deepEqual(auth.initialResourceVersions, { 'default/allow-all': '2' });
  assert.ok(addr.node && auth.node, 'the node is sent again on the new stream');
  assert.deepEqual(f.terminations, ['Reconnect']);
  assert.ok(f.state.workloadByUid(W1.uid) && f.state.policyByKey('default/allow-all'), 'nothing dropped across the reconnect');
  s2.end(grpc.status.OK);
  await peer.stream(3);
  assert.deepEqual(f.terminations, ['Reconnect', 'Complete'], 'a clean end is Complete, reconnected at once');
});

test('control plane killed: the last good state stays; on its return the client resyncs (removals included)', async (t) => {
  const peer = await startDeltaAdsPeer();
  peer.publish(ADDRESS_TYPE_URL, [{ address: W1 }, { address: W2 }]);
  peer.publish(AUTHORIZATION_TYPE_URL, [{ authorization: P1 }]);
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  await f.client.whenSynced();
  const held = f.state.snapshot();
  peer.kill();
  await eventually(() => f.terminations.length >= 2, 'the stream end and a failed reconnect are counted');
  assert.ok(f.terminations.includes('ConnectionError'), `terminations: ${f.terminations.join(',')}`);
  assert.equal(f.state.snapshot(), held, 'the state is untouched while the control plane is away');
  assert.notEqual(f.client.dump().state, 'connected');
  // While it was away, W2 went and W3 came.
  const W3 = workload('Kubernetes//Pod/default/w3', '10.0.0.13');
  peer.world.get(ADDRESS_TYPE_URL)?.delete(W2.uid);
  peer.world.get(ADDRESS_TYPE_URL)?.set(W3.uid, { address: W3 });
  await peer.restart();
  const s = await peer.stream(2, 20_000);
  const addr = await s.waitForRequest((r) => r.typeUrl === ADDRESS_TYPE_URL);
  assert.deepEqual(Object.keys(addr.initialResourceVersions ?? {}).sort(), [W1.uid, W2.uid].sort());
  await eventually(() => f.state.workloadByUid(W3.uid) !== undefined && f.state.workloadByUid(W2.uid) === undefined, 'resynced');
  assert.ok(f.state.workloadByUid(W1.uid));
  assert.equal(f.client.dump().state, 'connected');
});
