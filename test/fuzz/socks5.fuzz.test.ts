// Fuzz: the SOCKS5 handshake (acceptSocks5) fed arbitrary and near-valid byte sequences, split at
// arbitrary points, over a net.Socket-compatible duplex and over real loopback sockets.
// Properties: only MeshError SOCKS_PROTOCOL escapes; it never hangs; every byte it writes is an
// RFC 1928 reply (method [5,0] or [5,0xFF]; request refusal [5,REP 01..08,0,1,0,0,0,0,0,0] and
// nothing after a refusal); a valid request yields its target and leaves later bytes unread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { isMeshError } from '../../src/common/errors.js';
import { acceptSocks5, closeRefusedSocks, type Socks5Target } from '../../src/proxy/index.js';
import { fuzz, splitAt, within } from '../helpers/fuzz.js';

// ---- the reference model: what RFC 1928 (as Ambit speaks it) says about `bytes` ----

interface Expected {
  readonly target: Socks5Target | undefined;
  /** Bytes of the input the handshake consumes on success. */
  readonly consumed: number;
  /** Every byte the server must write, in order, and nothing else. */
  readonly written: readonly number[];
}

const refusal = (code: number): number[] => [5, code, 0, 1, 0, 0, 0, 0, 0, 0];

/** IPv6 text (any valid form) → its 16 bytes, without going through the parser's own code. */
function ipv6Bytes(text: string): number[] {
  const [head = '', tail = ''] = text.includes('::') ? text.split('::') : [text, ''];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = groups(tail);
  const all = text.includes('::') ? [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t] : h;
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function model(b: Uint8Array): Expected {
  const fail = (written: number[]): Expected => ({ target: undefined, consumed: 0, written });
  if (b.length < 2 || b[0] !== 5) return fail([]);
  const n = b[1]!;
  if (b.length < 2 + n) return fail([]);
  if (!b.subarray(2, 2 + n).includes(0)) return fail([5, 0xff]);
  const ok = [5, 0];
  let i = 2 + n;
  if (b.length < i + 4) return fail(ok);
  const [ver, cmd, , atyp] = b.subarray(i, i + 4);
  i += 4;
  if (ver !== 5) return fail([...ok, ...refusal(0x01)]);
  if (cmd !== 1) return fail([...ok, ...refusal(0x07)]);
  const port = (at: number): number => (b[at]! << 8) | b[at + 1]!;
  if (atyp === 1) {
    if (b.length < i + 6) return fail(ok);
    return { target: { kind: 'ip', ip: [...b.subarray(i, i + 4)].join('.'), port: port(i + 4) }, consumed: i + 6, written: ok };
  }
  if (atyp === 4) {
    if (b.length < i + 18) return fail(ok);
    // The IP text is checked byte-wise below (its canonical spelling is the parser's business).
    return { target: { kind: 'ip', ip: `v6:${[...b.subarray(i, i + 16)].join(',')}`, port: port(i + 16) }, consumed: i + 18, written: ok };
  }
  if (atyp === 3) {
    if (b.length < i + 1) return fail(ok);
    const len = b[i]!;
    if (b.length < i + 1 + len + 2) return fail(ok);
    if (len === 0) return fail([...ok, ...refusal(0x01)]);
    const host = Buffer.from(b.subarray(i + 1, i + 1 + len)).toString('latin1');
    return { target: { kind: 'domain', host, port: port(i + 1 + len) }, consumed: i + 1 + len + 2, written: ok };
  }
  return fail([...ok, ...refusal(0x08)]);
}

// ---- generators: raw bytes, and structured near-valid handshakes with one thing wrong ----

const byte = fc.integer({ min: 0, max: 255 });
const mostly = <T>(usual: T, other: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });

const greeting = fc
  .tuple(mostly(5, byte), fc.uint8Array({ maxLength: 6 }), fc.boolean())
  .map(([ver, methods, withNoAuth]) => {
    const m = withNoAuth ? [...methods, 0] : [...methods];
    return [ver, m.length, ...m];
  });
const address = fc.oneof(
  fc.tuple(fc.constant(1), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([t, a]) => [t, ...a]),
  fc.tuple(fc.constant(4), fc.uint8Array({ minLength: 16, maxLength: 16 })).map(([t, a]) => [t, ...a]),
  fc.tuple(fc.constant(3), fc.uint8Array({ maxLength: 40 })).map(([t, a]) => [t, a.length, ...a]),
  fc.tuple(byte, fc.uint8Array({ maxLength: 8 })).map(([t, a]) => [t, ...a]),
);
const request = fc
  .tuple(mostly(5, byte), mostly(1, byte), byte, address, byte, byte)
  .map(([ver, cmd, rsv, addr, p1, p2]) => [ver, cmd, rsv, ...addr, p1, p2]);
const structured = fc
  .tuple(greeting, request, fc.uint8Array({ maxLength: 16 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([g, r, payload, cut]) => {
    const all = Uint8Array.from([...g, ...r, ...payload]);
    return cut === undefined ? all : all.subarray(0, cut % (all.length + 1));
  });
const input = fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }) }, { weight: 3, arbitrary: structured });
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 6 });

// ---- checks shared by both transports ----

function checkReplyShape(written: readonly number[]): void {
  if (written.length === 0) return;
  assert.ok(written[0] === 5 && (written[1] === 0 || written[1] === 0xff), `method selection reply: ${written.slice(0, 2)}`);
  if (written[1] === 0xff) {
    assert.equal(written.length, 2, 'nothing after [5,0xFF]');
    return;
  }
  const rest = written.slice(2);
  if (rest.length === 0) return;
  assert.equal(rest.length, 10, `one 10-byte request reply: ${rest}`);
  assert.ok(rest[1]! >= 0x01 && rest[1]! <= 0x08, `refusal code 0x01..0x08: ${rest[1]}`);
  assert.deepEqual([rest[0], rest[2], rest[3], ...rest.slice(4)], [5, 0, 1, 0, 0, 0, 0, 0, 0]);
}

function checkOutcome(bytes: Uint8Array, result: Socks5Target | unknown, written: readonly number[]): Expected {
  const want = model(bytes);
  if (want.target === undefined) {
    assert.ok(isMeshError(result, 'SOCKS_PROTOCOL'), `expected MeshError SOCKS_PROTOCOL, got ${String((result as Error)?.stack ?? JSON.stringify(result))}`);
  } else {
    assert.ok(!(result instanceof Error), `valid request refused: ${(result as Error)?.message}`);
    const got = result as Socks5Target;
    if (want.target.kind === 'ip' && want.target.ip.startsWith('v6:')) {
      assert.equal(got.kind, 'ip');
      const ip = got.kind === 'ip' ? got.ip : '';
      assert.ok(isIPv6(ip), `IPv6 text: ${ip}`);
      assert.equal(`v6:${ipv6Bytes(ip).join(',')}`, want.target.ip);
      assert.equal(got.port, want.target.port);
    } else {
      assert.deepEqual(got, want.target);
    }
  }
  checkReplyShape(written);
  assert.deepEqual([...written], want.written);
  return want;
}

// ---- transport 1: a net.Socket-compatible duplex, chunks delivered on separate turns ----

class FakeSocket extends Duplex {
  readonly written: number[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.written.push(...chunk);
    cb();
  }
}

test('fuzz: acceptSocks5 over a duplex, arbitrary bytes split anywhere', async () => {
  await fuzz(
    'socks5 duplex',
    fc.asyncProperty(input, cuts, async (bytes, at) => {
      const sock = new FakeSocket();
      const errors: Error[] = [];
      sock.on('error', (e) => errors.push(e));
      const parsed = acceptSocks5(sock as unknown as Socket, 500).catch((e: unknown) => e);
      for (const chunk of splitAt(bytes, at)) {
        sock.push(chunk);
        await new Promise((r) => setImmediate(r));
      }
      sock.push(null);
      const result = await within(parsed, 1_500, 'acceptSocks5');
      const want = checkOutcome(bytes, result, sock.written);
      if (want.target !== undefined) {
        // Bytes after the request stay in the socket for the proxy.
        const rest = sock.read() as Buffer | null;
        assert.deepEqual([...(rest ?? [])], [...bytes.subarray(want.consumed)]);
      } else {
        closeRefusedSocks(sock as unknown as Socket, 50);
      }
      assert.deepEqual(errors, []);
      sock.destroy();
    }),
    1500,
  );
});

// ---- transport 2: real loopback sockets, as the agent's listener accepts them ----

test('fuzz: acceptSocks5 over real loopback sockets; refusals reach the client before a clean close', async () => {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    await fuzz(
      'socks5 sockets',
      fc.asyncProperty(input, cuts, async (bytes, at) => {
        const accepted = once(server, 'connection') as Promise<[Socket]>;
        const client = connect({ host: '127.0.0.1', port, noDelay: true });
        const received: number[] = [];
        let clientError: string | undefined;
        client.on('data', (d: Buffer) => received.push(...d));
        client.on('error', (e: NodeJS.ErrnoException) => (clientError = e.code));
        const closed = new Promise((r) => client.once('close', r));
        const [sock] = await accepted;
        sock.on('error', () => {});
        const parsed = acceptSocks5(sock, 500).catch((e: unknown) => e);
        for (const chunk of splitAt(bytes, at)) {
          client.write(chunk);
          await new Promise((r) => setImmediate(r));
        }
        client.end();
        const result = await within(parsed, 1_500, 'acceptSocks5');
        if (result instanceof Error) closeRefusedSocks(sock, 1_000);
        else sock.end();
        await within(closed, 3_000, 'client close');
        checkOutcome(bytes, result, received);
        assert.equal(clientError, undefined, 'closed with FIN, not a reset');
        sock.destroy();
      }),
      150,
    );
  } finally {
    server.close();
  }
});
