// The in-pod mesh suite with two data-plane worker threads per agent (AMBIT_WORKERS=2): the same
// tests, plus what is particular to workers: each pod's ports are held once per worker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inpodMeshSuite } from '../helpers/inpod-mesh-suite.js';

const ctx = inpodMeshSuite({ AMBIT_WORKERS: '2' });

test('with two workers, every captured pod has two listening sockets on each proxy port (SO_REUSEPORT), rules once', async () => {
  assert.equal(ctx.node1.agent.workerPool?.status().length, 2);
  for (const pod of ['c1', 's1']) {
    const ss = await ctx.topo.exec(pod, ['ss', '-Hltn']);
    for (const port of [15001, 15006, 15008]) {
      const n = ss.stdout.split('\n').filter((l) => new RegExp(`:${port}\\s`).test(l)).length;
      assert.equal(n, 2, `${pod}: ${n} listeners on ${port}:\n${ss.stdout}`);
    }
    const nat = await ctx.topo.exec(pod, ['iptables-save', '-t', 'nat']);
    assert.equal(nat.stdout.split('\n').filter((l) => l.startsWith('-A OUTPUT -j ISTIO_OUTPUT')).length, 1, nat.stdout);
  }
});

test('a worker that dies comes back listening in every pod; traffic flows throughout', async () => {
  const pool = ctx.node1.agent.workerPool!;
  const victim = pool.threads()[0]!;
  await victim.abort();
  // The other worker still holds the pod's ports: c1 keeps reaching s1 while the slot restarts.
  const during = await ctx.topo.exec('c1', ['curl', '-sS', '--max-time', '5', `http://${ctx.mesh.s1.ip}:8080/during-restart`], { timeoutMs: 10_000 });
  assert.equal(during.code, 0, during.stderr);
  const deadline = Date.now() + 10_000;
  while (!pool.status().every((w) => w.phase === 'running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pool.status().map((w) => w.restarts), [1, 0]);
  // Replayed: the restarted worker listens in the pods again (two listeners per port).
  for (const pod of ['c1', 'c2']) {
    const ss = await ctx.topo.exec(pod, ['ss', '-Hltn']);
    const n = ss.stdout.split('\n').filter((l) => /:15001\s/.test(l)).length;
    assert.equal(n, 2, `${pod} after the restart:\n${ss.stdout}`);
  }
  const mark = ctx.node1.logs.lines.length;
  for (let i = 0; i < 12; i++) {
    const r = await ctx.topo.exec('c1', ['curl', '-sS', '--max-time', '5', `http://${ctx.mesh.s1.ip}:8080/after-${i}`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
  }
  // The restarted worker takes its share of the pod's new connections.
  await ctx.node1.logs.waitFor((l) => ctx.node1.logs.lines.indexOf(l) >= mark && l.msg === 'connection complete' && l.direction === 'outbound' && l.worker === victim.id);
});
