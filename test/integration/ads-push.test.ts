// Push behaviour of the ADS server: debouncing (quiet period and max delay), at most one un-ACKed
// response per type per stream, multi-type steps, and fan-out to 100 concurrent clients.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADDRESS_TYPE, AUTHZ_TYPE, type AdsTestClient, type TestResponse } from '../helpers/ads-client.js';
import { authorization, names, startAds, workload, workloads, type AdsFixture } from '../helpers/ads-fixture.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { contentVersion } from '../../src/controlplane/ads/versions.js';

const W1 = 'Kubernetes//Pod/default/w1';
const W2 = 'Kubernetes//Pod/default/w2';
const W3 = 'Kubernetes//Pod/default/w3';

const fixtures: AdsFixture[] = [];
async function fixture(overrides: Parameters<typeof startAds>[0] = {}): Promise<AdsFixture> {
  const f = await startAds(overrides);
  fixtures.push(f);
  return f;
}
after(async () => {
  for (const f of fixtures) await f.close();
});

test('debounce: many quick changes are coalesced into one push of the final state, after the quiet period', async () => {
  const quietMs = 200; // far above the 5 ms between changes, so a stalled shared CPU does not split the burst
  const f = await fixture({ debounce: { quietMs, maxDelayMs: 5_000 } });
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  const { client } = await f.syncedClient();
  const firstChangeAt = performance.now();
  let lastChangeAt = firstChangeAt;
  for (let i = 0; i < 20; i++) {
    f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1, { node: `n${i}` })], [W2, workload(W2)]]));
    lastChangeAt = performance.now();
    await sleep(5);
  }
  const push = await client.next(ADDRESS_TYPE);
  assert.ok(push.at - lastChangeAt >= quietMs - 5, `pushed ${(push.at - lastChangeAt).toFixed(1)} ms after the last change`);
  assert.deepEqual(names(push), [W1, W2]);
  assert.equal(f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!.versions[W1], push.resources.find((r) => r.name === W1)!.version);
  const final = workload(W1, { node: 'n19' });
  assert.equal(client.held(ADDRESS_TYPE).get(W1), contentVersion(final), 'the last of the 20 versions');
  client.ack(push);
  await client.expectQuiet(250);
  assert.equal(client.responses.filter((r) => r.typeUrl === ADDRESS_TYPE).length, 2, 'initial + one push');
  // Latency is measured from the oldest change the push carried, so it spans the whole burst.
  const body = await f.registry.metrics();
  assert.equal(metricSum(body, 'pilot_proxy_convergence_time_count', { type: ADDRESS_TYPE }), 1);
  const seconds = metricSum(body, 'pilot_proxy_convergence_time_sum', { type: ADDRESS_TYPE });
  assert.ok(seconds * 1000 >= lastChangeAt - firstChangeAt + quietMs - 10, `latency ${seconds}s`);
});

test('debounce: a steady stream of changes is still pushed by the max delay', async () => {
  const f = await fixture({ debounce: { quietMs: 100, maxDelayMs: 300 } });
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  const { client } = await f.syncedClient();
  const pushes: TestResponse[] = [];
  let churning = true;
  const reader = (async () => {
    while (churning) {
      const r = await client.next(ADDRESS_TYPE, 100).catch(() => undefined);
      if (r === undefined) continue;
      pushes.push(r);
      client.ack(r);
    }
  })();
  const start = performance.now();
  for (let i = 0; performance.now() - start < 1_000; i++) {
    f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1, { node: `n${i}` })]]));
    await sleep(20); // always inside the quiet period
  }
  churning = false;
  await reader;
  assert.ok(pushes.length >= 2, `${pushes.length} pushes during 1 s of changes every 20 ms`);
  assert.ok(pushes[0]!.at - start < 700, `first push after ${(pushes[0]!.at - start).toFixed(0)} ms`);
});

test('one un-ACKed response per type: later changes wait for the ACK, then go as one response; other types flow', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  f.cache.setResources(AUTHZ_TYPE, new Map([['ns/a', authorization('ns', 'a')]]));
  const { client } = await f.syncedClient();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  const inFlight = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(inFlight), [W2]);
  // Not ACKed yet: two more changes are queued, not sent.
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2, W3));
  f.server.flush();
  f.cache.setResources(ADDRESS_TYPE, new Map([[W1, workload(W1, { node: 'z' })], [W2, workload(W2)], [W3, workload(W3)]]));
  f.server.flush();
  // Another type is not held back by Address's response in flight.
  f.cache.setResources(AUTHZ_TYPE, new Map([['ns/a', authorization('ns', 'a')], ['ns/b', authorization('ns', 'b')]]));
  const authz = await client.next(AUTHZ_TYPE);
  assert.deepEqual(names(authz), ['ns/b']);
  await client.expectQuiet(250, ADDRESS_TYPE);
  assert.equal(f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!.awaitingAck, true);
  client.ack(inFlight);
  const latest = await client.next(ADDRESS_TYPE);
  assert.deepEqual(names(latest), [W1, W3], 'both queued changes, latest content, in one response');
  client.ack(latest);
  await client.expectQuiet(250, ADDRESS_TYPE);
  assert.equal(f.server.debugView().clients[0]!.types[ADDRESS_TYPE]!.nonceAcked, latest.nonce);
});

test('setMany: a step touching two types gives one response per type, both from the same revision', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  f.cache.setResources(AUTHZ_TYPE, new Map([['ns/a', authorization('ns', 'a')]]));
  const { client } = await f.syncedClient();
  f.cache.setMany([
    [ADDRESS_TYPE, workloads(W1, W2)],
    [AUTHZ_TYPE, new Map([['ns/b', authorization('ns', 'b')]])],
  ]);
  const address = await client.next(ADDRESS_TYPE);
  const authz = await client.next(AUTHZ_TYPE);
  assert.deepEqual(names(address), [W2]);
  assert.deepEqual({ resources: names(authz), removed: authz.removed }, { resources: ['ns/b'], removed: ['ns/a'] });
  assert.equal(address.systemVersionInfo, authz.systemVersionInfo);
  client.ack(address);
  client.ack(authz);
  await client.expectQuiet(250);
});

test('100 concurrent clients (separate connections) all receive a change, exactly once', async () => {
  const f = await fixture();
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  f.cache.setResources(AUTHZ_TYPE, new Map());
  const N = 100;
  const clients: AdsTestClient[] = (
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = f.client({ channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
        c.send({ node: { id: `ztunnel~10.0.${i >> 8}.${i & 255}~zt-${i}.istio-system~istio-system.svc.cluster.local` }, typeUrl: ADDRESS_TYPE });
        c.ack(await c.next(ADDRESS_TYPE, 20_000));
        return c;
      }),
    )
  );
  assert.equal(f.server.connectionCount, N);
  assert.equal(metricSum(await f.registry.metrics(), 'pilot_xds', {}), N);
  const before = metricSum(await f.registry.metrics(), 'pilot_xds_pushes', { type: ADDRESS_TYPE });
  f.cache.setResources(ADDRESS_TYPE, workloads(W1, W2));
  const pushes = await Promise.all(clients.map((c) => c.next(ADDRESS_TYPE, 20_000)));
  for (const p of pushes) assert.deepEqual(names(p), [W2]);
  assert.equal(new Set(pushes.map((p) => p.nonce)).size, N, 'every stream has its own nonce');
  for (const [i, c] of clients.entries()) c.ack(pushes[i]!);
  await sleep(250);
  for (const c of clients) assert.equal(c.responses.length, 2, 'initial + exactly one push');
  const body = await f.registry.metrics();
  assert.equal(metricSum(body, 'pilot_xds_pushes', { type: ADDRESS_TYPE }) - before, N);
  assert.equal(metricSum(body, 'pilot_proxy_convergence_time_count', { type: ADDRESS_TYPE }), N);
  assert.ok(metricSum(body, 'ambit_xds_resources_sent_bytes_total', { type: ADDRESS_TYPE }) > 0);
  assert.equal(f.server.debugView().totalClients, N);
});
