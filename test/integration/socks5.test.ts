// The SOCKS5 handshake over real loopback sockets: IPv4, IPv6 and domain targets, pipelined
// payload kept, and protocol errors answered with the right SOCKS reply.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { acceptSocks5, type Socks5Target } from '../../src/proxy/index.js';
import { readN } from '../helpers/tcp.js';

async function handshake(bytes: Buffer, replyLength: number, end = false): Promise<{ result: Socks5Target | Error; reply: Buffer; server: Socket; client: Socket }> {
  const srv = createServer({ pauseOnConnect: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port });
  const [server] = await accepted;
  srv.close();
  if (end) client.end(bytes);
  else client.write(bytes);
  const result = await acceptSocks5(server, 2000).catch((e: Error) => e);
  const reply = replyLength > 0 ? await readN(client, replyLength) : Buffer.alloc(0);
  return { result, reply, server, client };
}

const port = (p: number): number[] => [p >> 8, p & 0xff];

test('IPv4 CONNECT: target parsed, bytes after the request stay for the proxy', async () => {
  const { result, reply, server, client } = await handshake(
    Buffer.from([5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, ...port(8080), ...Buffer.from('early payload')]),
    2,
  );
  assert.deepEqual(result, { kind: 'ip', ip: '10.1.2.3', port: 8080 });
  assert.deepEqual([...reply], [5, 0]);
  assert.equal((await readN(server, 13)).toString(), 'early payload');
  client.destroy();
  server.destroy();
});

test('IPv6 and domain targets', async () => {
  const v6 = Buffer.alloc(16);
  v6.writeUInt16BE(0xfd00, 0);
  v6.writeUInt16BE(1, 14);
  const a = await handshake(Buffer.from([5, 1, 0, 5, 1, 0, 4, ...v6, ...port(443)]), 2);
  assert.deepEqual(a.result, { kind: 'ip', ip: 'fd00::1', port: 443 });
  const name = Buffer.from('echo.default.svc.cluster.local');
  const b = await handshake(Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length, ...name, ...port(80)]), 2);
  assert.deepEqual(b.result, { kind: 'domain', host: 'echo.default.svc.cluster.local', port: 80 });
  for (const x of [a, b]) {
    x.client.destroy();
    x.server.destroy();
  }
});

const errors: Array<{ name: string; bytes: number[]; reply: number[] }> = [
  { name: 'SOCKS4 version', bytes: [4, 1, 0, 80, 127, 0, 0, 1, 0], reply: [] },
  { name: 'no no-auth method offered', bytes: [5, 1, 2], reply: [5, 0xff] },
  { name: 'BIND command', bytes: [5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80], reply: [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0] },
  { name: 'unknown address type', bytes: [5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80], reply: [5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0] },
  { name: 'truncated request then EOF', bytes: [5, 1, 0, 5, 1], reply: [5, 0] },
];

for (const e of errors) {
  test(`protocol error: ${e.name} → SOCKS_PROTOCOL with the protocol's reply`, async () => {
    const bytes = Buffer.from(e.bytes);
    const { result: err, reply, client, server } = await handshake(bytes, e.reply.length, e.name.startsWith('truncated'));
    assert.ok(err instanceof Error);
    assert.equal((err as Error & { code: string }).code, 'SOCKS_PROTOCOL');
    assert.deepEqual([...reply], e.reply);
    client.destroy();
    server.destroy();
  });
}
