// ZDS requests the agent must refuse, sent by the independent Python istio-cni: malformed bytes,
// messages not allowed now, fds where there should be none and none where there should be one.
// A protocol error is NACKed with its reason, logged and counted, and the connection dropped; the
// agent reconnects, istio-cni replays, and every pod keeps being served throughout. A proxy that
// cannot start is NACKed without dropping the connection and retried every 5 s.

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
  mesh = await startZdsMesh(
    [
      { name: 'c1', node: 'node1', sa: 'client' },
      { name: 'c3', node: 'node1', sa: 'late' },
      { name: 's1', node: 'node2', sa: 'server', server: true },
    ],
  );
  for (const p of ['s1', 'c1']) assert.equal(await mesh.capture(p), '');
  nc = mesh.topo.spawn('c1', ['nc', mesh.pod('s1').ip, '9000'], { stdio: ['pipe', 'pipe', 'ignore'] });
  nc.stdout!.on('data', (d: Buffer) => (echoed += d.toString()));
});

after(async () => {
  nc?.kill('SIGKILL');
  await mesh?.destroy();
});

async function echo(line: string): Promise<void> {
  const before = echoed.length;
  nc!.stdin!.write(line);
  await waitUntil(() => echoed.length >= before + line.length);
  assert.equal(echoed.slice(before), line, 'the long-lived connection through c1 still works');
}

const started = (uid: string): number => mesh.agents.node1.logs.lines.filter((l) => l.msg === 'in-pod proxy started' && l.pod === uid).length;

interface Refusal {
  readonly name: string;
  readonly op: 'raw' | 'encode';
  readonly args: () => Record<string, unknown>;
  /** The Ack's error. */
  readonly error: RegExp;
}

const ns = (p: string): string => mesh.pod(p).netnsPath;
const c3 = { uid: podUid('c3'), name: 'c3', namespace: 'default', sa: 'late' };

// Protocol errors: NACK with the reason, then the agent drops the connection.
const REFUSALS: readonly Refusal[] = [
  { name: 'bytes that are not a WorkloadRequest', op: 'raw', args: () => ({ hex: 'ffffffff' }), error: /malformed WorkloadRequest \(4 bytes\)/ },
  { name: 'a WorkloadRequest with no payload', op: 'raw', args: () => ({ hex: '4801' }), error: /WorkloadRequest without a payload/ },
  { name: 'a datagram longer than 1024 bytes (truncated)', op: 'raw', args: () => ({ hex: '0a'.repeat(1500) }), error: /truncated message/ },
  { name: 'AddWorkload without an fd', op: 'encode', args: () => ({ kind: 'add', ...c3 }), error: /AddWorkload 0+c3-.* without its netns fd/ },
  { name: 'AddWorkload with two fds', op: 'encode', args: () => ({ kind: 'add', ...c3, fds: [ns('c3'), ns('c1')] }), error: /expected at most 1 fd, got 2/ },
  { name: 'AddWorkload without workload_info', op: 'encode', args: () => ({ kind: 'add', ...c3, info: false, fds: [ns('c3')] }), error: /without workload_info, which is required/ },
  { name: 'DelWorkload with an fd', op: 'encode', args: () => ({ kind: 'del', uid: c3.uid, fds: [ns('c3')] }), error: /unexpected fd \(SCM_RIGHTS\) on DelWorkload/ },
  { name: 'KeepWorkload after SnapshotSent', op: 'encode', args: () => ({ kind: 'keep', uid: podUid('c1') }), error: /KeepWorkload .* after SnapshotSent/ },
  { name: 'a second SnapshotSent', op: 'encode', args: () => ({ kind: 'snapshot' }), error: /a second SnapshotSent on this connection/ },
  { name: 'an empty uid', op: 'encode', args: () => ({ kind: 'del', uid: '' }), error: /DelWorkload with an empty uid/ },
];

for (const r of REFUSALS) {
  test(`refused: ${r.name} — NACKed with the reason, logged, connection dropped; the pods keep serving`, async () => {
    const cni = mesh.cni.node1;
    const agent = mesh.agents.node1;
    const from = cni.events.length;
    const lines = agent.logs.lines.length;
    const answer = await cni.command(r.op, r.args());
    assert.equal(answer.error, undefined, JSON.stringify(answer));
    assert.match(String(answer.ack), r.error);
    assert.match(String(answer.ack), /^failure to process message: /);
    const logged = await agent.logs.waitFor((l) => l.msg === 'ZDS protocol error: NACKed; dropping the connection' && agent.logs.lines.indexOf(l) >= lines);
    assert.match(String(logged.reason), r.error);
    assert.equal(logged.code, 'ZDS_PROTOCOL');
    await cni.waitEvent((e) => e.event === 'closed', 10_000, from);
    // The agent reconnects at once; istio-cni replays (c1: same netns, a no-op) and the agent is ready.
    const snap = await cni.waitEvent((e) => e.event === 'snapshot', 15_000, from);
    assert.deepEqual(snap.acks, { [podUid('c1')]: '' });
    await agent.agent.readiness.whenReady();
    assert.equal(started(podUid('c1')), 1, 'c1 proxy never restarted');
    assert.equal((agent.agent.configDump().workloadState as Array<{ uid: string }>).some((p) => p.uid === c3.uid), false, 'nothing of c3 was kept');
    await echo(`after ${r.name}\n`);
  });
}

test('the refusals are counted as ambit_errors_total{component="zds",code="ZDS_PROTOCOL"}', async () => {
  const text = await (await fetch(`http://${mesh.agents.node1.bind}:15020/metrics`)).text();
  const m = /^ambit_errors_total\{component="zds",code="ZDS_PROTOCOL"\} (\d+)$/m.exec(text);
  assert.equal(Number(m?.[1]), REFUSALS.length);
});

test('an fd that is not a network namespace: NACKed, the connection stays, nothing is started', async () => {
  const cni = mesh.cni.node1;
  const from = cni.events.length;
  const answer = await cni.command('encode', { kind: 'add', ...c3, fds: ['/dev/null'] });
  assert.match(String(answer.ack), /AddWorkload 0+c3-.*: the fd is not a network namespace/);
  // Still connected: the next request on the same connection works.
  assert.equal((await cni.add(mesh.spec('c1'))).ack, '');
  assert.equal(cni.events.slice(from).some((e) => e.event === 'closed' || e.event === 'hello'), false);
  assert.equal((mesh.agents.node1.agent.configDump().workloadState as Array<{ uid: string }>).some((p) => p.uid === c3.uid), false);
});

test('a proxy that cannot start: Ack with the error, not ready, retried every 5 s until it starts', async () => {
  // Something else holds c3's port 15001 without SO_REUSEPORT: the pod's listener cannot bind.
  const holder = mesh.topo.spawn('c3', ['python3', '-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("0.0.0.0",15001))\ns.listen()\nprint("held",flush=True)\ntime.sleep(600)'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
  const agent = mesh.agents.node1;
  const ack = await mesh.capture('c3');
  assert.match(ack, /^failure to start proxy: cannot listen on .*:15001 in netns fd \d+ \(0+c3-.*\): bind: EADDRINUSE/);
  const row = () => (agent.agent.configDump().workloadState as Array<{ uid: string; state: string }>).find((p) => p.uid === c3.uid);
  assert.equal(row()?.state, 'retrying');
  assert.equal(agent.agent.readiness.ready(), false);
  assert.match((await readinessOf(agent.bind))?.body ?? '', /workload proxy manager/);
  // The connection stays up (a start failure is not a protocol error) and the other pods serve.
  await echo('while c3 fails\n');
  holder.kill('SIGKILL');
  await agent.logs.waitFor((l) => l.msg === 'in-pod proxy started' && l.pod === c3.uid, 15_000);
  assert.equal(row()?.state, 'running');
  await agent.agent.readiness.whenReady();
  const r = await mesh.curl('c3', `http://${mesh.pod('s1').ip}:8080/after-retry`);
  assert.equal(r.code, 0, r.body);
  const inbound = await mesh.agents.node2.logs.waitFor((l) => l.msg === 'connection complete' && l['src.workload'] === 'c3');
  assert.equal(inbound['src.identity'], 'spiffe://cluster.local/ns/default/sa/late');
});

test('no netns fd leaks: the agents hold exactly one per pod they serve, whatever was refused', async () => {
  const { readdirSync, readlinkSync } = await import('node:fs');
  const netnsFds = (): number =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        // An fd opened from a bind-mounted netns file reads as that path; others as net:[inode].
        const target = readlinkSync(`/proc/self/fd/${fd}`);
        return target.startsWith('net:[') || target.includes(`/netns/ambit-${mesh.topo.id}-`);
      } catch {
        return false;
      }
    }).length;
  const served = ['node1', 'node2'].flatMap((n) => mesh.agents[n as 'node1' | 'node2'].agent.configDump().workloadState as unknown[]).length;
  assert.equal(served, 3, 'c1 and c3 on node1, s1 on node2');
  assert.equal(netnsFds(), served);
});
