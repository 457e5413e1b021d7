// ZDS end to end: istio-cni (an independent Python implementation) installs its redirect rules in a
// pod's netns and hands the netns fd to the agent; the agent acks once the pod's listeners are bound,
// traffic between pods on two agents is mTLS with the right identities, and Del releases the pod.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { captureWire } from '../helpers/wire-capture.js';
import { startZdsMesh, podUid, type ZdsMesh } from '../helpers/zds-mesh.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

let mesh: ZdsMesh;

before(async () => {
  mesh = await startZdsMesh([
    { name: 'c1', node: 'node1', sa: 'client' },
    { name: 'c2', node: 'node1', sa: 'other' },
    { name: 's1', node: 'node2', sa: 'server', server: true },
  ]);
});

after(async () => {
  await mesh?.destroy();
});

type PodRow = { uid: string; netns: string; state: string; error?: string };
const pods = (node: 'node1' | 'node2'): PodRow[] => mesh.agents[node].agent.configDump().workloadState as PodRow[];

test('an added pod is acked once its listeners are bound in the netns istio-cni handed over', async () => {
  assert.equal(await mesh.capture('s1'), '');
  // The ack came after the proxy started: the registry holds it running, keyed by the pod UID.
  const row = pods('node2').find((p) => p.uid === podUid('s1'));
  assert.equal(row?.state, 'running');
  assert.match(row?.netns ?? '', /^netns inode \d+$/);
  // The listeners are in the pod's netns (the agent's own netns has no 15006 on the pod IP).
  const ss = await mesh.topo.exec('s1', ['ss', '-Hltn']);
  for (const port of [15001, 15006, 15008]) assert.match(ss.stdout, new RegExp(`:${port}\\b`), `listener ${port} in s1's netns`);
  assert.equal(await mesh.capture('c1'), '');
  assert.equal(mesh.agents.node1.agent.readiness.ready(), true);
});

test('pod to pod across the two agents is mTLS HBONE with the identities of the ZDS workloads', async () => {
  const s1 = mesh.pod('s1');
  const c1 = mesh.pod('c1');
  const r = await mesh.curl('c1', `http://${s1.ip}:8080/zds`);
  assert.equal(r.code, 0, r.body);
  assert.equal(r.body, `hello from s1; client=${c1.ip}; path=/zds\n`);
  const inbound = await mesh.agents.node2.logs.waitFor(
    (l) => l.msg === 'connection complete' && l.direction === 'inbound' && l['dst.hbone_addr'] === `${s1.ip}:8080`,
  );
  assert.equal(inbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
  assert.equal(inbound['src.workload'], 'c1');
  assert.equal(inbound['dst.identity'], 'spiffe://cluster.local/ns/default/sa/server');
  assert.equal(inbound['dst.workload'], 's1');
  const outbound = await mesh.agents.node1.logs.waitFor(
    (l) => l.msg === 'connection complete' && l.direction === 'outbound' && l['dst.hbone_addr'] === `${s1.ip}:8080`,
  );
  assert.equal(outbound['dst.addr'], `${s1.ip}:15008`);
  assert.equal(outbound['dst.identity'], 'spiffe://cluster.local/ns/default/sa/server');
  assert.equal(outbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
});

test('only TLS to 15008 leaves the client pod: a capture on its veth sees no plaintext of the request', async () => {
  const c1 = mesh.pod('c1');
  const s1 = mesh.pod('s1');
  const wire = await captureWire(c1.veth, c1.ip, () => mesh.curl('c1', `http://${s1.ip}:8080/secret-path-zds`));
  assert.equal(wire.result.code, 0, wire.result.body);
  assert.ok(wire.packets.length > 0, 'captured the connection');
  for (const l of wire.packets) assert.match(l, /\.15008[ :]/, `non-HBONE packet on the wire: ${l}`);
  assert.equal(wire.raw.includes(Buffer.from('secret-path-zds')), false, 'the HTTP request must not be visible in clear');
  assert.ok(wire.raw.includes(Buffer.from([0x17, 0x03, 0x03])), 'TLS application data records on the wire');
});

test('a pod added before its workload is in the state: its connections wait for the workload, then go through', async () => {
  // c2's workload exists in the config; remove it, capture c2, then put the workload back while a
  // curl from c2 is held by the agent (ztunnel waits up to 5 s for the local workload).
  const full = readFileSync(mesh.configPath, 'utf8');
  const without = full.replace(/- uid: Kubernetes\/\/Pod\/default\/c2\n(?: {2}.*\n)+/, '');
  assert.notEqual(without, full);
  const v1 = mesh.agents.node1.agent.source.version;
  writeFileSync(mesh.configPath, without);
  await waitUntil(() => mesh.agents.node1.agent.source.version > v1 && mesh.agents.node2.agent.source.version > 0);
  assert.equal(await mesh.capture('c2'), '', 'the pod is captured although its workload is unknown yet');
  const s1 = mesh.pod('s1');
  const pending = mesh.curl('c2', `http://${s1.ip}:8080/late`);
  // The connection is accepted by the pod's 15001 and held there, not refused: no early failure
  // ("no local workload") is logged while the workload is missing.
  const established = async (): Promise<boolean> => (await mesh.topo.exec('c2', ['ss', '-Htn', 'state', 'established', 'dst', `${s1.ip}:8080`])).stdout.trim() !== '';
  for (let i = 0; i < 100 && !(await established()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await established(), 'curl is connected (to the pod proxy)');
  assert.equal(mesh.agents.node1.logs.lines.some((l) => l.msg === 'connection failed' && String(l['src.addr'] ?? '').startsWith(mesh.pod('c2').ip)), false);
  const v2 = mesh.agents.node1.agent.source.version;
  writeFileSync(mesh.configPath, full);
  await waitUntil(() => mesh.agents.node1.agent.source.version > v2 && mesh.agents.node2.agent.source.version > 1);
  const r = await pending;
  assert.equal(r.code, 0, r.body);
  assert.equal(r.body, `hello from s1; client=${mesh.pod('c2').ip}; path=/late\n`);
  const inbound = await mesh.agents.node2.logs.waitFor((l) => l.msg === 'connection complete' && l['src.workload'] === 'c2');
  assert.equal(inbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/other');
});

test('DelWorkload releases the pod: acked, its listeners and connections are gone, and capture stops', async () => {
  const s1 = mesh.pod('s1');
  // A live connection through c2's proxy, to see it cut.
  const nc = mesh.topo.spawn('c2', ['nc', s1.ip, '9000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let echoed = '';
  nc.stdout!.on('data', (d: Buffer) => (echoed += d.toString()));
  nc.stdin!.write('before del\n');
  await waitUntil(() => echoed === 'before del\n');
  // Listen before the Del: the agent cuts the connection (and nc exits) before the ack arrives.
  const ncExited = once(nc, 'exit');
  const r = await mesh.cni.node1.command('del', { uid: podUid('c2') });
  assert.equal(r.ack, '');
  assert.equal(pods('node1').find((p) => p.uid === podUid('c2')), undefined);
  await ncExited;
  const ss = await mesh.topo.exec('c2', ['ss', '-Hltn']);
  assert.doesNotMatch(ss.stdout, /:1500[168]\b/);
  // The rules are istio-cni's and stay; with no proxy the redirected connection finds nobody.
  const after = await mesh.curl('c2', `http://${s1.ip}:8080/after-del`);
  assert.notEqual(after.code, 0);
  const rules = await mesh.topo.exec('c2', ['iptables-save']);
  assert.match(rules.stdout, /ISTIO_OUTPUT/);
  // c1 is unaffected.
  const ok = await mesh.curl('c1', `http://${s1.ip}:8080/still`);
  assert.equal(ok.code, 0, ok.body);
  // ztunnel's workload manager metrics, at the root: c1 and c2 started, c2 stopped, c1 active.
  const text = await (await fetch(`http://${mesh.agents.node1.bind}:15020/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('workload_manager_active_proxy_count'), 1);
  assert.equal(value('workload_manager_pending_proxy_count'), 0);
  assert.equal(value('workload_manager_proxies_started_total'), 2);
  assert.equal(value('workload_manager_proxies_stopped_total'), 1);
});

test('a pod whose workload never appears: its connection is held 5 s, then failed as unknown (logged), as ztunnel', async () => {
  // c2 again (istio-cni's rules are still in its netns), named as a workload the state does not have.
  const r = await mesh.cni.node1.add({ ...mesh.spec('c2'), name: 'ghost' });
  assert.equal(r.ack, '', 'the pod is captured: its workload may come later');
  const s1 = mesh.pod('s1');
  const started = performance.now();
  const res = await mesh.topo.exec('c2', ['curl', '-sS', '--max-time', '15', `http://${s1.ip}:8080/ghost`], { timeoutMs: 20_000 });
  const tookMs = performance.now() - started;
  assert.notEqual(res.code, 0);
  assert.ok(tookMs >= 4_500 && tookMs < 12_000, `failed after ${tookMs.toFixed(0)} ms (ztunnel waits 5 s)`);
  const failed = await mesh.agents.node1.logs.waitFor((l) => l.msg === 'connection failed' && String(l['src.addr'] ?? '').startsWith(`${mesh.pod('c2').ip}:`));
  assert.match(String(failed.error), /no local workload/);
});
