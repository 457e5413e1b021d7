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
