// The SOCKS5 handshake over real loopback sockets: IPv4, IPv6 and domain targets, pipelined
// payload kept, protocol errors answered with the right SOCKS reply, and through a whole agent.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { acceptSocks5, type Socks5Target } from '../../src/proxy/index.js';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix, readN } from '../helpers/tcp.js';

const agents: TestAgent[] = [];
after(() => {
  for (const a of agents) a.agent.destroy();
});

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
  { name: 'bad request version', bytes: [5, 1, 0, 4, 1, 0, 1, 1, 2, 3, 4, 0, 80], reply: [5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0] },
  { name: 'empty domain name', bytes: [5, 1, 0, 5, 1, 0, 3, 0, 0, 80], reply: [5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0] },
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

/** Everything the server sends until it closes, and how it closed (clean FIN or an error such as ECONNRESET). */
function readToClose(s: Socket): Promise<{ bytes: Buffer; error: string | undefined }> {
  const chunks: Buffer[] = [];
  let error: string | undefined;
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  return new Promise((resolve) => s.once('close', () => resolve({ bytes: Buffer.concat(chunks), error })));
}

test('through the agent: every refusal reaches the client, then a clean close (no RST), also with pipelined input', async () => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const a = await startAgent({ nodeName: 'a', bind: addrs.nodeA, configPath: writeConfig(dir, meshYaml(addrs)), stateDir: join(dir, 'state') });
  agents.push(a);
  const refusal = (code: number): number[] => [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
  const cases = [
    { name: 'no acceptable method', bytes: [5, 1, 2], reply: [5, 0xff] },
    { name: 'BIND', bytes: [5, 1, 0, 5, 2, 0, 1, 10, 0, 0, 1, 0, 80], reply: [5, 0, ...refusal(0x07)] },
    { name: 'address type 9', bytes: [5, 1, 0, 5, 1, 0, 9, 10, 0, 0, 1, 0, 80], reply: [5, 0, ...refusal(0x08)] },
  ];
  // 4 MiB more than the handshake: bytes the agent never reads. Closing over unread input is what
  // turned the refusal into a connection reset.
  for (const extra of [0, 4 << 20]) {
    for (const c of cases) {
      const client = connect({ host: addrs.nodeA, port: 15080, localAddress: addrs.client });
      await once(client, 'connect');
      const result = readToClose(client);
      client.write(Buffer.concat([Buffer.from(c.bytes), Buffer.alloc(extra, 0x41)]));
      const { bytes, error } = await result;
      assert.deepEqual([...bytes], c.reply, `${c.name} (+${extra} bytes): the reply, and nothing after it`);
      assert.equal(error, undefined, `${c.name} (+${extra} bytes): closed with FIN, not ${error}`);
    }
  }
  const errors = await a.agent.registry.getSingleMetric('ambit_errors_total')?.get();
  const socks = errors?.values.find((v) => v.labels.component === 'socks5' && v.labels.code === 'SOCKS_PROTOCOL');
  assert.equal(socks?.value, 6);
});
