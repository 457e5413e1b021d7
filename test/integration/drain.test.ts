// The real `ambit node` process under SIGTERM: it stops accepting, lets a live HBONE transfer
// finish within the drain deadline, exits 0; and it refuses to start on a bad setting.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { killAgentChildren, spawnAgentChild } from '../helpers/agent-child.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer } from '../helpers/tcp.js';

const agents: TestAgent[] = [];

after(() => {
  killAgentChildren();
  for (const a of agents) a.agent.destroy();
});

test('SIGTERM drains a live transfer to completion, then the process exits 0', async () => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const configPath = writeConfig(dir, meshYaml(addrs));
  const stateDir = join(dir, 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  after(() => echo.close());
  const a = await startAgent({ nodeName: 'a', bind: addrs.nodeA, configPath, stateDir });
  agents.push(a);
  const b = spawnAgentChild({
    NODE_NAME: 'b',
    LOCAL_XDS_PATH: configPath,
    AMBIT_BIND_ADDRESS: addrs.nodeB,
    AMBIT_ADMIN_BIND_ADDRESS: addrs.nodeB,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: stateDir,
    CONNECTION_TERMINATION_DEADLINE: '20s',
  });
  await b.waitForOutput('ambit node agent started');
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const sent = createHash('sha256');
  const recv = createHash('sha256');
  let received = 0;
  s.on('data', (d: Buffer) => {
    recv.update(d);
    received += d.length;
  });
  s.resume();
  const first = randomBytes(1024 * 1024);
  sent.update(first);
  s.write(first);
  while (received < first.length) await once(s, 'data');
  b.child.kill('SIGTERM');
  await b.waitForOutput('draining');
  // New connections are refused once draining has begun (the listener is closed).
  await assert.rejects(
    new Promise((resolve, reject) => {
      const c = connect({ host: addrs.echo, port: 15008 });
      c.once('connect', () => {
        c.destroy();
        resolve(undefined);
      });
      c.once('error', reject);
    }),
  );
  // The live transfer keeps flowing while the process drains.
  const second = randomBytes(3 * 1024 * 1024);
  sent.update(second);
  s.end(second);
  await once(s, 'end');
  assert.equal(received, first.length + second.length);
  assert.equal(recv.digest('hex'), sent.digest('hex'));
  const { code } = await b.exited;
  assert.equal(code, 0);
});

test('an invalid setting stops start-up with an error naming it', async () => {
  const child = spawnAgentChild({ AMBIT_PORT_HBONE: 'eighty', PROXY_MODE: 'sideways' });
  const { code } = await child.exited;
  const stderr = child.output();
  assert.equal(code, 2);
  assert.match(stderr, /AMBIT_PORT_HBONE/);
  assert.match(stderr, /eighty/);
  assert.match(stderr, /PROXY_MODE/);
});

test('an invalid config file stops start-up with an error naming the file and the path in it', async () => {
  const dir = tempDir();
  const configPath = writeConfig(dir, 'workloads:\n- namespace: default\n  workloadIps: ["1.2.3.4"]\n  protocoll: HBONE\n');
  const child = spawnAgentChild({ LOCAL_XDS_PATH: configPath, AMBIT_BIND_ADDRESS: '127.0.0.1', AMBIT_PORT_READINESS: '0', AMBIT_STATE_DIR: join(dir, 's') });
  const { code } = await child.exited;
  const stderr = child.output();
  assert.equal(code, 1);
  assert.ok(stderr.includes(configPath), stderr);
  assert.match(stderr, /workloads\[0\]/);
  assert.match(stderr, /protocoll/);
});
