// Many node agents connecting at once: full syncs take turns under the send budget yet every client gets
// the whole view in its first response (encoded once, shared), and changes still reach everyone at once.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADDRESS_TYPE, type AdsTestClient, type TestResponse } from '../helpers/ads-client.js';
import { names, startAds, workloads, type AdsFixture } from '../helpers/ads-fixture.js';

const fixtures: AdsFixture[] = [];
after(async () => {
  for (const f of fixtures) await f.close();
});

const uids = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `Kubernetes//Pod/default/w${from + i}`);

test('20 clients connecting together, one full sync written at a time: all get the whole view, first responses shared', async () => {
  // 3,000 workloads are ~200 KB, more than HTTP/2's first flow-control window: a full sync stays in
  // flight while the others ask, so they queue (limit 1 byte: one at a time); a one-workload push is small.
  const f = await startAds({ sendBudget: { limitBytes: 1, smallBytes: 0 } });
  fixtures.push(f);
  const all = uids(3000);
  f.cache.setResources(ADDRESS_TYPE, workloads(...all));
  const N = 20;
  const clients: AdsTestClient[] = [];
  const firsts: TestResponse[] = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const c = f.client({ channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
      clients.push(c);
      c.send({ node: { id: `ztunnel~10.0.0.${i}~zt-${i}.istio-system~istio-system.svc.cluster.local` }, typeUrl: ADDRESS_TYPE, subscribe: ['*'] });
      const r = await c.next(ADDRESS_TYPE, 20_000);
      c.ack(r);
      return r;
    }),
  );
  const sorted = [...all].sort();
  for (const r of firsts) assert.deepEqual(names(r), sorted);
  assert.equal(new Set(firsts.map((r) => r.nonce)).size, 1, 'one encoding (and nonce) for every first response at one revision');
  assert.ok(f.logs.lines.some((l) => l.msg === 'ADS: large response waits for the send budget'), 'some full syncs had to wait');
  // A change after every ACK: a small push, its own nonce per stream, to everyone.
  f.cache.setResources(ADDRESS_TYPE, workloads(...all, ...uids(1, 5000)));
  const pushes = await Promise.all(clients.map((c) => c.next(ADDRESS_TYPE, 20_000)));
  for (const p of pushes) assert.deepEqual(names(p), ['Kubernetes//Pod/default/w5000']);
  assert.equal(new Set(pushes.map((p) => p.nonce)).size, N);
});

test('a client connecting at a later revision gets a first response of its own revision', async () => {
  const f = await startAds();
  fixtures.push(f);
  f.cache.setResources(ADDRESS_TYPE, workloads(...uids(3)));
  const a = f.client();
  a.send({ node: { id: 'ztunnel~10.0.0.1~a.istio-system~istio-system.svc.cluster.local' }, typeUrl: ADDRESS_TYPE });
  const ra = await a.next(ADDRESS_TYPE);
  a.ack(ra);
  f.cache.setResources(ADDRESS_TYPE, workloads(...uids(4)));
  await a.next(ADDRESS_TYPE); // the change, so the debounce has passed
  const b = f.client();
  b.send({ node: { id: 'ztunnel~10.0.0.2~b.istio-system~istio-system.svc.cluster.local' }, typeUrl: ADDRESS_TYPE });
  const rb = await b.next(ADDRESS_TYPE);
  assert.deepEqual(names(rb), [...uids(4)].sort());
  assert.notEqual(rb.nonce, ra.nonce);
  assert.notEqual(rb.systemVersionInfo, ra.systemVersionInfo);
});
