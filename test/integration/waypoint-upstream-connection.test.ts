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
