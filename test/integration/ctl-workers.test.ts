// `ambit ctl connections` and `explain` when the data plane runs in worker threads (AMBIT_WORKERS=2):
// the listing gathers every worker's connections (each row names its worker), explain runs on the
// main thread's state.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { ctl } from '../helpers/ctl-run.js';
import { socks5Connect } from '../helpers/tcp.js';
import { startTwoNodeMesh, type TwoNodeMesh } from '../helpers/two-node-mesh.js';

let mesh: TwoNodeMesh;

before(async () => {
  // One stream per pooled HBONE connection, so b's workers each get some of the tunnels.
  mesh = await startTwoNodeMesh({ env: { AMBIT_WORKERS: '2' }, envA: { POOL_MAX_STREAMS_PER_CONNECTION: '1' } });
});
after(() => mesh?.close());

const admin = (host: string, port: number): string => `${host}:${port}`;

test('connections: every worker\'s open tunnels, each row with its worker; explain on the main thread\'s state', async () => {
  const { addrs, a, b } = mesh;
  const n = 12;
  const tunnels: Socket[] = await Promise.all(Array.from({ length: n }, () => socks5Connect({ host: addrs.nodeA, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, addrs.client)));
  try {
    const list = async (host: string, port: number): Promise<Array<{ direction: string; worker: number }>> => {
      const r = await ctl(['connections', '--node-agent', admin(host, port), '-o', 'json']);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out) as Array<{ direction: string; worker: number }>;
    };
    const outA = await list(addrs.nodeA, a.agent.addresses().admin!.port);
    assert.equal(outA.filter((c) => c.direction === 'outbound').length, n);
    const inB = await list(addrs.nodeB, b.agent.addresses().admin!.port);
    assert.equal(inB.filter((c) => c.direction === 'inbound').length, n);
    for (const c of [...outA, ...inB]) assert.ok(c.worker === 1 || c.worker === 2, `worker of ${JSON.stringify(c)}`);
    assert.deepEqual([...new Set(inB.map((c) => c.worker))].sort(), [1, 2], 'both of b\'s workers carry some');
  } finally {
    for (const s of tunnels) s.destroy();
  }
  const e = await ctl(['explain', '--node-agent', admin(addrs.nodeA, a.agent.addresses().admin!.port), '--from', 'default/client', '--to', 'echo:80', '-o', 'json']);
  assert.equal(e.code, 0, e.err);
  assert.equal((JSON.parse(e.out) as { verdict: string }).verdict, 'allow');
});
