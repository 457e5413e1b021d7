// The waypoint's pooled HTTP/1.1 upstream connection (H1Connection) over a real socket whose peer
// half-closes, as a node agent relays an app's FIN (END_STREAM, its side kept open): an idle
// connection is dropped rather than reused, and a close-delimited answer in flight is read whole.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { H1Connection } from '../../src/waypoint/upstream-connection.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** A server that answers each request with `reply`, then (after `endAfterMs`) ends its side only. */
async function halfClosingServer(reply: string, endAfterMs: number): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      s.write(reply);
      setTimeout(() => s.end(), endAfterMs);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function connection(port: number): Promise<{ conn: H1Connection; events: string[]; closed: Promise<void> }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(socket);
  await once(socket, 'connect');
  const events: string[] = [];
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const conn = new H1Connection(socket, {
    unusable: () => events.push('unusable'),
    closed: () => {
      events.push('closed');
      closedResolve();
    },
  });
  return { conn, events, closed };
}

function get(conn: H1Connection): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: conn.agent, host: 'reviews', path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`not within ${ms} ms: ${what}`)), ms))]);

test('an idle connection whose peer ended its side is reported unusable and closed, not kept for the next request', async () => {
  const port = await halfClosingServer('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok', 100);
  const { conn, events, closed } = await connection(port);
  let done = 0;
  conn.attached(() => done++);
  assert.deepEqual(await get(conn), { status: 200, body: 'ok' });
  await new Promise((r) => setImmediate(r));
  assert.equal(done, 1, 'the stream ended when the socket went back to the agent');
  // The peer's FIN arrives 100 ms later: the connection must go away by itself.
  await within(closed, 2000, 'the connection closed after the peer ended');
  assert.deepEqual(events, ['unusable', 'closed']);
});

test('a close-delimited answer in flight is read whole when the peer ends; then the connection closes', async () => {
  const port = await halfClosingServer('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nbody until the end', 50);
  const { conn, events, closed } = await connection(port);
  let done = 0;
  conn.attached(() => done++);
  assert.deepEqual(await within(get(conn), 2000, 'the answer'), { status: 200, body: 'body until the end' });
  await within(closed, 2000, 'the connection closed');
  assert.equal(done, 1);
  assert.ok(events.includes('closed'));
});

/** A keep-alive HTTP/1.1 server recording, per request, the socket it came on and its head. */
async function recordingServer(): Promise<{ port: number; seen: Array<{ socket: number; head: http.IncomingHttpHeaders }>; closeNext: { value: boolean } }> {
  const seen: Array<{ socket: number; head: http.IncomingHttpHeaders }> = [];
  const closeNext = { value: false };
  const ids = new Map<object, number>();
  const server = http.createServer((req, res) => {
    if (!ids.has(req.socket)) ids.set(req.socket, ids.size + 1);
    seen.push({ socket: ids.get(req.socket)!, head: req.headers });
    if (closeNext.value) res.setHeader('connection', 'close');
    res.end('ok');
  });
  servers.push(server as unknown as net.Server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, seen, closeNext };
}

test('requests in sequence reuse the one socket (keep-alive), each stream ending when its answer is complete', async () => {
  const srv = await recordingServer();
  const { conn, events } = await connection(srv.port);
  let done = 0;
  for (let i = 0; i < 3; i++) {
    conn.attached(() => done++);
    assert.deepEqual(await get(conn), { status: 200, body: 'ok' });
    await new Promise((r) => setImmediate(r));
    assert.equal(done, i + 1, `stream ${i + 1} ended`);
  }
  assert.deepEqual(srv.seen.map((s) => s.socket), [1, 1, 1], 'one upstream connection');
  assert.ok(srv.seen.every((s) => s.head.connection === 'keep-alive'));
  assert.deepEqual(events, []);
});

test('a Connection: close answer ends the connection; a request asked of it afterwards fails as a connect failure', async () => {
  const srv = await recordingServer();
  srv.closeNext.value = true;
  const { conn, events, closed } = await connection(srv.port);
  let done = 0;
  conn.attached(() => done++);
  assert.deepEqual(await get(conn), { status: 200, body: 'ok' });
  await within(closed, 2000, 'the connection closed');
  assert.equal(done, 1);
  assert.ok(events.includes('closed'));
  const err = await get(conn).then(() => undefined, (e: unknown) => e as { code?: string });
  assert.equal(err?.code, 'UPSTREAM_CONNECT');
});
