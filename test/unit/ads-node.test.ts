// The xDS Node (upstream: ztunnel src/xds/client.rs): ztunnel's id format, INSTANCE_IP's 1.1.1.1 fallback, and the
// metadata (NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, then ISTIO_META_* entries over them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { adsNode, adsNodeId, decodeDeltaRequest, encodeDeltaRequest } from '../../src/xds/index.js';

test('node id: ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local, 1.1.1.1 without INSTANCE_IP', () => {
  assert.equal(adsNodeId({ name: 'ztunnel-1', namespace: 'istio-system', instanceIp: '10.1.1.1' }), 'ztunnel~10.1.1.1~ztunnel-1.istio-system~istio-system.svc.cluster.local');
  assert.equal(adsNodeId({ name: '', namespace: '', instanceIp: undefined }), 'ztunnel~1.1.1.1~.~.svc.cluster.local');
});

test('metadata from the settings, proxy metadata last (it may override), and it survives the wire', () => {
  const c = loadConfig([], { POD_NAME: 'p', POD_NAMESPACE: 'n', NODE_NAME: 'k1', ISTIO_META_NAME: 'override', ISTIO_METAJSON_X: '{"deep": {"list": [1, "two", false, null]}}' });
  const node = adsNode({ pod: c.proxyPod, nodeName: c.nodeName, metadata: c.proxyMetadata });
  const expected = { NAME: 'override', NAMESPACE: 'n', INSTANCE_IPS: '1.1.1.1', NODE_NAME: 'k1', X: { deep: { list: [1, 'two', false, null] } } };
  assert.deepEqual(node.metadata, expected);
  const back = decodeDeltaRequest(encodeDeltaRequest({ typeUrl: 't', node }));
  assert.deepEqual(back.node, { id: 'ztunnel~1.1.1.1~p.n~n.svc.cluster.local', metadata: expected }, 'google.protobuf.Struct round trip');
});
