// A silent HBONE peer made real: the agent runs in its own network namespace and iptables drops the
// peer's packets both ways. The keepalive must drop the session after its timeout, release every fd
// of the agent process, and the next connection must succeed at once once the peer is reachable.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { connectInNetns, listenInNetns, loadNativeSockets, type NativeSockets } from '../../src/sockets/index.js';
import { tempDir, writeConfig } from '../helpers/agent.js';
import { spawnAgentChild, type AgentChild } from '../helpers/agent-child.js';
import { faultClient, faultServer, meshCertFromStateDir, type FaultServer } from '../helpers/fault-peer.js';
import { CLIENT_ID } from '../helpers/mesh-config.js';
import { createLoopbackNetns, type LoopbackNetns } from '../helpers/netns-loopback.js';
import { socks5Handshake } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const AGENT_IP = '127.0.0.1';
const CLIENT_IP = '127.0.0.11';
const ECHO_IP = '127.0.0.21';
const PEER_IP = '127.0.0.31';
const PEER_ID = 'spiffe://cluster.local/ns/default/sa/peer';
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;

const yaml = `workloads:
- uid: Kubernetes//v1/Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["${CLIENT_IP}"]
  protocol: HBONE
  node: a
- uid: Kubernetes//v1/Pod/default/echo
  name: echo
  namespace: default
  serviceAccount: echo
  workloadIps: ["${ECHO_IP}"]
  protocol: HBONE
  node: a
- uid: Kubernetes//v1/Pod/default/peer
  name: peer
  namespace: default
  serviceAccount: peer
  workloadIps: ["${PEER_IP}"]
  protocol: HBONE
  node: b
services: []
policies: []
`;

let ns: LoopbackNetns;
let nat: NativeSockets;
let agent: AgentChild;
let peer: FaultServer;
let stateDir: string;
const closers: Array<() => unknown> = [];
/** What the echo app saw on each connection. */
const appConns: Array<{ ended: boolean; error: string | undefined; closed: Promise<void> }> = [];

function netnsPath(): string {
  return `/var/run/netns/${ns.name}`;
}

function agentFds(): number {
  return readdirSync(`/proc/${agent.child.pid}/fd`).length;
}

/** Drops every packet between `a` and `b` (both directions) inside the namespace; returns the undo. */
async function partition(a: string, b: string): Promise<() => Promise<void>> {
  const rules = [
    ['-s', a, '-d', b, '-j', 'DROP'],
    ['-s', b, '-d', a, '-j', 'DROP'],
  ];
  for (const r of rules) {
    const res = await ns.exec(['iptables', '-w', '-I', 'INPUT', ...r]);
    assert.equal(res.code, 0, res.stderr);
  }
  return async () => {
    for (const r of rules) await ns.exec(['iptables', '-w', '-D', 'INPUT', ...r]);
  };
}

/** A SOCKS5 round trip from the client workload to the peer workload (HBONE through the agent's pool). */
async function roundTripToPeer(text: string): Promise<string> {
  const s = await connectInNetns(nat, { netns: netnsPath(), target: { ip: AGENT_IP, port: 15080 }, source: { ip: CLIENT_IP }, transparent: false, timeoutMs: 5000 });
  s.resume();
  await socks5Handshake(s, { host: PEER_IP, port: 8080 });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.end(text);
  await new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
  s.destroy();
  return Buffer.concat(chunks).toString();
}

before(async () => {
  const load = loadNativeSockets();
  if (!load.ok) throw new Error(`native socket addon unavailable: ${load.reason}`);
  nat = load.native;
  ns = await createLoopbackNetns('silent');
  const dir = tempDir();
  stateDir = join(dir, 'state');
  agent = spawnAgentChild(
    {
      NODE_NAME: 'a',
      LOCAL_XDS_PATH: writeConfig(dir, yaml),
      AMBIT_BIND_ADDRESS: AGENT_IP,
      AMBIT_ADMIN_BIND_ADDRESS: AGENT_IP,
      AMBIT_INBOUND_BIND: 'workloads',
      AMBIT_STATE_DIR: stateDir,
      AMBIT_LOG_LEVEL: 'info',
      AMBIT_HTTP2_PING_INTERVAL: `${PING_INTERVAL_MS}ms`,
      AMBIT_HTTP2_PING_TIMEOUT: `${PING_TIMEOUT_MS}ms`,
    },
    [],
    ['ip', 'netns', 'exec', ns.name],
  );
  await agent.waitForOutput('ambit node agent started');
  // The echo app behind the agent, and the peer node's HBONE endpoint, both inside the namespace.
  const echo = await listenInNetns(nat, {
    netns: netnsPath(),
    host: ECHO_IP,
    port: 8080,
    pauseOnConnect: false,
    onConnection: (s: Socket) => {
      const rec = { ended: false, error: undefined as string | undefined, closed: Promise.resolve() };
      rec.closed = new Promise((resolve) => s.once('close', () => resolve()));
      s.on('end', () => (rec.ended = true));
      s.on('error', (err: NodeJS.ErrnoException) => (rec.error = err.code ?? err.message));
      appConns.push(rec);
      s.pipe(s);
    },
  });
  closers.push(() => echo.close());
  peer = await faultServer({
    host: PEER_IP,
    port: 15008,
    cert: await meshCertFromStateDir(stateDir, PEER_ID),
    open: (onConnection) => listenInNetns(nat, { netns: netnsPath(), host: PEER_IP, port: 15008, pauseOnConnect: false, onConnection }),
  });
  closers.push(() => peer.close());
});

after(async () => {
  for (const c of closers) await c();
  await ns?.destroy();
});

test('client side: a partitioned pooled peer is dropped at the keepalive timeout, fds return, the next connection works at once', async () => {
  const base = agentFds();
  assert.equal(await roundTripToPeer('one'), 'one');
  await waitUntil(() => peer.connections.length === 1);
  // With per-workload listeners the agent dials HBONE from the client workload's address.
  const heal = await partition(CLIENT_IP, PEER_IP);
  const t0 = Date.now();
  await agent.waitForOutput('hbone connection dead, dropping', PING_INTERVAL_MS + PING_TIMEOUT_MS + 3000);
  const ms = Date.now() - t0;
  assert.ok(ms >= PING_TIMEOUT_MS - 100 && ms <= PING_INTERVAL_MS + PING_TIMEOUT_MS + 500, `dropped after ${ms} ms`);
  // The agent's side is gone; ours (the peer's) still waits behind the partition: close it.
  for (const c of [...peer.connections]) c.tap.destroy();
  await waitUntil(() => agentFds() <= base, 3000).catch(() => assert.fail(`agent fds ${agentFds()}, baseline ${base}`));
  await heal();
  const t1 = Date.now();
  assert.equal(await roundTripToPeer('two'), 'two');
  assert.ok(Date.now() - t1 < 1000, `the next connection took ${Date.now() - t1} ms`);
});

test('server side: a partitioned client is dropped at the keepalive timeout and its app connection reset', async () => {
  const cert = await meshCertFromStateDir(stateDir, CLIENT_ID);
  const dial = (): ReturnType<typeof faultClient> =>
    faultClient({
      host: ECHO_IP,
      port: 15008,
      cert,
      connectTcp: () => connectInNetns(nat, { netns: netnsPath(), target: { ip: ECHO_IP, port: 15008 }, source: { ip: CLIENT_IP }, transparent: false, timeoutMs: 5000 }),
    });
  const base = agentFds();
  const c = await dial();
  const before = appConns.length;
  const stream = await c.connect(`${ECHO_IP}:8080`);
  stream.resume();
  stream.write('x');
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  const heal = await partition(CLIENT_IP, ECHO_IP);
  const t0 = Date.now();
  await agent.waitForOutput('hbone connection dead, closing', PING_INTERVAL_MS + PING_TIMEOUT_MS + 3000);
  const ms = Date.now() - t0;
  assert.ok(ms >= PING_TIMEOUT_MS - 100 && ms <= PING_INTERVAL_MS + PING_TIMEOUT_MS + 500, `dropped after ${ms} ms`);
  const app = appConns[before]!;
  await app.closed;
  assert.equal(app.ended, false, 'the app got a clean EOF for a connection cut by a dead peer');
  assert.equal(app.error, 'ECONNRESET');
  c.destroy();
  await waitUntil(() => agentFds() <= base, 3000).catch(() => assert.fail(`agent fds ${agentFds()}, baseline ${base}`));
  await heal();
  const t1 = Date.now();
  const next = await dial();
  const s2 = await next.connect(`${ECHO_IP}:8080`);
  s2.end('again');
  const got: Buffer[] = [];
  s2.on('data', (d: Buffer) => got.push(d));
  await new Promise<void>((resolve) => s2.once('end', () => resolve()));
  assert.equal(Buffer.concat(got).toString(), 'again');
  assert.ok(Date.now() - t1 < 1000);
  next.destroy();
});
