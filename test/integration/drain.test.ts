// The real `ambit node` process under SIGTERM: it stops accepting, lets a live HBONE transfer
// finish within the drain deadline, exits 0; and it refuses to start on a bad setting.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer } from '../helpers/tcp.js';

const AMBIT = fileURLToPath(new URL('../../src/bin/ambit.js', import.meta.url));
const children: ChildProcess[] = [];
const agents: TestAgent[] = [];

after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const a of agents) a.agent.destroy();
});

function spawnAgent(env: Record<string, string>, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [AMBIT, 'node', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** Resolves when the child's stdout has printed a line containing `text`. */
function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes(text)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}": ${buf.slice(-2000)}`)));
  });
}

test('SIGTERM drains a live transfer to completion, then the process exits 0', async () => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const configPath = writeConfig(dir, meshYaml(addrs));
  const stateDir = join(dir, 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  after(() => echo.close());
  const a = await startAgent({ nodeName: 'a', bind: addrs.nodeA, configPath, stateDir });
  agents.push(a);
  const child = spawnAgent({
    NODE_NAME: 'b',
    LOCAL_XDS_PATH: configPath,
    AMBIT_BIND_ADDRESS: addrs.nodeB,
    AMBIT_ADMIN_BIND_ADDRESS: addrs.nodeB,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: stateDir,
    CONNECTION_TERMINATION_DEADLINE: '20s',
  });
  await waitForOutput(child, 'ambit node agent started');
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
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await waitForOutput(child, 'draining');
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
  const [code] = (await exited) as [number];
  assert.equal(code, 0);
});

test('an invalid setting stops start-up with an error naming it', async () => {
  const child = spawnAgent({ AMBIT_PORT_HBONE: 'eighty', PROXY_MODE: 'sideways' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 2);
  assert.match(stderr, /AMBIT_PORT_HBONE/);
  assert.match(stderr, /eighty/);
  assert.match(stderr, /PROXY_MODE/);
});

test('an invalid config file stops start-up with an error naming the file and the path in it', async () => {
  const dir = tempDir();
  const configPath = writeConfig(dir, 'workloads:\n- namespace: default\n  workloadIps: ["1.2.3.4"]\n  protocoll: HBONE\n');
  const child = spawnAgent({ LOCAL_XDS_PATH: configPath, AMBIT_BIND_ADDRESS: '127.0.0.1', AMBIT_PORT_READINESS: '0', AMBIT_STATE_DIR: join(dir, 's') });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 1);
  assert.ok(stderr.includes(configPath), stderr);
  assert.match(stderr, /workloads\[0\]/);
  assert.match(stderr, /protocoll/);
});
