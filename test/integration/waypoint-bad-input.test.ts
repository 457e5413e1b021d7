// Waypoint data path, bad input inside tunnels: malformed request lines, invalid header names and
// values, oversized heads (431), too many fields (431), invalid chunk sizes, smuggling attempts
// (Content-Length with Transfer-Encoding, duplicate Content-Length): 400 on that tunnel only,
// counted in ambit_waypoint_bad_requests_total; HTTP/2 stream and session errors stay local; a
// healthy keep-alive tunnel is served throughout.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { rawHeaderSession, type RawField } from '../helpers/h2-raw-headers.js';
import { WireReader, wireHeader, type WireResponse } from '../helpers/http1-wire.js';
import { metricSum, parseExposition, parseLabels, splitSeries } from '../helpers/prometheus-text.js';
import { H2_PORT, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

/** ambit_waypoint_bad_requests_total by reason. */
async function badCounts(rig: WaypointRig): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [series, v] of parseExposition(await rig.metrics())) {
    const s = splitSeries(series);
    if (s.name === 'ambit_waypoint_bad_requests_total') out.set(parseLabels(s.labels).get('reason') ?? '', v);
  }
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of after) if (v !== (before.get(k) ?? 0)) d[k] = v - (before.get(k) ?? 0);
  return d;
}

describe('waypoint bad input', () => {
  let rig: WaypointRig;
  let healthy: { write(s: string): void; rd: WireReader; destroy(): void };
  before(async () => {
    rig = await startWaypointRig();
    rig.config({});
    const { stream } = await rig.connect();
    healthy = { write: (s) => stream.write(s), rd: new WireReader(stream), destroy: () => stream.destroy() };
  });
  after(async () => {
    healthy.destroy();
    await rig.close();
  });

  /** The healthy tunnel still answers, and never closed. */
  async function stillServing(tag: string): Promise<void> {
    healthy.write(`GET /healthy?${tag} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
    const r = await healthy.rd.response();
    assert.equal(r.status, 200, tag);
    assert.equal(healthy.rd.ended, false, tag);
  }

  /** Sends raw bytes on a fresh tunnel: the one response, then the tunnel must end. */
  async function refused(bytes: string | Buffer, method = 'GET'): Promise<WireResponse> {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write(bytes);
    const r = await rd.response(method);
    assert.equal(wireHeader(r, 'connection'), 'close');
    await Promise.race([rd.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('tunnel not closed after the error answer')), 5000))]);
    stream.destroy();
    return r;
  }

  it('answers 400 to malformed request lines', async () => {
    const b0 = await badCounts(rig);
    const lines = [
      'GET /x HTTP/9.9\r\n',
      'GET\r\n',
      'G@T / HTTP/1.1\r\n',
      'GET / HTTP/1.1 trailing\r\n',
      'GET /a b HTTP/1.1\r\n',
      '\x00\x01\x02\r\n',
      'GET / HTTP/1.1\nHost: reviews\n\n',
    ];
    for (const line of lines) {
      const r = await refused(`${line}Host: reviews\r\n\r\n`);
      assert.equal(r.status, 400, JSON.stringify(line));
    }
    const d = delta(b0, await badCounts(rig));
    assert.equal(Object.values(d).reduce((a, b) => a + b, 0), lines.length, JSON.stringify(d));
    await stillServing('lines');
  });

  it('answers 400 to invalid header names and values', async () => {
    const b0 = await badCounts(rig);
    const fields = ['Bad Header: x', 'X-Foo : y', 'X\x01: y', ': novalue', 'X-Nul: a\x00b', 'X-Cr: a\rb', 'NoColon'];
    for (const f of fields) {
      const r = await refused(`GET / HTTP/1.1\r\nHost: reviews\r\n${f}\r\n\r\n`);
      assert.equal(r.status, 400, JSON.stringify(f));
    }
    const d = delta(b0, await badCounts(rig));
    assert.equal(Object.values(d).reduce((a, b) => a + b, 0), fields.length, JSON.stringify(d));
    assert.ok(!rig.hits.some((h) => h.url === '/' && h.rawHeaders.some((v) => v.includes('\x00'))));
    await stillServing('fields');
  });

  it('answers 400 to a missing, repeated or invalid Host (RFC 9112 §3.2)', async () => {
    const b0 = await badCounts(rig);
    for (const head of ['GET /h HTTP/1.1\r\n', 'GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n', 'GET /h HTTP/1.1\r\nHost: bad host\r\n', 'GET /h HTTP/1.1\r\nHost: a/b\r\n']) {
      const r = await refused(`${head}\r\n`);
      assert.equal(r.status, 400, JSON.stringify(head));
    }
    // A request pipelined behind the refused one is neither answered nor forwarded.
    const behind = await refused('GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /behind HTTP/1.1\r\nHost: reviews\r\n\r\n');
    assert.equal(behind.status, 400);
    const d = delta(b0, await badCounts(rig));
    assert.deepEqual(d, { invalid_host: 5 });
    assert.ok(!rig.hits.some((h) => h.url === '/h' || h.url === '/behind'));
    // HTTP/1.0 may omit it.
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('GET /h10 HTTP/1.0\r\n\r\n');
    assert.equal((await rd.response()).status, 200);
    stream.destroy();
    await stillServing('host');
  });

  it('answers 431 to an oversized head and to too many header fields', async () => {
    const b0 = await badCounts(rig);
    const big = await refused(`GET /big HTTP/1.1\r\nHost: reviews\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    assert.equal(big.status, 431);
    const many = Array.from({ length: 150 }, (_, i) => `x-h${i}: v`).join('\r\n');
    const r = await refused(`GET /many HTTP/1.1\r\nHost: reviews\r\n${many}\r\n\r\n`);
    assert.equal(r.status, 431);
    assert.ok(!rig.hits.some((h) => h.url === '/many'), 'never forwarded');
    // 100 fields exactly is fine.
    const ok = Array.from({ length: 99 }, (_, i) => `x-h${i}: v`).join('\r\n');
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write(`GET /hundred HTTP/1.1\r\nHost: reviews\r\n${ok}\r\n\r\n`);
    assert.equal((await rd.response()).status, 200);
    stream.destroy();
    assert.deepEqual(delta(b0, await badCounts(rig)), { header_overflow: 1, too_many_headers: 1 });
    await stillServing('431');
  });

  it('answers 400 to invalid chunk sizes and never forwards a truncated body as complete', async () => {
    const b0 = await badCounts(rig);
    const bodies = ['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhello\r\nxyz\r\n', 'fffffffffffffffffff\r\n', '-1\r\n', '5\r\nhelloXX0\r\n\r\n'];
    for (const [i, body] of bodies.entries()) {
      const r = await refused(`POST /chunks/${i} HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 'POST');
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal(Object.values(delta(b0, await badCounts(rig))).reduce((a, b) => a + b, 0), bodies.length);
    // A backend may have seen the start of a body, never a complete one.
    for (const h of rig.hits.filter((x) => x.url.startsWith('/chunks/'))) assert.fail(`forwarded as complete: ${h.url} ${JSON.stringify(h.body)}`);
    await stillServing('chunks');
  });

  it('refuses request smuggling: Content-Length with Transfer-Encoding, duplicate or bad Content-Length', async () => {
    const b0 = await badCounts(rig);
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: reviews\r\n\r\n';
    const heads = [
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4, 4\r\n\r\nabcd${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: -4\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nContent-Length: 0x10\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: gzip\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked, gzip\r\n\r\n${smuggled}`,
      `POST /s HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    ];
    for (const head of heads) {
      const r = await refused(head, 'POST');
      assert.equal(r.status, 400, JSON.stringify(head.split('\r\n\r\n')[0]));
    }
    assert.equal(Object.values(delta(b0, await badCounts(rig))).reduce((a, b) => a + b, 0), heads.length);
    assert.ok(!rig.hits.some((h) => h.url === '/smuggled' || h.url === '/s'), 'nothing reached a backend');
    await stillServing('smuggling');
  });

  it('answers pipelined requests before a malformed one, then 400 and the close', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('GET /before-bad?delay=150 HTTP/1.1\r\nHost: reviews\r\n\r\nGET /before-bad-2 HTTP/1.1\r\nHost: reviews\r\n\r\nBAD REQUEST LINE\r\n\r\n');
    const r1 = await rd.response();
    assert.equal(r1.status, 200);
    assert.equal(JSON.parse(r1.body.toString()).url, '/before-bad?delay=150');
    const r2 = await rd.response();
    assert.equal(r2.status, 200);
    assert.equal(JSON.parse(r2.body.toString()).url, '/before-bad-2');
    const r3 = await rd.response();
    assert.equal(r3.status, 400);
    await rd.closed;
    stream.destroy();
    await stillServing('pipelined');
  });

  it('clients vanishing mid-request (stream reset with an error code, tunnel reset) cost nothing else', async () => {
    rig.handlers.set('/slow-stream', (_who, req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => (res as NodeJS.WritableStream).write('tick\n'), 10);
      res.once('close', () => clearInterval(t));
    });
    // HTTP/2 inside the tunnel: the client resets its request streams with error codes mid-response.
    const dc0 = metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: 'DC' });
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const http2 = await import('node:http2');
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    session.on('error', () => {});
    for (const code of [http2.constants.NGHTTP2_PROTOCOL_ERROR, http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_CANCEL]) {
      const req = session.request({ ':method': 'POST', ':path': '/slow-stream' });
      req.on('error', () => {});
      req.write('partial body');
      await new Promise((r) => req.once('data', r));
      req.close(code);
    }
    const ok = session.request({ ':path': '/h2-after-resets' });
    ok.end();
    assert.equal((await new Promise<Record<string, unknown>>((r) => ok.once('response', r)))[':status'], 200);
    ok.resume();
    session.destroy();
    // Reported as downstream disconnects (Envoy's DC), not upstream resets.
    assert.equal(metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: 'DC' }), dc0 + 3);
    // HTTP/1.1: the whole tunnel reset while the response streams, and while the request body streams.
    for (const head of ['GET /slow-stream HTTP/1.1\r\nHost: reviews\r\n\r\n', 'POST /slow-stream HTTP/1.1\r\nHost: reviews\r\nContent-Length: 100000\r\n\r\nabc']) {
      const t = (await rig.connect()).stream;
      t.on('error', () => {});
      t.write(head);
      await new Promise((r) => t.once('data', r));
      t.destroy();
    }
    rig.handlers.delete('/slow-stream');
    await stillServing('vanishing');
    // Nothing left streaming from the backends for the vanished clients.
    const deadline = Date.now() + 5000;
    const active = (): number => (rig.proxy.configDump() as { clusters: Array<{ endpoints: Array<{ activeRequests: number }> }> }).clusters.flatMap((c) => c.endpoints).reduce((n, e) => n + e.activeRequests, 0);
    while (active() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(active(), 0, `no request left active upstream: ${JSON.stringify((rig.proxy.configDump() as { clusters: Array<{ name: string; endpoints: Array<{ address: string; activeRequests: number }> }> }).clusters.map((c) => [c.name, c.endpoints.filter((e) => e.activeRequests > 0)]).filter(([, e]) => (e as unknown[]).length > 0))}`);
  });

  it('an HTTP/2 stream error resets that stream only; a session error ends that tunnel only', async () => {
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const raw = await rawHeaderSession(stream);
    const base: RawField[] = [[':method', 'GET'], [':scheme', 'http'], [':authority', 'reviews']];
    const ok = async (path: string): Promise<void> => {
      assert.deepEqual(await raw.send([...base, [':path', path]], { endStream: true }), { kind: 'response', status: 200, endStream: false }, path);
    };
    await ok('/h2-ok-1');
    // Malformed requests (RFC 9113 §8.2.1, §8.2.2, §8.3.1): each reset with PROTOCOL_ERROR.
    const malformed: RawField[][] = [
      [...base, [':path', '/h2-bad-1'], ['X-Upper', 'v']],
      [...base, [':path', '/h2-bad-2'], ['connection', 'keep-alive']],
      [[':method', 'GET'], [':authority', 'reviews'], [':path', '/h2-bad-4']],
      [...base, [':path', '/h2-bad-5'], [':path', '/twice']],
    ];
    for (const f of malformed) {
      const out = await raw.send(f, { endStream: true });
      assert.equal(out.kind, 'reset', JSON.stringify(f));
      await ok(`/h2-ok-after-${f.find(([n]) => n === ':path')![1]}`);
    }
    assert.ok(!rig.hits.some((h) => h.url.startsWith('/h2-bad')));
    // A field value with NUL/CR/LF: Node's HTTP/2 layer drops the field; it is never forwarded.
    await raw.send([...base, [':path', '/h2-nul'], ['x-nul', 'a\0b'], ['x-cr', 'a\rb']], { endStream: true });
    const nul = rig.hits.filter((h) => h.url === '/h2-nul');
    assert.ok(nul.every((h) => !h.rawHeaders.some((v) => /[\0\r\n]/.test(v))));

    // Another tunnel whose client breaks the protocol (a bad SETTINGS frame after the preface).
    const b0 = await badCounts(rig);
    const other = (await rig.connect(`${VIP}:${H2_PORT}`)).stream;
    const rd = new WireReader(other);
    other.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from('000005040000000000', 'hex'), Buffer.alloc(5, 0xee)]));
    await Promise.race([rd.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('broken h2 tunnel not closed')), 5000))]);
    await ok('/h2-ok-3');
    assert.equal(delta(b0, await badCounts(rig)).h2_session, 1);
    raw.close();
    await stillServing('h2');
  });
});
