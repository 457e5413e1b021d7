// Drains that end: two `ambit node` processes with a tunnel held open between them. SIGTERM makes
// readiness 503 at once and the process exit by the deadline (+1 s) with its ports free, whatever
// the peer does; a second signal exits at once; a curl held open through SOCKS5 does not stop it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir, writeConfig } from '../helpers/agent.js';
import { killAgentChildren, portFree, readinessOf, spawnAgentChild, type AgentChild } from '../helpers/agent-child.js';
import { meshAddresses, meshYaml, type MeshAddresses } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';

const DEADLINE_MS = 2000;
const servers: Array<{ close(): unknown }> = [];

after(() => {
  killAgentChildren();
  for (const s of servers) s.close();
});

interface Mesh {
  readonly addrs: MeshAddresses;
  readonly a: AgentChild;
  readonly b: AgentChild;
  readonly echo: EchoServer;
}

function agentEnv(addrs: MeshAddresses, node: 'a' | 'b', configPath: string, stateDir: string, deadline: string): Record<string, string> {
  const bind = node === 'a' ? addrs.nodeA : addrs.nodeB;
  return {
    NODE_NAME: node,
    LOCAL_XDS_PATH: configPath,
    AMBIT_BIND_ADDRESS: bind,
    AMBIT_ADMIN_BIND_ADDRESS: bind,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: stateDir,
    AMBIT_LOG_LEVEL: 'info',
    CONNECTION_TERMINATION_DEADLINE: deadline,
  };
}

async function startMesh(deadline = `${DEADLINE_MS}ms`): Promise<Mesh> {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const configPath = writeConfig(dir, meshYaml(addrs));
  const stateDir = join(dir, 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  servers.push(echo);
  // b first: it creates the shared CA root that a then loads.
  const b = spawnAgentChild(agentEnv(addrs, 'b', configPath, stateDir, deadline));
  await b.waitForOutput('ambit node agent started');
  const a = spawnAgentChild(agentEnv(addrs, 'a', configPath, stateDir, deadline));
  await a.waitForOutput('ambit node agent started');
  return { addrs, a, b, echo };
}

/** A tunnel through both agents (SOCKS5 on a → VIP → HBONE → b → echo), proven live, then left open. */
async function holdTunnel(m: Mesh): Promise<{ socket: Socket; outcome: Promise<{ ended: boolean; error: string | undefined }> }> {
  const socket = await socks5Connect({ host: m.addrs.nodeA, port: 15080 }, { host: m.addrs.vip, port: 80 }, m.addrs.client);
  let ended = false;
  let error: string | undefined;
  socket.on('end', () => (ended = true));
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  const outcome = new Promise<{ ended: boolean; error: string | undefined }>((resolve) => socket.once('close', () => resolve({ ended, error })));
  socket.write('ping');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return { socket, outcome };
}

/** Polls readiness until it answers 503, returning how long that took (ms), or fails after 1 s. */
async function readinessGoes503(host: string, since: number): Promise<number> {
  for (;;) {
    const r = await readinessOf(host);
    if (r?.status === 503) {
      assert.equal(r.body, 'draining\n');
      return Date.now() - since;
    }
    if (Date.now() - since > 1000) assert.fail(`readiness still ${r ? `${r.status} ${r.body.trim()}` : 'unreachable'} 1 s into the drain`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function assertPortsFree(host: string, ports: number[]): Promise<void> {
  for (const port of ports) assert.ok(await portFree(host, port), `${host}:${port} is still bound after exit`);
}

test('SIGTERM with an Ambit peer holding a tunnel open: 503 at once, exit by the deadline + 1 s, ports free', async () => {
  const m = await startMesh();
  const tunnel = await holdTunnel(m);
  const t0 = Date.now();
  m.b.child.kill('SIGTERM');
  const ms503 = await readinessGoes503(m.addrs.nodeB, t0);
  assert.ok(ms503 < 500, `readiness took ${ms503} ms to turn 503`);
  const { code, at } = await m.b.exited;
  assert.equal(code, 0, m.b.output().slice(-2000));
  assert.ok(at - t0 <= DEADLINE_MS + 1000, `exited ${at - t0} ms after SIGTERM (deadline ${DEADLINE_MS} ms)`);
  assert.match(m.b.output(), /"msg":"stopped"/, 'the drain did not finish on its own (the backstop exited the process)');
  await assertPortsFree(m.addrs.nodeB, [15021, 15000, 15020, 15080, 15001]);
  await assertPortsFree(m.addrs.echo, [15008, 15006]);
  // The tunnel was cut at the deadline: its app learns it as a reset, not a clean end.
  const seen = await tunnel.outcome;
  assert.equal(seen.ended, false, 'the app saw a clean EOF for a tunnel cut by the drain');
  // The client-side agent carries on: a new tunnel fails fast (b is gone) but a itself is fine.
  assert.equal((await readinessOf(m.addrs.nodeA))?.status, 200);
  m.a.child.kill('SIGTERM');
  assert.equal((await m.a.exited).code, 0);
});

test('SIGTERM on the client-side agent with a tunnel open: 503 at once, exit by the deadline + 1 s, ports free', async () => {
  const m = await startMesh();
  const tunnel = await holdTunnel(m);
  const t0 = Date.now();
  m.a.child.kill('SIGTERM');
  const ms503 = await readinessGoes503(m.addrs.nodeA, t0);
  assert.ok(ms503 < 500, `readiness took ${ms503} ms to turn 503`);
  const { code, at } = await m.a.exited;
  assert.equal(code, 0, m.a.output().slice(-2000));
  assert.ok(at - t0 <= DEADLINE_MS + 1000, `exited ${at - t0} ms after SIGTERM`);
  assert.match(m.a.output(), /"msg":"stopped"/);
  await assertPortsFree(m.addrs.nodeA, [15021, 15000, 15020, 15080, 15001]);
  await assertPortsFree(m.addrs.client, [15008, 15006]);
  assert.equal((await tunnel.outcome).ended, false);
  // b lost its peer's session at once (FIN), so it has nothing left to drain.
  const t1 = Date.now();
  m.b.child.kill('SIGTERM');
  const b = await m.b.exited;
  assert.equal(b.code, 0);
  assert.ok(b.at - t1 < 1000, `b took ${b.at - t1} ms to drain with no peer left`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a second ${signal} during a long drain exits at once`, async () => {
    const m = await startMesh('30s');
    await holdTunnel(m);
    m.b.child.kill(signal);
    await m.b.waitForOutput('"msg":"draining"');
    const t0 = Date.now();
    m.b.child.kill(signal);
    const { code, at } = await m.b.exited;
    assert.equal(code, signal === 'SIGINT' ? 130 : 143);
    assert.ok(at - t0 < 500, `exited ${at - t0} ms after the second signal`);
    assert.match(m.b.output(), /second signal/);
    m.a.child.kill('SIGKILL');
  });
}

test('Ctrl-C with a curl held open through SOCKS5 (the quick start shape) stops the agent by the deadline', async () => {
  const m = await startMesh();
  // A server that accepts and never answers: curl waits for a response for ever.
  const silent: Server = createServer({ allowHalfOpen: true }, (s) => s.on('error', () => {}));
  await new Promise<void>((resolve) => silent.listen(8081, m.addrs.echo, resolve));
  servers.push(silent);
  const curl = new Promise<{ code: number }>((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '20', '--interface', m.addrs.client, '--socks5', `${m.addrs.nodeA}:15080`, `http://${m.addrs.echo}:8081/`],
      (err) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
  // Wait until the tunnel is up: the silent server has its connection.
  await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
  const t0 = Date.now();
  m.a.child.kill('SIGINT');
  const { code, at } = await m.a.exited;
  assert.equal(code, 0, m.a.output().slice(-2000));
  assert.ok(at - t0 <= DEADLINE_MS + 1000, `exited ${at - t0} ms after Ctrl-C`);
  await assertPortsFree(m.addrs.nodeA, [15080, 15021]);
  const c = await curl;
  assert.notEqual(c.code, 0, 'curl reported success for a cut connection');
  assert.ok(Date.now() - t0 < 10_000, 'curl hung after the agent exited');
  m.b.child.kill('SIGTERM');
  assert.equal((await m.b.exited).code, 0);
});
