// A whole node agent fed by xDS: readiness waits for the first full sync, /config_dump shows the
// connection, held versions and the last NACK, istio_xds_* metrics, local config + xDS union.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.js';
import { startDeltaAdsPeer } from '../helpers/delta-ads-peer.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { workload } from '../helpers/xds-client-fixture.js';
import { getWhenUp, serveYaml, startXdsAgent } from '../helpers/xds-agent.js';
import { rawAddress } from '../helpers/wds-fixtures.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, parseLocalConfig } from '../../src/xds/index.js';

interface XdsDump {
  state: string;
  synced: boolean;
  pendingTypes: string[];
  resources: Record<string, Record<string, string>>;
  lastNack?: { typeUrl: string; message: string };
}

async function dump(url: string): Promise<{ xds: XdsDump; workloads: Array<{ uid: string; workloadIps: string[] }>; configSources: { conflicts: string[]; precedence?: string } }> {
  return (await (await getWhenUp(url)).json()) as never;
}

test('readiness waits for the first ACKed response of both types; /config_dump shows the wait, the versions and the last NACK', async (t) => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const peer = await startDeltaAdsPeer({ auto: false });
  const a = startXdsAgent({ nodeName: 'a', bind: addrs.nodeA, stateDir: join(tempDir(), 'state'), xdsAddress: peer.address });
  t.after(() => {
    a.agent.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.waitForRequest((r) => r.typeUrl === AUTHORIZATION_TYPE_URL);
  let res = await getWhenUp(a.url('readiness', '/healthz/ready'));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /pending: .*state manager/);
  const waiting = await dump(a.url('admin', '/config_dump'));
  assert.equal(waiting.xds.state, 'connected');
  assert.deepEqual(waiting.xds.pendingTypes, [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);

  const { snapshot } = parseLocalConfig(meshYaml(addrs), 'mesh');
  // A partly bad first Address response: the good resources apply, but it is a NACK, so not ready.
  const bad = s.push(ADDRESS_TYPE_URL, [...snapshot.workloads.map((w) => ({ address: w, version: 'v1' })), { name: 'broken', bytes: rawAddress({ workload: { uid: 'broken', addresses: [Buffer.from([1, 2, 3])] } }) }]);
  assert.match((await s.replyTo(bad)).errorDetail?.message ?? '', /^broken: addresses\[0\]: failed to parse address, had 3 bytes$/);
  await s.replyTo(s.push(AUTHORIZATION_TYPE_URL, []));
  res = await fetch(a.url('readiness', '/healthz/ready'));
  assert.equal(res.status, 500, 'Address has not been ACKed yet');
  assert.match(await res.text(), /state manager/);

  await s.replyTo(s.push(ADDRESS_TYPE_URL, snapshot.services.map((x) => ({ address: x, version: 'v7' }))));
  await a.started;
  await a.agent.readiness.whenReady();
  res = await fetch(a.url('readiness', '/healthz/ready'));
  assert.equal(res.status, 200);
  const ready = await dump(a.url('admin', '/config_dump'));
  assert.equal(ready.xds.synced, true);
  assert.equal(ready.xds.resources[ADDRESS_TYPE_URL]?.['Kubernetes//v1/Pod/default/client'], 'v1');
  assert.equal(ready.xds.resources[ADDRESS_TYPE_URL]?.['default/echo.default.svc.cluster.local'], 'v7');
  assert.equal(ready.xds.resources[ADDRESS_TYPE_URL]?.broken, undefined, 'a refused resource is not held');
  assert.deepEqual(ready.xds.lastNack && [ready.xds.lastNack.typeUrl, ready.xds.lastNack.message], [ADDRESS_TYPE_URL, 'broken: addresses[0]: failed to parse address, had 3 bytes']);
  assert.ok(ready.workloads.some((w) => w.uid === 'Kubernetes//v1/Pod/default/client'));

  const metrics = await (await fetch(a.url('stats', '/metrics'))).text();
  assert.equal(metricSum(metrics, 'istio_xds_message_total', { url: ADDRESS_TYPE_URL }), 2);
  assert.equal(metricSum(metrics, 'istio_xds_message_total', { url: AUTHORIZATION_TYPE_URL }), 1);
  assert.ok(metricSum(metrics, 'istio_xds_message_bytes_total', { url: ADDRESS_TYPE_URL }) > 100);
  s.end(14, 'transport is closing');
  await peer.stream(2); // the end is counted before the reconnect
  const after = await (await fetch(a.url('stats', '/metrics'))).text();
  assert.equal(metricSum(after, 'istio_xds_connection_terminations_total', { reason: 'Reconnect' }), 1);
});

test('an agent closed while it waits for the control plane stops cleanly', async (t) => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const peer = await startDeltaAdsPeer({ auto: false });
  const a = startXdsAgent({ nodeName: 'a', bind: addrs.nodeA, stateDir: join(tempDir(), 'state'), xdsAddress: peer.address });
  t.after(() => peer.close());
  await peer.stream(1);
  await a.agent.close();
  await a.started;
  assert.equal(a.agent.xds?.dump().state, 'closed');
  assert.ok(!a.logs.lines.some((l) => l.msg === 'ambit node agent started'), 'it never went on to start listeners');
});

test('local config and xDS together: the union, the local config winning a conflicting key', async (t) => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const peer = await startDeltaAdsPeer();
  const pinned = workload('Kubernetes//v1/Pod/default/pinned', `${addrs.prefix}.31`, { node: 'elsewhere', netns: undefined });
  serveYaml(peer, meshYaml(addrs));
  peer.publish(ADDRESS_TYPE_URL, [{ address: workload(pinned.uid, `${addrs.prefix}.99`, { node: 'elsewhere' }) }]);
  const local = `workloads:
- uid: ${pinned.uid}
  name: pinned
  namespace: default
  workloadIps: ["${addrs.prefix}.31"]
  node: elsewhere
`;
  const a = startXdsAgent({ nodeName: 'a', bind: addrs.nodeA, stateDir: join(tempDir(), 'state'), xdsAddress: peer.address, env: { LOCAL_XDS: local } });
  t.after(() => {
    a.agent.destroy();
    peer.close();
  });
  await a.started;
  assert.deepEqual(a.agent.state.workloadByUid(pinned.uid)?.workloadIps, [`${addrs.prefix}.31`], 'the local entry wins');
  assert.ok(a.agent.state.workloadByUid('Kubernetes//v1/Pod/default/echo'), 'xDS resources are there too');
  assert.ok(a.agent.state.serviceByKey('default/echo.default.svc.cluster.local'));
  const d = await dump(a.url('admin', '/config_dump'));
  assert.deepEqual(d.configSources.conflicts, [`workload ${pinned.uid}: local wins over xds`]);
  assert.match(d.configSources.precedence ?? '', /local config wins/);
  assert.equal(a.agent.source.version, 1, 'the local source is there and applied once');
});
