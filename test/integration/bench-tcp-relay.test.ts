// The bench's Node-floor relay: route parsing, and a real relay process on loopback carrying bytes
// both ways with half-close, as the bench's fourth path uses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { formatRoute, parseRoute, runHere, startTcpRelayIn } from '../../bench/lib/index.js';

test('parseRoute / formatRoute', () => {
  const cases: Array<[string, ReturnType<typeof parseRoute> | null]> = [
    ['127.0.0.1:15080=10.0.0.2:16080', { listenHost: '127.0.0.1', listenPort: 15080, toHost: '10.0.0.2', toPort: 16080 }],
    ['[::1]:1=[fd00::2]:2', { listenHost: '::1', listenPort: 1, toHost: 'fd00::2', toPort: 2 }],
    ['127.0.0.1:15080', null],
    ['a:b=c:d', null],
  ];
  for (const [text, want] of cases) {
    if (want === null) assert.throws(() => parseRoute(text), /expected listenHost:port=toHost:port/, text);
    else {
      assert.deepEqual(parseRoute(text), want, text);
      assert.equal(formatRoute(want), text);
    }
  }
});

test('relay process: bytes both ways, bit-exact, and a half-close passes through', async (t) => {
  // Echo server that reports the sha256 of what it received once the client half-closes.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash('sha256');
    s.on('data', (c: Buffer) => {
      h.update(c);
      s.write(c);
    });
    s.on('end', () => s.end(`\n${h.digest('hex')}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const upPort = (server.address() as net.AddressInfo).port;
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const relayPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const relay = await startTcpRelayIn(runHere, [{ listenHost: '127.0.0.1', listenPort: relayPort, toHost: '127.0.0.1', toPort: upPort }], []);
  t.after(() => relay.stop());

  const payload = randomBytes(8 * 1024 * 1024);
  const c = net.connect({ host: '127.0.0.1', port: relayPort, allowHalfOpen: true });
  const got: Buffer[] = [];
  c.on('data', (b: Buffer) => got.push(b));
  c.end(payload); // half-close after the payload: the echo server only answers the digest on EOF
  await once(c, 'end');
  const all = Buffer.concat(got);
  const digest = createHash('sha256').update(payload).digest('hex');
  assert.equal(all.length, payload.length + 1 + 64);
  assert.ok(all.subarray(0, payload.length).equals(payload), 'echo is bit-exact');
  assert.equal(all.subarray(payload.length + 1).toString(), digest, 'the server saw every byte, then EOF');
});
