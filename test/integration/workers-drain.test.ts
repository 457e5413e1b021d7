// `ambit node` with two data-plane worker threads as a process under SIGTERM: tunnels still open on
// both workers, the process exits 0 within the drain deadline (+1 s), and every port is free again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { killAgentChildren, portFree, spawnAgentChild } from '../helpers/agent-child.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { randomLoopbackPrefix, readN, socks5Connect, startEchoServer } from '../helpers/tcp.js';

const agents: TestAgent[] = [];

after(() => {
  killAgentChildren();
  for (const a of agents) a.agent.destroy();
});

const DEADLINE_MS = 2_000;

test('SIGTERM with tunnels open on both workers: exit 0 within the deadline + 1 s, ports free', async () => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const configPath = writeConfig(dir, meshYaml(addrs));
  const stateDir = join(dir, 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  after(() => echo.close());
  // One stream per HBONE connection: the tunnels reach b as separate TLS connections, spread
  // over b's workers by the kernel.
  const a = await startAgent({ nodeName: 'a', bind: addrs.nodeA, configPath, stateDir, env: { POOL_MAX_STREAMS_PER_CONNECTION: '1' } });
  agents.push(a);
  const b = spawnAgentChild({
    NODE_NAME: 'b',
    LOCAL_XDS_PATH: configPath,
    AMBIT_BIND_ADDRESS: addrs.nodeB,
    AMBIT_ADMIN_BIND_ADDRESS: addrs.nodeB,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: stateDir,
    AMBIT_WORKERS: '2',
    CONNECTION_TERMINATION_DEADLINE: `${DEADLINE_MS / 1000}s`,
  });
  await b.waitForOutput('ambit node agent started');
  assert.match(b.output(), /"workers":2/);
  const tunnels: Socket[] = await Promise.all(
    Array.from({ length: 16 }, () => socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client)),
  );
  await Promise.all(tunnels.map(async (s, i) => {
    s.write(`open ${i}\n`);
    assert.equal((await readN(s, `open ${i}\n`.length)).toString(), `open ${i}\n`);
    s.on('error', () => undefined);
  }));
  const metrics = await (await fetch(`http://${addrs.nodeB}:15020/metrics`)).text();
  for (const w of ['1', '2']) {
    assert.ok(metricSum(metrics, 'ambit_worker_connections_opened_total', { worker: w }) > 0, `worker ${w} of b carries none of the tunnels`);
  }
  const ended = tunnels.map((s) => new Promise<void>((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
  }));
  const signalled = Date.now();
  b.child.kill('SIGTERM');
  const { code, at } = await b.exited;
  assert.equal(code, 0, b.output().slice(-2000));
  assert.ok(at - signalled <= DEADLINE_MS + 1_000, `exited ${at - signalled} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
  // Idle tunnels do not end by themselves: the deadline cut them.
  await Promise.all(ended);
  assert.match(b.output(), /drain deadline reached/);
  const ports: Array<[string, number]> = [
    [addrs.nodeB, 15001],
    [addrs.nodeB, 15080],
    [addrs.nodeB, 15000],
    [addrs.nodeB, 15020],
    [addrs.nodeB, 15021],
    [addrs.echo, 15008],
    [addrs.echo, 15006],
    [addrs.tcpEcho, 15008],
    [addrs.tcpEcho, 15006],
  ];
  for (const [host, port] of ports) assert.equal(await portFree(host, port), true, `${host}:${port} still bound after exit`);
  for (const s of tunnels) s.destroy();
});
