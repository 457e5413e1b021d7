// A mesh peer's HBONE CONNECT to a workload address that is also where the agent's admin, stats
// and readiness servers listen: 503 (SELF_CALL), logged and counted; the app ports still work.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/log.js';
import { isMeshError } from '../../src/common/errors.js';
import { HbonePool } from '../../src/hbone/index.js';
import { clientConnectOptions } from '../../src/tls/index.js';
import { EMBEDDED_EXAMPLE_YAML } from '../../src/xds/index.js';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { randomLoopbackPrefix, startEchoServer, type EchoServer } from '../helpers/tcp.js';

const PEER_ID = 'spiffe://cluster.local/ns/default/sa/mesh-peer';
const q = randomLoopbackPrefix();
const NODE = `${q}.1`;

/** Agent "pinned": its workload's address is its bind and admin bind address, default ports. */
let pinned: TestAgent;
/** Agent on the built-in example (workload default/local on 127.0.0.1, admin on 127.0.0.1), OS-chosen ports. */
let example: TestAgent;
const echoes: EchoServer[] = [];
let quits = 0;

before(async () => {
  const dir = tempDir();
  const yaml = `workloads:
- uid: Kubernetes//Pod/default/self
  name: self
  namespace: default
  serviceAccount: self
  workloadIps: ["${NODE}"]
  protocol: HBONE
  node: pinned
`;
  echoes.push(await startEchoServer(NODE), await startEchoServer('127.0.0.1'));
  pinned = await startAgent({ nodeName: 'pinned', bind: NODE, configPath: writeConfig(dir, yaml), stateDir: `${dir}/state-a`, onQuit: () => quits++ });
  const env: Record<string, string> = {};
  for (const k of ['ADMIN', 'STATS', 'READINESS', 'SOCKS5', 'OUTBOUND', 'HBONE', 'INBOUND']) env[`AMBIT_PORT_${k}`] = '0';
  example = await startAgent({
    nodeName: 'local',
    bind: '127.0.0.1',
    configPath: writeConfig(dir, EMBEDDED_EXAMPLE_YAML, 'example.yaml'),
    stateDir: `${dir}/state-b`,
    env,
    onQuit: () => quits++,
  });
});

after(async () => {
  pinned?.agent.destroy();
  example?.agent.destroy();
  for (const e of echoes) await e.close();
});

/**
 * One CONNECT from a mesh peer: a workload certificate of the target's mesh CA for another
 * identity (what any peer node holds), TLS 1.3 + HTTP/2 to the workload's 15008. Returns the status.
 */
async function connectAs(agent: TestAgent, workloadIp: string, serverId: string, authority: string): Promise<number> {
  const hbone = agent.agent.proxy.addresses().hbone.find((a) => a.address === workloadIp);
  assert.ok(hbone, `an HBONE listener on ${workloadIp}`);
  const cert = await agent.agent.certs.fetch(PEER_ID);
  const { config } = agent.agent;
  const pool = new HbonePool({ http2: config.http2, pool: config.pool, connectTimeoutMs: 5_000, logger: silentLogger() });
  try {
    const { stream } = await pool.connect({
      key: `${PEER_ID}|${authority}`,
      nextHop: { ip: workloadIp, port: hbone.port },
      tls: () => clientConnectOptions(cert, [serverId]),
      authority,
      headers: {},
    });
    stream.close();
    return 200;
  } catch (err) {
    if (isMeshError(err, 'HBONE_STATUS')) return err.status;
    throw err;
  } finally {
    pool.destroy();
  }
}

async function selfCalls(agent: TestAgent): Promise<number> {
  return metricSum(await agent.agent.registry.metrics(), 'ambit_errors_total', { component: 'inbound', code: 'SELF_CALL' });
}

test('workload address = admin bind address: CONNECT to admin, stats, readiness → 503; an app port → 200', async () => {
  const id = 'spiffe://cluster.local/ns/default/sa/self';
  const { ports } = pinned.agent.config;
  const before = await selfCalls(pinned);
  for (const port of [ports.admin, ports.stats, ports.readiness]) {
    assert.equal(await connectAs(pinned, NODE, id, `${NODE}:${port}`), 503, `${NODE}:${port}`);
  }
  assert.equal((await selfCalls(pinned)) - before, 3);
  const line = await pinned.logs.waitFor((l) => l.msg === 'connection failed' && l.direction === 'inbound' && /own admin listener/.test(String(l.error)));
  assert.equal(line.level, 40, 'WARN');
  assert.equal(await connectAs(pinned, NODE, id, `${NODE}:${echoes[0]!.port}`), 200, 'the rig itself works');
  assert.equal(quits, 0);
});

test('built-in example (workload 127.0.0.1, admin 127.0.0.1): CONNECT to admin, stats, readiness → 503; 127.0.0.1:<app> → 200', async () => {
  const id = 'spiffe://cluster.local/ns/default/sa/default';
  const servers = example.agent.addresses();
  const before = await selfCalls(example);
  for (const port of [servers.admin!.port, servers.stats!.port, servers.readiness!.port]) {
    assert.equal(await connectAs(example, '127.0.0.1', id, `127.0.0.1:${port}`), 503, `127.0.0.1:${port}`);
  }
  assert.equal((await selfCalls(example)) - before, 3);
  assert.equal(await connectAs(example, '127.0.0.1', id, `127.0.0.1:${echoes[1]!.port}`), 200);
  assert.equal(quits, 0);
  const res = await fetch(`http://127.0.0.1:${servers.admin!.port}/`);
  assert.equal(res.status, 200, 'admin itself is still up');
});
