// The agent as HBONE client (its connection pool) against a fault-injecting server: a pooled peer
// that dies, resets, falls silent or restarts is noticed at once and never fakes an EOF to the app.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { faultServer, meshCertFromStateDir, type Fault, type FaultServer, type FaultStreamHandler } from '../helpers/fault-peer.js';
import { meshAddresses } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix, socks5Connect } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const addrs = meshAddresses(randomLoopbackPrefix());
const FAULT_IP = `${addrs.prefix}.31`;
const FAULT_ID = 'spiffe://cluster.local/ns/default/sa/fault';
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;

const yaml = `workloads:
- uid: Kubernetes//v1/Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["${addrs.client}"]
  protocol: HBONE
  node: a
- uid: Kubernetes//v1/Pod/default/fault
  name: fault
  namespace: default
  serviceAccount: fault
  workloadIps: ["${FAULT_IP}"]
  protocol: HBONE
  node: b
services: []
policies: []
`;

let agent: TestAgent;
let server: FaultServer;
/** What the fault server does with the next CONNECT streams (default: echo). */
let handler: FaultStreamHandler | undefined;

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function poolConnections(): number {
  return agent.agent.proxy.hboneStats().pool.connections;
}

function dial(): Promise<Socket> {
  return socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: FAULT_IP, port: 8080 }, addrs.client);
}

/** One request/reply through the mesh; the connection is closed after it. */
async function roundTrip(text: string): Promise<string> {
  const s = await dial();
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

/** What the app saw on a connection: a clean EOF, or an error code. */
function outcome(s: Socket): Promise<{ ended: boolean; error: string | undefined; bytes: number }> {
  let bytes = 0;
  let ended = false;
  let error: string | undefined;
  s.on('data', (d: Buffer) => (bytes += d.length));
  s.on('end', () => (ended = true));
  s.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  return new Promise((resolve) => s.once('close', () => resolve({ ended, error, bytes })));
}

async function fdsBackTo(base: number): Promise<void> {
  try {
    await waitUntil(() => fdCount() <= base, 3000);
  } catch {
    assert.fail(`file descriptors did not return to baseline: ${fdCount()} open, baseline ${base}`);
  }
}

before(async () => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  agent = await startAgent({
    nodeName: 'a',
    bind: addrs.nodeA,
    configPath: writeConfig(dir, yaml),
    stateDir,
    env: { AMBIT_HTTP2_PING_INTERVAL: `${PING_INTERVAL_MS}ms`, AMBIT_HTTP2_PING_TIMEOUT: `${PING_TIMEOUT_MS}ms` },
  });
  server = await faultServer({
    host: FAULT_IP,
    port: 15008,
    cert: await meshCertFromStateDir(stateDir, FAULT_ID),
    onStream: (stream, conn, headers) => (handler ? handler(stream, conn, headers) : stream.pipe(stream)),
  });
  assert.equal(await roundTrip('warm'), 'warm');
});

after(async () => {
  agent?.agent.destroy();
  await server?.close();
});

test('bare FIN from the pooled peer while idle: dropped from the pool in under 1 s; the next connection dials afresh at once', async () => {
  handler = undefined;
  assert.equal(await roundTrip('one'), 'one');
  await waitUntil(() => poolConnections() === 1);
  const base = fdCount();
  const t0 = Date.now();
  for (const c of [...server.connections]) c.tap.fin();
  await waitUntil(() => poolConnections() === 0, 3000);
  const ms = Date.now() - t0;
  assert.ok(ms < 1000, `pool dropped the connection after ${ms} ms`);
  const accepted = server.accepted;
  const t1 = Date.now();
  assert.equal(await roundTrip('two'), 'two');
  assert.ok(Date.now() - t1 < 1000, 'the next connection took over a second');
  assert.equal(server.accepted, accepted + 1, 'the next connection did not dial a new HBONE connection');
  for (const c of [...server.connections]) c.tap.fin();
  await waitUntil(() => poolConnections() === 0, 3000);
  // The baseline held one pooled connection: its socket on each side.
  await fdsBackTo(base - 2);
});

for (const fault of ['fin', 'goaway-fin', 'rst'] as const satisfies readonly Fault[]) {
  test(`${fault} from the peer mid-stream: the app gets a reset, not an EOF, and the access log an error`, async () => {
    const payload = Buffer.alloc(512 * 1024, 3);
    handler = (stream, conn) => {
      stream.write(payload, () => {
        void import('../helpers/fault-peer.js').then(({ injectFault }) => injectFault(conn.tap, conn.session, fault));
      });
    };
    const failedLines = (): number =>
      agent.logs.lines.filter((l) => l.msg === 'connection complete' && l['direction'] === 'outbound' && l['error'] !== undefined).length;
    const failedBefore = failedLines();
    const s = await dial();
    const seen = outcome(s);
    s.write('go');
    const result = await seen;
    assert.equal(result.ended, false, `the app got a clean EOF after ${result.bytes} bytes of a truncated stream`);
    assert.equal(result.error, 'ECONNRESET');
    await waitUntil(() => poolConnections() === 0, 1000);
    await waitUntil(() => failedLines() > failedBefore);
    const line = agent.logs.lines.filter((l) => l.msg === 'connection complete' && l['direction'] === 'outbound' && l['error'] !== undefined).at(-1)!;
    assert.equal(line['dst.addr'], `${FAULT_IP}:15008`);
    assert.match(String(line['error']), /cut off before the peer ended it/);
    assert.equal(line['response_flags'], 'CONNECT');
    handler = undefined;
    assert.equal(await roundTrip('after'), 'after');
  });
}

test('silent pooled peer: dropped once the keepalive times out; the next connection succeeds at once', async () => {
  handler = undefined;
  assert.equal(await roundTrip('x'), 'x');
  await waitUntil(() => poolConnections() === 1);
  const t0 = Date.now();
  for (const c of [...server.connections]) c.tap.blackhole();
  await waitUntil(() => poolConnections() === 0, PING_INTERVAL_MS + PING_TIMEOUT_MS + 2000);
  const ms = Date.now() - t0;
  assert.ok(ms >= PING_TIMEOUT_MS - 100 && ms <= PING_INTERVAL_MS + PING_TIMEOUT_MS + 500, `dropped after ${ms} ms`);
  const t1 = Date.now();
  assert.equal(await roundTrip('back'), 'back');
  assert.ok(Date.now() - t1 < 1000);
});

test('the peer restarts while the pool is idle: every next connection succeeds at once (5 restarts)', async () => {
  handler = undefined;
  for (let i = 0; i < 5; i++) {
    assert.equal(await roundTrip(`before ${i}`), `before ${i}`);
    await server.crash();
    await server.listen();
    const t0 = Date.now();
    assert.equal(await roundTrip(`after ${i}`), `after ${i}`);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `restart ${i}: the next connection took ${ms} ms`);
  }
});

test('a stream the peer refuses before answering is retried once, on a new connection', async () => {
  handler = undefined;
  assert.equal(await roundTrip('warm'), 'warm');
  const accepted = server.accepted;
  server.refuseNext = 1;
  assert.equal(await roundTrip('retry'), 'retry');
  assert.equal(server.refuseNext, 0, 'the peer never saw the first attempt');
  assert.equal(server.accepted, accepted + 1, 'the retry did not use a new connection');
});
