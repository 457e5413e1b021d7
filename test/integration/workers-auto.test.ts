// The `auto` worker default on a two-node loopback mesh: a 4-CPU cgroup quota (fake /proc and /sys
// tree) runs 2 workers per agent, a 2-CPU budget one event loop; the choice is logged and dumped.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCpuBudget, readCpuBudget } from '../../src/config/index.js';
import { tempDir, type TestAgent } from '../helpers/agent.js';
import { readN, socks5Connect } from '../helpers/tcp.js';
import { startTwoNodeMesh, type TwoNodeMesh } from '../helpers/two-node-mesh.js';

const root = tempDir('ambit-workers-auto-');
after(() => rmSync(root, { recursive: true, force: true }));

interface Dump {
  readonly dataPlaneWorkers?: { setting: unknown; count: number; reason: string };
  readonly workers?: unknown[];
  readonly config: { workers: number; workersChoice: { setting: unknown; reason: string } };
}

async function dump(t: TestAgent): Promise<Dump> {
  const res = await fetch(`http://${t.bind}:${t.agent.addresses().admin!.port}/config_dump`);
  assert.equal(res.status, 200);
  return (await res.json()) as Dump;
}

/** One SOCKS5 tunnel client → echo service through both agents. */
async function roundTrip(mesh: TwoNodeMesh): Promise<void> {
  const { addrs, a } = mesh;
  const s = await socks5Connect({ host: addrs.nodeA, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, addrs.client);
  try {
    s.write('auto\n');
    assert.equal((await readN(s, 5)).toString(), 'auto\n');
  } finally {
    s.destroy();
  }
}

test('a 4-CPU cgroup quota on 8 CPUs: auto runs 2 workers per agent, says why, and serves', async () => {
  mkdirSync(join(root, 'proc/self'), { recursive: true });
  mkdirSync(join(root, 'sys/fs/cgroup/kubepods/ambit'), { recursive: true });
  writeFileSync(join(root, 'proc/self/cgroup'), '0::/kubepods/ambit\n');
  writeFileSync(join(root, 'sys/fs/cgroup/kubepods/ambit/cpu.max'), '400000 100000\n');
  const budget = readCpuBudget({ root, affinity: 8 });
  assert.equal(budget.cpus, 4);
  const mesh = await startTwoNodeMesh({ host: { cpus: budget.cpus, cpuSource: describeCpuBudget(budget) } });
  try {
    for (const t of [mesh.a, mesh.b]) {
      const d = await dump(t);
      assert.equal(d.dataPlaneWorkers?.count, 2);
      assert.equal(d.dataPlaneWorkers?.setting, 'auto');
      assert.match(d.dataPlaneWorkers!.reason, /^auto \(default\): 4 CPUs \(cgroup quota 4 CPUs in .*cpu\.max; affinity 8\), at least 4: 2 workers, as ztunnel$/);
      assert.equal(d.workers?.length, 2, 'two worker threads running');
      assert.deepEqual(d.config.workersChoice, { setting: 'auto', reason: d.dataPlaneWorkers!.reason });
      const line = await t.logs.waitFor((l) => l.msg === 'data-plane workers: 2');
      assert.equal(line.level, 30, 'info');
      assert.equal(line.reason, d.dataPlaneWorkers!.reason);
    }
    await roundTrip(mesh);
  } finally {
    await mesh.close();
  }
});

test('a 2-CPU budget: auto keeps one event loop (no worker threads), and says so', async () => {
  const mesh = await startTwoNodeMesh({ host: { cpus: 2, cpuSource: '2 CPUs (affinity set)' } });
  try {
    const d = await dump(mesh.a);
    assert.deepEqual(d.dataPlaneWorkers, { setting: 'auto', count: 1, reason: 'auto (default): 2 CPUs (affinity set); 2 workers from 4 CPUs, one event loop below' });
    assert.equal(d.workers, undefined);
    assert.equal((await mesh.a.logs.waitFor((l) => l.msg === 'data-plane workers: 1')).level, 30);
    await roundTrip(mesh);
  } finally {
    await mesh.close();
  }
});
