// ADS server lifecycle and observability: graceful close (streams end OK, listener gone), close bounded
// by its deadline against a peer that never lets go, destroy, bind errors, the adsz view and metric names.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { isMeshError } from '../../src/common/errors.js';
import { AdsServer, ResourceCache, allowAnyClient } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/common/log.js';
import { createRegistry } from '../../src/metrics/index.js';
import { ADDRESS_TYPE, AUTHZ_TYPE, DELTA_PATH, ztunnelNode } from '../helpers/ads-client.js';
import { startAds, workload, workloads, type AdsFixture } from '../helpers/ads-fixture.js';
import { parseExposition, splitSeries } from '../helpers/prometheus-text.js';

const W1 = 'Kubernetes//Pod/default/w1';
const W2 = 'Kubernetes//Pod/default/w2';

const fixtures: AdsFixture[] = [];
async function fixture(overrides: Parameters<typeof startAds>[0] = {}): Promise<AdsFixture> {
  const f = await startAds(overrides);
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  fixtures.push(f);
  return f;
}
after(async () => {
  for (const f of fixtures) await f.close();
});

test('close(): every stream ends OK at once, the listener is gone, pending pushes are dropped', async () => {
  const f = await fixture();
  const synced = await Promise.all([f.syncedClient(ztunnelNode('a')), f.syncedClient(ztunnelNode('b')), f.syncedClient(ztunnelNode('c'))]);
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2)); // inside the debounce window when close() starts
  const t0 = performance.now();
  await f.server.close(3_000);
  const took = performance.now() - t0;
  assert.ok(took < 1_500, `close took ${took.toFixed(0)} ms`);
  for (const { client } of synced) {
    assert.equal((await client.status).code, grpc.status.OK);
    assert.equal(client.responses.length, 2, 'no push after close');
  }
  assert.equal(f.server.connectionCount, 0);
  await f.logs.waitFor('ADS server closed');
  const late = f.client();
  late.send({ node: ztunnelNode('late'), typeUrl: ADDRESS_TYPE });
  assert.equal((await late.status).code, grpc.status.UNAVAILABLE);
  assert.doesNotThrow(() => f.cache.setResources(ADDRESS_TYPE, workloads(W2)));
  await f.server.close(); // idempotent
});

test('close(deadline): a peer that never finishes its stream is destroyed at the deadline', async () => {
  const f = await fixture();
  // A raw HTTP/2 peer: opens a delta ADS stream and never ends its side, so the server's graceful
  // session close can never complete by itself.
  const session = http2.connect(`http://${f.address}`);
  const stream = session.request({ ':method': 'POST', ':path': DELTA_PATH, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  stream.on('error', () => {});
  session.on('error', () => {});
  await f.logs.waitFor('ADS server listening');
  await new Promise<void>((resolve) => {
    const poll = (): void => void (f.server.connectionCount === 1 ? resolve() : setTimeout(poll, 10));
    poll();
  });
  const sessionClosed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  const t0 = performance.now();
  await f.server.close(300);
  const took = performance.now() - t0;
  assert.ok(took >= 290 && took < 2_000, `close took ${took.toFixed(0)} ms`);
  await f.logs.waitFor('ADS server: close deadline passed, destroying what is left');
  await sessionClosed;
});

test('destroy(): streams are cut at once', async () => {
  const f = await fixture();
  const { client } = await f.syncedClient();
  f.server.destroy();
  const s = await client.status;
  assert.notEqual(s.code, grpc.status.OK);
  assert.equal(f.server.connectionCount, 0);
});

test('start(): a port in use is MeshError CONFIG_INVALID; a second start is refused', async () => {
  const f = await fixture();
  const clash = new AdsServer({
    cache: new ResourceCache(),
    registry: createRegistry({ processMetrics: false }),
    logger: silentLogger(),
    authenticate: allowAnyClient,
    plaintext: { port: f.server.ports.plaintext! },
  });
  await assert.rejects(clash.start(), (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && /cannot listen/.test(err.message));
  await assert.rejects(f.server.start(), /already started/);
});

test('debug view (adsz): per connection id, peer, node, principal, and per type subscription, versions, nonces, last NACK', async () => {
  const f = await fixture();
  f.cache.setResources(AUTHZ_TYPE, new Map());
  const node = ztunnelNode('zt-1', '10.9.8.7');
  const { client, address } = await f.syncedClient(node);
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1, { node: 'bad' })]]));
  const push = await client.next(ADDRESS_TYPE);
  client.nack(push, 'W1: bad node');
  await f.logs.waitFor('ADS: NACK');
  const view = JSON.parse(JSON.stringify(f.server.debugView())) as ReturnType<AdsServer['debugView']>;
  assert.equal(view.totalClients, 1);
  const c = view.clients[0]!;
  assert.match(c.connectionId, /^\d+$/);
  assert.match(c.address, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual({ nodeId: c.nodeId, principal: c.principal, listener: c.listener }, { nodeId: node.id, principal: 'anonymous', listener: 'plaintext' });
  assert.ok(!Number.isNaN(Date.parse(c.connectedAt)));
  const a = c.types[ADDRESS_TYPE]!;
  assert.deepEqual(
    { wildcard: a.wildcard, subscribed: a.subscribed, versions: a.versions, nonceSent: a.nonceSent, nonceAcked: a.nonceAcked, pushes: a.pushes },
    { wildcard: true, subscribed: [], versions: { [W1]: push.resources[0]!.version }, nonceSent: push.nonce, nonceAcked: address.nonce, pushes: 2 },
  );
  assert.equal(a.lastNack?.message, 'W1: bad node');
  assert.equal(c.types[AUTHZ_TYPE]!.awaitingAck, false);
});

test('metrics: the istiod-named series exist with their type labels', async () => {
  const f = await fixture();
  const { client } = await f.syncedClient();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  client.nack(await client.next(ADDRESS_TYPE), 'nope');
  await f.logs.waitFor('ADS: NACK');
  const series = [...parseExposition(await f.registry.metrics()).keys()];
  const byName = (name: string): string[] => series.filter((s) => splitSeries(s).name === name);
  assert.deepEqual(byName('pilot_xds'), ['pilot_xds']);
  assert.ok(byName('pilot_xds_pushes').includes(`pilot_xds_pushes{type="${ADDRESS_TYPE}"}`));
  assert.ok(byName('pilot_xds_pushes').includes(`pilot_xds_pushes{type="${AUTHZ_TYPE}"}`));
  assert.ok(byName('pilot_total_xds_rejects').includes(`pilot_total_xds_rejects{type="${ADDRESS_TYPE}"}`));
  assert.ok(byName('pilot_proxy_convergence_time_count').includes(`pilot_proxy_convergence_time_count{type="${ADDRESS_TYPE}"}`));
  assert.ok(byName('ambit_xds_resources_sent_bytes_total').includes(`ambit_xds_resources_sent_bytes_total{type="${ADDRESS_TYPE}"}`));
});
