// HBONE client pool ↔ server over loopback with real mTLS 1.3 and HTTP/2: data integrity,
// half-close, error statuses, identity checks, pooling, idle eviction, resets, bad peers, drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { isMeshError } from '../../src/common/errors.js';
import { copyBidirectional, respondError, type HboneClientStream } from '../../src/hbone/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { CLIENT_ID, SERVER_ID, startEcho, startRig, type HboneRig } from '../helpers/hbone-fixture.js';
import { hboneClientTls } from '../helpers/hbone-tls.js';

const MiB = 1024 * 1024;

async function setup(t: { after(fn: () => unknown): void }): Promise<{ rig: HboneRig; echo: Awaited<ReturnType<typeof startEcho>>; target: string }> {
  const rig = await startRig();
  const echo = await startEcho();
  t.after(async () => {
    await rig.close();
    for (const s of echo.sockets) s.destroy();
    echo.server.close();
  });
  return { rig, echo, target: `127.0.0.1:${echo.port}` };
}

function connectApp(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  return once(s, 'connect').then(() => s);
}

/**
 * Reads to EOF without destroying the stream (unlike for-await), so half-open sockets stay
 * writable; rejects on error or on close before EOF.
 */
function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before EOF')));
  });
}

async function roundTrip(rig: HboneRig, pool: ReturnType<HboneRig['newPool']>, target: string, payload = 'ping'): Promise<string> {
  const { stream } = await pool.connect(rig.request(target));
  const closed = once(stream, 'close');
  stream.end(payload);
  const text = (await readAll(stream)).toString();
  await closed;
  return text;
}

test('16 MiB each way through app → pool → server → echo keeps sha256', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, target);
  const app = await connectApp(out.port);
  const data = randomBytes(16 * MiB);
  const sentHash = createHash('sha256').update(data).digest('hex');
  const received = readAll(app);
  // Write in pieces so backpressure is exercised on the way in.
  for (let off = 0; off < data.length; off += 256 * 1024) {
    if (!app.write(data.subarray(off, off + 256 * 1024))) await once(app, 'drain');
  }
  app.end();
  const back = await received;
  assert.equal(back.length, data.length);
  assert.equal(createHash('sha256').update(back).digest('hex'), sentHash);
  const tunnel = await out.tunnels[0]!;
  assert.equal(tunnel.session.peerIdentity, SERVER_ID);
  assert.equal(rig.inbound[0]?.req.peerIdentity, CLIENT_ID);
  assert.equal(rig.inbound[0]?.req.headers['forwarded'], 'for="127.0.0.1:1"');
  assert.equal(await rig.inbound[0]!.closed, 0);
});

test('half-close: app ends its side and still receives the reply', async (t) => {
  const { rig } = await setup(t);
  // A target that answers only after the client's FIN.
  const target = net.createServer({ allowHalfOpen: true }, async (s) => {
    const got = await readAll(s);
    s.end(`got:${got.toString()}`);
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  t.after(() => target.close());
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, `127.0.0.1:${(target.address() as net.AddressInfo).port}`);
  const app = await connectApp(out.port);
  app.end('hello');
  assert.equal((await readAll(app)).toString(), 'got:hello');
});

test('half-close: upstream ends first and still receives the app data', async (t) => {
  const { rig } = await setup(t);
  let upstreamGot: Promise<Buffer> | undefined;
  const target = net.createServer({ allowHalfOpen: true }, (s) => {
    s.end('banner');
    upstreamGot = readAll(s);
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  t.after(() => target.close());
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, `127.0.0.1:${(target.address() as net.AddressInfo).port}`);
  const app = await connectApp(out.port);
  const chunks: Buffer[] = [];
  app.on('data', (c: Buffer) => chunks.push(c));
  await once(app, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'banner');
  app.end('after-eof');
  assert.ok(upstreamGot);
  assert.equal((await upstreamGot).toString(), 'after-eof');
});

for (const status of [401, 503]) {
  test(`handler answering ${status} gives HBONE_STATUS with that status and no stream`, async (t) => {
    const { rig, target } = await setup(t);
    rig.handler = (req) => respondError(req.stream, status);
    const pool = rig.newPool();
    await assert.rejects(pool.connect(rig.request(target)), (err: unknown) => {
      assert.ok(isMeshError(err, 'HBONE_STATUS'));
      assert.equal(err.status, status);
      assert.match(err.message, new RegExp(`status ${status}`));
      return true;
    });
    // nghttp2 follows an early final response with RST_STREAM NO_ERROR; either way it is gone.
    assert.ok([0, http2.constants.NGHTTP2_CANCEL].includes(await rig.inbound[0]!.closed));
    // The connection survives an error status and carries the next request.
    rig.handler = (req) => req.stream.respond({ ':status': 200 });
    const ok = await pool.connect(rig.request(target));
    assert.equal(ok.responseHeaders[':status'], 200);
    assert.equal(pool.stats().connections, 1);
    ok.stream.close();
  });
}

test('upstream connect failure answers 503', async (t) => {
  const { rig } = await setup(t);
  const closed = net.createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const port = (closed.address() as net.AddressInfo).port;
  closed.close();
  await once(closed, 'close');
  const pool = rig.newPool();
  await assert.rejects(pool.connect(rig.request(`127.0.0.1:${port}`)), (err: unknown) => isMeshError(err, 'HBONE_STATUS') && err.status === 503);
});

test('non-CONNECT method gets 400 with END_STREAM and no body; handler not called', async (t) => {
  const { rig } = await setup(t);
  const session = http2.connect(`https://127.0.0.1:${rig.serverPort}`, hboneClientTls(rig.clientCert, [SERVER_ID]));
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'GET', ':path': '/' });
  const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[':status'], 400);
  assert.equal((await readAll(req)).length, 0);
  assert.equal(rig.inbound.length, 0);
});

test('server identity not in expected SANs: IDENTITY_MISMATCH and no CONNECT reaches the server', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const wrong = 'spiffe://cluster.local/ns/default/sa/other';
  await assert.rejects(
    pool.connect(rig.request(target, { tls: () => hboneClientTls(rig.clientCert, [wrong]) })),
    (err: unknown) => isMeshError(err, 'IDENTITY_MISMATCH'),
  );
  // Same via the pool's own check, with TLS options that would accept anything.
  const lax = { ...hboneClientTls(rig.clientCert, []), checkServerIdentity: () => undefined };
  await assert.rejects(
    pool.connect(rig.request(target, { key: 'k2', tls: () => lax, expectedSans: [wrong] })),
    (err: unknown) => isMeshError(err, 'IDENTITY_MISMATCH'),
  );
  assert.equal(rig.inbound.length, 0);
  assert.equal(rig.server.stats().streams, 0);
  assert.deepEqual(pool.stats(), { connections: 0, streams: 0, keys: 0 });
});

test('client with a foreign CA is rejected during TLS; a good client on the same server keeps working', async (t) => {
  const { rig, target } = await setup(t);
  const goodPool = rig.newPool();
  const good = await goodPool.connect(rig.request(target));
  good.stream.write('before;');

  const foreign = await makeTestPki();
  const foreignCert = await foreign.issue(CLIENT_ID);
  // It trusts the real server root, so only the server side can reject it.
  const badTls = () => ({ ...hboneClientTls(foreignCert, [SERVER_ID]), ca: rig.pki.rootPem });
  const badPool = rig.newPool();
  await assert.rejects(badPool.connect(rig.request(target, { key: 'bad', tls: badTls })), (err: unknown) => isMeshError(err, 'TLS_HANDSHAKE'));
  assert.ok(rig.errors.some((e) => e.phase === 'tls' && isMeshError(e.err, 'CERT_INVALID')));
  assert.equal(rig.inbound.length, 1);

  good.stream.end('after');
  assert.equal((await readAll(good.stream)).toString(), 'before;after');
  assert.equal(await roundTrip(rig, goodPool, target, 'again'), 'again');
});

test('150 concurrent streams on one key with maxStreams 100 use 2 connections', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool({ maxStreamsPerConnection: 100 });
  const streams: HboneClientStream[] = await Promise.all(Array.from({ length: 150 }, () => pool.connect(rig.request(target))));
  assert.deepEqual(pool.stats(), { connections: 2, streams: 150, keys: 1 });
  assert.equal(rig.accepted.length, 2);
  assert.equal(rig.server.stats().sessions, 2);
  const sessions = new Set(streams.map((s) => s.stream.session));
  assert.equal(sessions.size, 2);
  const perSession = [...sessions].map((ss) => streams.filter((s) => s.stream.session === ss).length).sort((a, b) => a - b);
  assert.deepEqual(perSession, [50, 100]);
  const echoes = await Promise.all(streams.map(async (s, i) => {
    const closed = once(s.stream, 'close');
    s.stream.end(`m${i}`);
    const text = (await readAll(s.stream)).toString();
    await closed;
    return text;
  }));
  assert.equal(pool.stats().streams, 0);
  assert.deepEqual(echoes, streams.map((_, i) => `m${i}`));
  // Freed slots are reused: no third connection.
  await roundTrip(rig, pool, target);
  assert.equal(pool.stats().connections, 2);
  assert.equal(pool.stats().streams, 0);
});

test('distinct keys get distinct connections; concurrent first requests share one dial', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  await Promise.all([
    roundTrip(rig, pool, target),
    roundTrip(rig, pool, target),
    roundTrip(rig, pool, target, 'x'),
    roundTrip(rig, pool, target, 'y').then(() => roundTrip(rig, pool, target)),
  ]);
  assert.equal(rig.accepted.length, 1);
  await roundTrip(rig, pool, target);
  await Promise.all([
    roundTrip(rig, pool, target).then(() => 0),
    pool.connect(rig.request(target, { key: 'other' })).then((s) => s.stream.close()),
  ]);
  assert.equal(rig.accepted.length, 2);
  assert.equal(pool.stats().keys, 2);
});

test('idle connections are evicted after unusedReleaseTimeoutMs', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool({ unusedReleaseTimeoutMs: 100 });
  const { stream } = await pool.connect(rig.request(target));
  const sessionClosed = once(stream.session!, 'close');
  stream.end('x');
  await readAll(stream);
  assert.equal(pool.stats().connections, 1);
  await Promise.all([sessionClosed, once(rig.accepted[0]!, 'close')]);
  assert.deepEqual(pool.stats(), { connections: 0, streams: 0, keys: 0 });
  // The next request dials again.
  assert.equal(await roundTrip(rig, pool, target), 'ping');
  assert.equal(rig.accepted.length, 2);
});

test('TCP RST from the app resets the h2 stream and the server side sees CANCEL', async (t) => {
  const { rig, echo, target } = await setup(t);
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, target);
  const app = await connectApp(out.port);
  app.write('x');
  await once(app, 'data');
  const upstream = echo.sockets[0]!;
  const upstreamClosed = once(upstream, 'close');
  app.resetAndDestroy();
  assert.equal(await rig.inbound[0]!.closed, http2.constants.NGHTTP2_CANCEL);
  await upstreamClosed;
  // The pooled connection itself is unharmed.
  assert.equal(await roundTrip(rig, pool, target, 'still'), 'still');
});

test('a stream reset with an error code ends the copy with H2_ERROR and resets the app socket', async (t) => {
  const { rig, target } = await setup(t);
  rig.handler = (req) => {
    req.stream.respond({ ':status': 200 });
    req.stream.once('data', () => req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  };
  const pool = rig.newPool();
  const { stream } = await pool.connect(rig.request(target));
  // A local TCP pair stands in for the app connection the outbound proxy accepted.
  const lsn = net.createServer({ allowHalfOpen: true });
  lsn.listen(0, '127.0.0.1');
  await once(lsn, 'listening');
  t.after(() => lsn.close());
  const accepted = once(lsn, 'connection') as Promise<[net.Socket]>;
  const app = await connectApp((lsn.address() as net.AddressInfo).port);
  app.on('error', () => {});
  const [proxySide] = await accepted;
  const copied = copyBidirectional(proxySide, stream);
  app.write('x');
  const result = await copied;
  assert.ok(isMeshError(result.error, 'H2_ERROR'));
  assert.equal(result.bytesTcpToH2, 1);
  assert.equal(proxySide.destroyed, true);
});

test('garbage bytes close only that connection', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const good = await pool.connect(rig.request(target));
  const junk = net.connect({ host: '127.0.0.1', port: rig.serverPort });
  junk.on('error', () => {});
  await once(junk, 'connect');
  junk.resume();
  junk.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'garbage'.repeat(100));
  await once(junk, 'close');
  assert.ok(rig.errors.some((e) => e.phase === 'tls'));
  good.stream.end('alive');
  assert.equal((await readAll(good.stream)).toString(), 'alive');
});

test('TLS ok but an HTTP/2-garbage preface closes only that connection', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const good = await pool.connect(rig.request(target));
  const tls = await import('node:tls');
  const raw = tls.connect({ ...hboneClientTls(rig.clientCert, [SERVER_ID]), host: '127.0.0.1', port: rig.serverPort });
  raw.on('error', () => {});
  await once(raw, 'secureConnect');
  raw.resume(); // the server's GOAWAY bytes must be read for EOF/close to surface
  raw.write('this is not an http/2 preface at all\r\n\r\n');
  await once(raw, 'close');
  assert.ok(rig.errors.some((e) => e.phase === 'h2'));
  good.stream.end('alive');
  assert.equal((await readAll(good.stream)).toString(), 'alive');
});

test('server close() lets a live stream finish before the deadline', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const { stream } = await pool.connect(rig.request(target));
  stream.write('part1;');
  await once(stream, 'data');
  const started = Date.now();
  const closing = rig.server.close(5_000);
  // New connections are refused while draining.
  const late = net.connect({ host: '127.0.0.1', port: rig.serverPort });
  late.on('error', () => {});
  late.resume();
  await once(late, 'close');
  stream.end('part2');
  const rest = await readAll(stream);
  assert.equal(rest.toString(), 'part2');
  await closing;
  assert.ok(Date.now() - started < 5_000);
  assert.equal(rig.server.stats().sessions, 0);
});

test('server close() force-closes streams still open at the deadline', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const { stream } = await pool.connect(rig.request(target));
  stream.on('error', () => {});
  const streamClosed = once(stream, 'close');
  await rig.server.close(50);
  await streamClosed;
  assert.equal(rig.server.stats().sessions, 0);
});

test('pool close() stops new connects and waits for open streams', async (t) => {
  const { rig, target } = await setup(t);
  const pool = rig.newPool();
  const { stream } = await pool.connect(rig.request(target));
  const closing = pool.close();
  await assert.rejects(pool.connect(rig.request(target)), (err: unknown) => isMeshError(err, 'DRAINING'));
  stream.end('bye');
  assert.equal((await readAll(stream)).toString(), 'bye');
  await closing;
  assert.equal(pool.stats().connections, 0);
});

test('TCP connect refused maps to UPSTREAM_CONNECT', async (t) => {
  const { rig, target } = await setup(t);
  const dead = net.createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const port = (dead.address() as net.AddressInfo).port;
  dead.close();
  await once(dead, 'close');
  const pool = rig.newPool();
  await assert.rejects(
    pool.connect(rig.request(target, { key: 'dead', nextHop: { ip: '127.0.0.1', port } })),
    (err: unknown) => isMeshError(err, 'UPSTREAM_CONNECT'),
  );
  assert.deepEqual(pool.stats(), { connections: 0, streams: 0, keys: 0 });
});

test('keepalive PINGs flow both ways and keep a healthy connection', async (t) => {
  const rig = await startRig({ http2: { pingIntervalMs: 20, pingTimeoutMs: 2_000 } });
  const echo = await startEcho();
  t.after(async () => {
    await rig.close();
    echo.server.close();
  });
  const pool = rig.newPool();
  const { stream } = await pool.connect(rig.request(`127.0.0.1:${echo.port}`));
  const session = stream.session!;
  // 'ping' fires on the receiving side: these are the server's PINGs reaching the client.
  for (let i = 0; i < 3; i++) await once(session, 'ping');
  stream.end('still-here');
  assert.equal((await readAll(stream)).toString(), 'still-here');
  assert.equal(pool.stats().connections, 1);
  assert.equal(rig.errors.length, 0);
});
