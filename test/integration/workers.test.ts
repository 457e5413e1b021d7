// The data plane in worker threads (AMBIT_WORKERS=2) on a two-node loopback mesh: connections spread
// over the workers, one consistent /metrics, config changes in force on every worker before the next
// connection, and a worker that dies is restarted while the agent keeps serving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startTwoNodeMesh, waitUntil, type TwoNodeMesh } from '../helpers/two-node-mesh.js';
import { meshYaml } from '../helpers/mesh-config.js';
import { metricSum, parseExposition } from '../helpers/prometheus-text.js';
import { readN, socks5Connect } from '../helpers/tcp.js';

let mesh: TwoNodeMesh;

before(async () => {
  // One stream per pooled HBONE connection: concurrent tunnels from a make as many TLS connections
  // to b, so b's workers get a share of them too (pooled streams would all ride a worker's one).
  mesh = await startTwoNodeMesh({ env: { AMBIT_WORKERS: '2' }, envA: { POOL_MAX_STREAMS_PER_CONNECTION: '1' } });
});

after(async () => {
  await mesh?.close();
});

async function scrape(host: string): Promise<string> {
  const res = await fetch(`http://${host}:15020/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

function perWorker(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [series, v] of parseExposition(body)) {
    const m = /^ambit_worker_connections_opened_total\{worker="(\d+)"\}$/.exec(series);
    if (m) out.set(m[1]!, v);
  }
  return out;
}

/** `n` tunnels client → echo service through SOCKS5 on node a, all open at once. */
async function openTunnels(n: number): Promise<Socket[]> {
  const { addrs } = mesh;
  return Promise.all(Array.from({ length: n }, () => socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client)));
}

async function echoOnce(s: Socket, text: string): Promise<void> {
  s.write(text);
  assert.equal((await readN(s, text.length)).toString(), text);
}

async function roundTrips(n: number): Promise<void> {
  const tunnels = await openTunnels(n);
  await Promise.all(tunnels.map((s, i) => echoOnce(s, `ping ${i}\n`)));
  for (const s of tunnels) s.end();
}

test('connections spread over both workers of each agent, and /metrics counts each one once', async () => {
  const [beforeA, beforeB] = await Promise.all([scrape(mesh.addrs.nodeA), scrape(mesh.addrs.nodeB)]);
  const n = 40;
  await roundTrips(n);
  const opened = (body: string, reporter: string): number => metricSum(body, 'istio_tcp_connections_opened_total', { reporter });
  // Closed counters follow the tunnels' ends; wait for them so the totals below are final.
  let a = '';
  let b = '';
  const deadline = Date.now() + 10_000;
  for (;;) {
    [a, b] = await Promise.all([scrape(mesh.addrs.nodeA), scrape(mesh.addrs.nodeB)]);
    const closedA = metricSum(a, 'istio_tcp_connections_closed_total', { reporter: 'source' }) - metricSum(beforeA, 'istio_tcp_connections_closed_total', { reporter: 'source' });
    if (closedA >= n || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(opened(a, 'source') - opened(beforeA, 'source'), n, 'node a: one outbound connection per tunnel, over all workers');
  assert.equal(opened(b, 'destination') - opened(beforeB, 'destination'), n, 'node b: one inbound connection per tunnel, over all workers');
  assert.equal(metricSum(a, 'istio_tcp_connections_closed_total', { reporter: 'source' }) - metricSum(beforeA, 'istio_tcp_connections_closed_total', { reporter: 'source' }), n);
  for (const [node, body, prev] of [['a', a, beforeA], ['b', b, beforeB]] as const) {
    const now = perWorker(body);
    const was = perWorker(prev);
    assert.deepEqual([...now.keys()].sort(), ['1', '2'], `node ${node}: one series per worker`);
    for (const [w, v] of now) assert.ok(v - (was.get(w) ?? 0) > 0, `node ${node}: worker ${w} served none of ${n} connections: ${JSON.stringify([...now])}`);
    // The per-worker view adds up to the Istio total.
    const total = [...now.values()].reduce((x, y) => x + y, 0);
    assert.equal(total, metricSum(body, 'istio_tcp_connections_opened_total', {}), `node ${node}: per-worker sum = istio total`);
    // Process metrics and the build info are the main thread's alone: exactly one sample each.
    const samples = [...parseExposition(body).keys()];
    assert.equal(samples.filter((k) => k === 'process_cpu_seconds_total').length, 1);
    assert.equal(metricSum(body, 'istio_build', {}), 1, `node ${node}: istio_build counted once`);
    assert.equal(metricSum(body, 'ambit_workers', {}), 2);
  }
});

test('a DENY policy edited into the config is enforced by every worker on the very next connections, and lifted the same way', async () => {
  const { addrs } = mesh;
  const deny = `- name: deny-client
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/client"}]
`;
  await mesh.reconfigure(meshYaml(addrs, deny));
  const before = perWorker(await scrape(addrs.nodeB));
  // No wait beyond the main thread having applied the file: the workers must be in step already.
  const n = 24;
  const results = await Promise.allSettled(Array.from({ length: n }, () => socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client)));
  const admitted = results.filter((r) => r.status === 'fulfilled');
  for (const r of admitted) (r as PromiseFulfilledResult<Socket>).value.destroy();
  assert.equal(admitted.length, 0, `${admitted.length} of ${n} connections admitted after the DENY was applied`);
  // Both of b's workers saw some of the refused connections (inbound is counted before policy).
  const after = perWorker(await scrape(addrs.nodeB));
  for (const w of ['1', '2']) assert.ok((after.get(w) ?? 0) > (before.get(w) ?? 0), `worker ${w} of node b refused none: ${JSON.stringify([...after])}`);
  await mesh.reconfigure(meshYaml(addrs));
  await roundTrips(n);
});

test('a worker that dies is restarted: its connections are lost and counted, the agent keeps serving throughout', async () => {
  const { addrs } = mesh;
  const pool = mesh.a.agent.workerPool;
  assert.ok(pool, 'node a runs worker threads');
  const held = await openTunnels(16);
  await Promise.all(held.map((s, i) => echoOnce(s, `held ${i}\n`)));
  // Load reports come every second: wait until they show exactly the held tunnels (the earlier
  // tests' tunnels have ended), on both workers.
  const openNow = (): number => pool.status().reduce((n, w) => n + w.openConnections, 0);
  await waitUntil(() => openNow() === held.length && pool.status().every((w) => w.openConnections > 0), 10_000);
  const victim = pool.threads().find((t) => t.load.open > 0)!;
  const carried = victim.load.open;
  const beforeKill = await scrape(addrs.nodeA);
  const openedBefore = metricSum(beforeKill, 'istio_tcp_connections_opened_total', {});
  // A thread's sockets close with it, as a process's do when it dies: FIN (RST with unread data).
  const closedTunnels = held.map((s) => new Promise<boolean>((resolve) => {
    s.once('end', () => resolve(true));
    s.once('close', () => resolve(true));
  }));
  await victim.abort();
  // Served while the slot restarts: the dead worker's listeners are gone, the other takes them all.
  await roundTrips(10);
  await waitUntil(() => pool.status().every((w) => w.phase === 'running'), 10_000);
  const slot = pool.status().find((w) => w.worker === victim.id)!;
  assert.equal(slot.restarts, 1);
  assert.notEqual(slot.threadId, victim.threadId, 'a new thread serves the slot');
  // The victim's tunnels were cut, the other worker's are alive.
  const cut = await Promise.all(closedTunnels.map((p) => Promise.race([p, new Promise<boolean>((r) => setTimeout(() => r(false), 2_000))])));
  const alive = held.filter((_, i) => !cut[i]);
  assert.equal(held.length - alive.length, carried, 'exactly the dead worker’s tunnels were lost');
  await Promise.all(alive.map((s, i) => echoOnce(s, `still ${i}\n`)));
  for (const s of held) s.destroy();
  await roundTrips(30);
  const body = await scrape(addrs.nodeA);
  assert.equal(metricSum(body, 'ambit_worker_restarts_total', { worker: String(victim.id) }), 1);
  assert.equal(metricSum(body, 'ambit_worker_lost_connections_total', {}), carried);
  // Counters never go backwards across the restart: the dead worker's totals are kept.
  assert.ok(metricSum(body, 'istio_tcp_connections_opened_total', {}) >= openedBefore + 40, 'opened total kept what the dead worker had counted');
  // The restarted worker takes new connections again.
  const w = perWorker(body);
  assert.ok((w.get(String(victim.id)) ?? 0) > (perWorker(beforeKill).get(String(victim.id)) ?? 0), `restarted worker served none: ${JSON.stringify([...w])}`);
  const dump = mesh.a.agent.configDump() as { workers?: Array<{ phase: string }> };
  assert.deepEqual(dump.workers?.map((x) => x.phase), ['running', 'running']);
});

test("every worker's log lines reach the agent's log, tagged with the worker; /logging levels reach the workers", async () => {
  const { a, addrs } = mesh;
  const admin = (query: string) => fetch(`http://${addrs.nodeA}:15000/logging?${query}`, { method: 'POST' }).then((r) => assert.equal(r.status, 200));
  const accessSince = (mark: number) => a.logs.lines.slice(mark).filter((l) => l.target === 'access' && l.msg === 'connection complete' && l.direction === 'outbound');
  const closed = async () => metricSum(await scrape(addrs.nodeA), 'istio_tcp_connections_closed_total', { reporter: 'source' });
  let mark = a.logs.lines.length;
  await roundTrips(20);
  // All twenty logged (so none can complete after the level change below), by both workers.
  await waitUntil(() => accessSince(mark).length >= 20);
  assert.deepEqual([...new Set(accessSince(mark).map((l) => l.worker))].sort(), [1, 2]);
  // Access logging off on every worker: ten tunnels, not one line. /logging answers only once
  // every worker has applied the new levels, so no wait is needed here.
  await admin('level=access=off');
  mark = a.logs.lines.length;
  const closedBefore = await closed();
  await roundTrips(10);
  const deadline = Date.now() + 10_000;
  while ((await closed()) < closedBefore + 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await admin('reset');
  // Back on: the next four tunnels log four lines, and nothing was logged while it was off (a
  // worker's lines reach main in order, so any line of the quiet period would come before these).
  await roundTrips(4);
  await waitUntil(() => accessSince(mark).length >= 4);
  // A short grace for the other worker's batch, had it logged anything while off.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(accessSince(mark).length, 4, JSON.stringify(accessSince(mark).map((l) => l.worker)));
});
