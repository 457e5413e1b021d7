// ZDS across restarts: istio-cni going away and coming back (its socket re-created), the snapshot it
// replays on every connection (pods not in it are released, Keep holds a pod it has no netns for),
// and the agent restarting (istio-cni replays its pods to the new agent).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startZdsMesh, podUid, type ZdsMesh } from '../helpers/zds-mesh.js';
import { waitUntil } from '../helpers/two-node-mesh.js';
import { readinessOf } from '../helpers/agent-child.js';

let mesh: ZdsMesh;
let nc: ChildProcess | undefined;
let echoed = '';

before(async () => {
  mesh = await startZdsMesh([
    { name: 'c1', node: 'node1', sa: 'client' },
    { name: 'c2', node: 'node1', sa: 'other' },
    { name: 's1', node: 'node2', sa: 'server', server: true },
  ]);
  for (const p of ['s1', 'c1', 'c2']) assert.equal(await mesh.capture(p), '');
  // A long-lived connection through c1's proxy: it must survive everything but c1's removal.
  nc = mesh.topo.spawn('c1', ['nc', mesh.pod('s1').ip, '9000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  nc.stdout!.on('data', (d: Buffer) => (echoed += d.toString()));
});

after(async () => {
  nc?.kill('SIGKILL');
  await mesh?.destroy();
});

type PodRow = { uid: string; state: string };
const pods = (): PodRow[] => mesh.agents.node1.agent.configDump().workloadState as PodRow[];
const started = (uid: string): number => mesh.agents.node1.logs.lines.filter((l) => l.msg === 'in-pod proxy started' && l.pod === uid).length;

async function echo(line: string): Promise<void> {
  const before = echoed.length;
  nc!.stdin!.write(line);
  await waitUntil(() => echoed.length >= before + line.length);
  assert.equal(echoed.slice(before), line);
}

test('istio-cni down: the agent keeps serving its pods, turns not ready and reconnects once the socket is back', async () => {
  await echo('one\n');
  const helloes = mesh.cni.node1.events.filter((e) => e.event === 'hello').length;
  await mesh.cni.node1.must('restart', { stay_down: true });
  const bind = mesh.agents.node1.bind;
  await waitUntil(() => !mesh.agents.node1.agent.readiness.ready());
  const r = await readinessOf(bind);
  assert.equal(r?.status, 500);
  assert.match(r?.body ?? '', /workload proxy manager/);
  // Failed attempts back off (ENOENT while the socket file is gone) and say why.
  await mesh.agents.node1.logs.waitFor((l) => l.msg === 'cannot connect to istio-cni (ZDS); retrying' && /ENOENT/.test(String(l.err)));
  // Pods outlive the connection.
  const during = await mesh.curl('c2', `http://${mesh.pod('s1').ip}:8080/while-cni-down`);
  assert.equal(during.code, 0, during.body);
  await echo('two\n');

  await mesh.cni.node1.must('listen');
  const snap = await mesh.cni.node1.waitEvent((e) => e.event === 'snapshot' && e.connection === helloes + 1, 30_000);
  // Replayed Adds of pods the agent holds in the same netns are no-ops, acked.
  assert.deepEqual(snap.acks, { [podUid('c1')]: '', [podUid('c2')]: '' });
  assert.equal(snap.ack, '');
  await mesh.agents.node1.agent.readiness.whenReady();
  assert.equal((await readinessOf(bind))?.status, 200);
  assert.equal(started(podUid('c1')), 1, 'c1 proxy was not restarted');
  await echo('three\n');
});

test('snapshot reconciliation: a pod istio-cni no longer has is released, a Kept pod stays', async () => {
  // While "restarting", istio-cni lost c2 (pod deleted meanwhile) and c1's netns (Keep on replay).
  await mesh.cni.node1.must('forget', { uid: podUid('c2') });
  await mesh.cni.node1.must('drop-netns', { uid: podUid('c1') });
  const n = mesh.cni.node1.events.filter((e) => e.event === 'hello').length;
  await mesh.cni.node1.must('restart');
  const snap = await mesh.cni.node1.waitEvent((e) => e.event === 'snapshot' && e.connection === n + 1, 30_000);
  assert.deepEqual(snap.acks, { [podUid('c1')]: '' });
  assert.equal(snap.ack, '');
  // Acked after the reconciliation: c2 is gone already, listeners closed.
  assert.deepEqual(pods().map((p) => p.uid), [podUid('c1')]);
  const ss = await mesh.topo.exec('c2', ['ss', '-Hltn']);
  assert.doesNotMatch(ss.stdout, /:1500[168]\b/);
  const c2 = await mesh.curl('c2', `http://${mesh.pod('s1').ip}:8080/after-release`);
  assert.notEqual(c2.code, 0, 'c2 is captured by istio-cni rules but served by nobody');
  // c1 was kept: same proxy, same connection.
  assert.equal(started(podUid('c1')), 1);
  await echo('four\n');
  await mesh.agents.node1.agent.readiness.whenReady();
});

test('agent restart: istio-cni replays its pods to the new agent, which captures them again', async () => {
  const old = mesh.agents.node1;
  const n = mesh.cni.node1.events.length;
  await old.agent.close();
  await mesh.cni.node1.waitEvent((e) => e.event === 'closed', 15_000, n);
  // Drained with the old agent: the long-lived connection through c1's proxy ended.
  await waitUntil(() => nc!.exitCode !== null || nc!.signalCode !== null, 15_000);
  // istio-cni has c1's netns again (as after its own restart: it re-reads the pods' netns).
  const queued = await mesh.cni.node1.add(mesh.spec('c1'));
  assert.equal(queued.queued, true);
  const fresh = await mesh.startAgent('node1');
  const snap = await mesh.cni.node1.waitEvent((e) => e.event === 'snapshot', 30_000, n);
  assert.deepEqual(snap.acks, { [podUid('c1')]: '' });
  assert.deepEqual((fresh.agent.configDump().workloadState as PodRow[]).map((p) => [p.uid, p.state]), [[podUid('c1'), 'running']]);
  const r = await mesh.curl('c1', `http://${mesh.pod('s1').ip}:8080/after-restart`);
  assert.equal(r.code, 0, r.body);
  assert.equal(r.body, `hello from s1; client=${mesh.pod('c1').ip}; path=/after-restart\n`);
  const inbound = await mesh.agents.node2.logs.waitFor((l) => l.msg === 'connection complete' && l['dst.hbone_addr'] === `${mesh.pod('s1').ip}:8080` && l['src.workload'] === 'c1');
  assert.equal(inbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
  // c2, which istio-cni no longer has, is served by nobody.
  assert.equal((await mesh.topo.exec('c2', ['ss', '-Hltn'])).stdout.match(/:15001\b/), null);
});
