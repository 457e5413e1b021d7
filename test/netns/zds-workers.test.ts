// ZDS with the data plane in worker threads (WORKER_THREADS=2): the main thread holds istio-cni's
// netns fds and the pod registry, every worker listens in the pod's netns by that fd (fds are per
// process), and the pod's workload is found by the ZDS workload info in each worker.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startZdsMesh, podUid, type ZdsMesh } from '../helpers/zds-mesh.js';

let mesh: ZdsMesh;

before(async () => {
  mesh = await startZdsMesh(
    [
      { name: 'c1', node: 'node1', sa: 'client' },
      { name: 's1', node: 'node2', sa: 'server', server: true },
    ],
    { WORKER_THREADS: '2' },
  );
});

after(async () => {
  await mesh?.destroy();
});

test('pods added by ZDS are served by every worker: mTLS with the right identities, acked once all listen', async () => {
  assert.equal(await mesh.capture('s1'), '');
  assert.equal(await mesh.capture('c1'), '');
  // Two listeners per proxy port in each pod netns: one per worker (SO_REUSEPORT).
  const ss = await mesh.topo.exec('s1', ['ss', '-Hltn', 'sport', '= :15008']);
  assert.equal(ss.stdout.trim().split('\n').length, 2, ss.stdout);
  const s1 = mesh.pod('s1');
  for (let i = 0; i < 6; i++) {
    const r = await mesh.curl('c1', `http://${s1.ip}:8080/w${i}`);
    assert.equal(r.code, 0, r.body);
    assert.equal(r.body, `hello from s1; client=${mesh.pod('c1').ip}; path=/w${i}\n`);
  }
  const inbound = await mesh.agents.node2.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['src.workload'] === 'c1');
  assert.equal(inbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
  assert.equal(inbound['dst.identity'], 'spiffe://cluster.local/ns/default/sa/server');
});

test('DelWorkload removes the pod from every worker', async () => {
  const r = await mesh.cni.node1.command('del', { uid: podUid('c1') });
  assert.equal(r.ack, '');
  const ss = await mesh.topo.exec('c1', ['ss', '-Hltn']);
  assert.doesNotMatch(ss.stdout, /:1500[168]\b/);
});
