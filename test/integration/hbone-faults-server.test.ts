// The agent as HBONE server against a fault-injecting client (test/helpers/fault-peer.ts): a peer
// that dies, resets or falls silent costs only its own session, promptly, and never fakes an EOF.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { faultClient, meshCertFromStateDir, type Fault, type FaultClient } from '../helpers/fault-peer.js';
import type { TestCert } from '../helpers/certs.js';
import { CLIENT_ID, meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const addrs = meshAddresses(randomLoopbackPrefix());
const HBONE_PORT = 15008;
// Short keepalive so the silent-peer case is measured in seconds: PING every 1 s, dead after 2 s.
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 2000;

/** What the destination app saw on one connection. */
interface AppConn {
  bytes: number;
  ended: boolean;
  error: string | undefined;
  closed: Promise<void>;
}

let agent: TestAgent;
let app: Server;
const appConns: AppConn[] = [];
let cert: TestCert;
const clients: FaultClient[] = [];

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function hboneStats(): { sessions: number; streams: number } {
  return agent.agent.proxy.hboneStats().server;
}

async function open(): Promise<FaultClient> {
  const c = await faultClient({ host: addrs.echo, port: HBONE_PORT, localAddress: addrs.client, cert });
  clients.push(c);
  return c;
}

/** Sends `text` on a fresh CONNECT stream and returns the echoed reply. */
async function echoRoundTrip(c: FaultClient, text: string): Promise<string> {
  const stream = await c.connect(`${addrs.echo}:${addrs.echoPort}`);
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  stream.end(text);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', () => (stream.readableEnded ? resolve() : reject(new Error(`stream closed without END_STREAM (rst ${stream.rstCode})`))));
  });
  return Buffer.concat(chunks).toString();
}

before(async () => {
  app = createServer({ allowHalfOpen: true }, (s: Socket) => {
    const rec: AppConn = { bytes: 0, ended: false, error: undefined, closed: Promise.resolve() };
    rec.closed = new Promise((resolve) => s.once('close', () => resolve()));
    appConns.push(rec);
    s.on('data', (d: Buffer) => {
      rec.bytes += d.length;
      s.write(d);
    });
    s.on('end', () => {
      rec.ended = true;
      s.end();
    });
    s.on('error', (err: NodeJS.ErrnoException) => (rec.error = err.code ?? err.message));
  });
  await new Promise<void>((resolve) => app.listen(addrs.echoPort, addrs.echo, resolve));
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configPath = writeConfig(dir, meshYaml(addrs));
  agent = await startAgent({
    nodeName: 'b',
    bind: addrs.nodeB,
    configPath,
    stateDir,
    env: { AMBIT_HTTP2_PING_INTERVAL: `${PING_INTERVAL_MS}ms`, AMBIT_HTTP2_PING_TIMEOUT: `${PING_TIMEOUT_MS}ms` },
  });
  cert = await meshCertFromStateDir(stateDir, CLIENT_ID);
  // Warm everything that allocates fds once (certificates, listeners, lazy modules).
  const warm = await open();
  assert.equal(await echoRoundTrip(warm, 'warm'), 'warm');
  warm.destroy();
  await waitUntil(() => hboneStats().sessions === 0);
});

after(async () => {
  for (const c of clients) c.destroy();
  agent?.agent.destroy();
  await new Promise<void>((resolve) => app.close(() => resolve()));
});

/** Waits until fds are back to `base` (sockets close asynchronously). */
async function fdsBackTo(base: number): Promise<void> {
  try {
    await waitUntil(() => fdCount() <= base, 3000);
  } catch {
    assert.fail(`file descriptors did not return to baseline: ${fdCount()} open, baseline ${base}`);
  }
}

/** ms until the agent holds no HBONE session, failing past `limitMs`. */
async function sessionDropTime(t0: number, limitMs: number): Promise<number> {
  await waitUntil(() => hboneStats().sessions === 0, limitMs + 2000);
  return Date.now() - t0;
}

test('bare FIN from an idle peer: session dropped in under 1 s, fds back to baseline, next connection works at once', async () => {
  const base = fdCount();
  const c = await open();
  assert.equal(await echoRoundTrip(c, 'hello'), 'hello');
  assert.equal(hboneStats().sessions, 1);
  const t0 = Date.now();
  await c.inject('fin');
  const ms = await sessionDropTime(t0, 1000);
  assert.ok(ms < 1000, `session dropped after ${ms} ms`);
  c.destroy();
  await fdsBackTo(base);
  const t1 = Date.now();
  const next = await open();
  assert.equal(await echoRoundTrip(next, 'again'), 'again');
  assert.ok(Date.now() - t1 < 1000, 'next connection took over a second');
  next.destroy();
  await fdsBackTo(base);
});

for (const fault of ['fin', 'goaway-fin', 'rst'] as const satisfies readonly Fault[]) {
  test(`${fault} mid-stream: the app sees a reset (not EOF), the access log an error, the session goes in under 1 s`, async () => {
    const base = fdCount();
    const c = await open();
    // The agent connects to the app before it answers the CONNECT: count app connections first.
    const before = appConns.length;
    const stream = await c.connect(`${addrs.echo}:${addrs.echoPort}`);
    stream.resume();
    stream.write(Buffer.alloc(256 * 1024, 7));
    await waitUntil(() => appConns.length > before && appConns[before]!.bytes >= 256 * 1024);
    const conn = appConns[before]!;
    const t0 = Date.now();
    await c.inject(fault);
    await conn.closed;
    assert.equal(conn.ended, false, 'the app got a clean EOF for a truncated stream');
    assert.equal(conn.error, 'ECONNRESET', `the app saw ${conn.error ?? 'a close without error'}`);
    const ms = await sessionDropTime(t0, 1000);
    assert.ok(ms < 1000, `session dropped after ${ms} ms`);
    const line = await agent.logs.waitFor((l) => l.msg === 'connection complete' && l['direction'] === 'inbound' && typeof l['error'] === 'string' && l['bytes_recv'] === 256 * 1024);
    assert.equal(line['response_flags'], 'CONNECT');
    assert.match(String(line['error']), /cut off before the peer ended it/);
    c.destroy();
    await fdsBackTo(base);
  });
}

test('silent peer: the keepalive drops the session after its timeout and the app connection is reset', async () => {
  const base = fdCount();
  const c = await open();
  const before = appConns.length;
  const stream = await c.connect(`${addrs.echo}:${addrs.echoPort}`);
  stream.resume();
  stream.write('x');
  await waitUntil(() => appConns.length > before && appConns[before]!.bytes === 1);
  const conn = appConns[before]!;
  const t0 = Date.now();
  await c.inject('silent');
  const ms = await sessionDropTime(t0, PING_INTERVAL_MS + PING_TIMEOUT_MS);
  // First unanswered PING goes out within one interval, then the timeout runs.
  assert.ok(ms >= PING_TIMEOUT_MS - 100, `dropped after ${ms} ms, before the PING timeout`);
  assert.ok(ms <= PING_INTERVAL_MS + PING_TIMEOUT_MS + 500, `dropped after ${ms} ms`);
  await conn.closed;
  assert.equal(conn.ended, false);
  assert.equal(conn.error, 'ECONNRESET');
  c.destroy();
  await fdsBackTo(base);
});

test('a thousand peers that vanish leave no session and no file descriptor behind', async () => {
  const base = fdCount();
  for (let round = 0; round < 10; round++) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => open()));
    await Promise.all(batch.map((c) => c.inject(round % 2 === 0 ? 'fin' : 'rst')));
    for (const c of batch) c.destroy();
    clients.length = 0;
  }
  await waitUntil(() => hboneStats().sessions === 0, 5000);
  await fdsBackTo(base);
  const c = await open();
  assert.equal(await echoRoundTrip(c, 'still serving'), 'still serving');
  c.destroy();
});
