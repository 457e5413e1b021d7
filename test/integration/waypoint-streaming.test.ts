// Waypoint data path, large bodies: forwarded intact both ways (SHA-256 at both ends) across
// HTTP/1.1 and HTTP/2 on either side, a body over the 1 MiB retry buffer sent once and never
// retried, and a 200 MiB transfer each way streamed with bounded memory.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { patternSha256, patternStream, sha256Of } from '../helpers/byte-pattern.js';
import { DEFAULT_CLUSTER, H2_PORT, HTTP_PORT, NS, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import type { Route } from '../../src/waypoint/index.js';

const MiB = 1024 * 1024;

interface Result {
  status: number;
  sha: string;
  bytes: number;
  text?: string;
}

/** One HTTP/1.1 request with a streamed pattern body of `up` bytes; the answer hashed as it arrives. */
function h1Transfer(rig: WaypointRig, agent: http.Agent, path: string, up: number, authority?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const r = http.request({ agent, host: 'reviews', path, method: 'POST', headers: authority ? {} : {} }, (res) => {
      sha256Of(res).then(({ sha, bytes }) => resolve({ status: res.statusCode ?? 0, sha, bytes }), reject);
    });
    r.on('error', reject);
    patternStream(up).pipe(r);
  });
}

async function h2Transfer(session: http2.ClientHttp2Session, path: string, up: number): Promise<Result> {
  const req = session.request({ ':method': 'POST', ':path': path });
  patternStream(up).pipe(req);
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  const { sha, bytes } = await sha256Of(req);
  return { status: Number(headers[':status']), sha, bytes };
}

function route(name: string, extra: Partial<Route>): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster: DEFAULT_CLUSTER, weight: 1 }] }, ...extra };
}

describe('waypoint streaming', () => {
  let rig: WaypointRig;
  /** Request body hashes the backends saw, by request id (x-t header). */
  const received = new Map<string, { sha: string; bytes: number }>();
  before(async () => {
    rig = await startWaypointRig();
    rig.config({});
    // /xfer?down=N: hashes the request body, then answers N pattern bytes (chunked, or with
    // Content-Length when cl=1); the request's hash goes to `received` under its x-t header.
    rig.handlers.set('/xfer', (_who, req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const down = Number(u.searchParams.get('down') ?? 0);
      void sha256Of(req).then((h) => {
        received.set(u.searchParams.get('t') ?? '', h);
        res.writeHead(Number(u.searchParams.get('status') ?? 200), u.searchParams.get('cl') ? { 'content-length': String(down) } : {});
        patternStream(down).pipe(res as NodeJS.WritableStream);
      });
    });
    // /echo: the request body streamed straight back as it arrives.
    rig.handlers.set('/echo', (_who, req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      (req as NodeJS.ReadableStream).pipe(res as NodeJS.WritableStream);
    });
  });
  after(async () => rig.close());

  const size = 8 * MiB + 12345;

  it('HTTP/1.1 → HTTP/1.1 upstream: 8 MiB each way intact', async () => {
    const agent = rig.agent();
    const r = await h1Transfer(rig, agent, `/xfer?t=h1h1&down=${size}`, size);
    assert.equal(r.status, 200);
    assert.deepEqual(received.get('h1h1'), { sha: patternSha256(size), bytes: size });
    assert.deepEqual({ sha: r.sha, bytes: r.bytes }, { sha: patternSha256(size), bytes: size });
    const withLength = await h1Transfer(rig, agent, `/xfer?t=h1cl&down=${size}&cl=1`, 3 * MiB);
    assert.equal(withLength.sha, patternSha256(size));
    assert.deepEqual(received.get('h1cl'), { sha: patternSha256(3 * MiB), bytes: 3 * MiB });
  });

  it('HTTP/1.1 → HTTP/2 upstream: 8 MiB each way intact', async () => {
    const agent = rig.agent(`${VIP}:${H2_PORT}`);
    const r = await h1Transfer(rig, agent, `/xfer?t=h1h2&down=${size}`, size);
    assert.equal(r.status, 200);
    assert.deepEqual(received.get('h1h2'), { sha: patternSha256(size), bytes: size });
    assert.deepEqual({ sha: r.sha, bytes: r.bytes }, { sha: patternSha256(size), bytes: size });
  });

  it('HTTP/2 → HTTP/1.1 and HTTP/2 → HTTP/2 upstream: 8 MiB each way intact', async () => {
    for (const [port, tag] of [[HTTP_PORT, 'h2h1'], [H2_PORT, 'h2h2']] as const) {
      const { stream } = await rig.connect(`${VIP}:${port}`);
      const session = http2.connect('http://reviews', { createConnection: () => stream as never });
      session.on('error', () => {});
      const r = await h2Transfer(session, `/xfer?t=${tag}&down=${size}`, size);
      assert.equal(r.status, 200);
      assert.deepEqual(received.get(tag), { sha: patternSha256(size), bytes: size }, tag);
      assert.deepEqual({ sha: r.sha, bytes: r.bytes }, { sha: patternSha256(size), bytes: size }, tag);
      session.destroy();
    }
  });

  it('retries a body under 1 MiB intact, and sends a body over 1 MiB once without retrying', async () => {
    rig.config({ http: [route('retry-5xx', { retry: { attempts: 2, codes: [], retryOn: ['5xx'], backoffMs: 5 } })] });
    const agent = rig.agent();
    let calls = 0;
    rig.handlers.set('/flaky-body', (_who, req, res) => {
      const n = ++calls;
      void sha256Of(req).then((h) => {
        received.set(`flaky-${n}`, h);
        res.writeHead(n === 1 ? 503 : 200, { 'content-length': '0' });
        res.end();
      });
    });
    const small = 512 * 1024;
    const ok = await h1Transfer(rig, agent, '/flaky-body', small);
    assert.equal(ok.status, 200);
    assert.equal(calls, 2);
    assert.deepEqual(received.get('flaky-2'), { sha: patternSha256(small), bytes: small }, 'the replayed body is whole');

    calls = 0;
    const big = 3 * MiB;
    const failed = await h1Transfer(rig, agent, '/flaky-body', big);
    assert.equal(failed.status, 503, 'the first answer stands: the body cannot be replayed');
    assert.equal(calls, 1);
    assert.deepEqual(received.get('flaky-1'), { sha: patternSha256(big), bytes: big });
    rig.handlers.delete('/flaky-body');
    rig.config({});
  });

  it('streams 100 MiB each way HTTP/2 → HTTP/2 with small memory growth', async () => {
    const total = 100 * MiB;
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    session.on('error', () => {});
    await h2Transfer(session, '/echo', 8 * MiB);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    try {
      const r = await h2Transfer(session, '/echo', total);
      assert.equal(r.status, 200);
      assert.deepEqual({ sha: r.sha, bytes: r.bytes }, { sha: patternSha256(total), bytes: total });
      const growth = (peak - baseline) / MiB;
      // HTTP/2 windows (4 MiB per stream, 16 MiB per connection in the rig) bound what is in flight.
      assert.ok(growth < 96, `RSS grew by ${growth.toFixed(1)} MiB moving 2×100 MiB`);
    } finally {
      clearInterval(sampler);
      session.destroy();
    }
  });

  it('streams 200 MiB each way through one request with small memory growth', async () => {
    const total = 200 * MiB;
    const agent = rig.agent();
    // Warm-up: pools, TLS sessions and buffers allocated before the baseline.
    await h1Transfer(rig, agent, '/echo', 8 * MiB);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    try {
      const t0 = Date.now();
      const r = await h1Transfer(rig, agent, '/echo', total);
      assert.equal(r.status, 200);
      assert.deepEqual({ sha: r.sha, bytes: r.bytes }, { sha: patternSha256(total), bytes: total });
      const growth = (peak - baseline) / MiB;
      // Buffering either body whole would add at least 200 MiB (client, waypoint and backend share this process).
      assert.ok(growth < 96, `RSS grew by ${growth.toFixed(1)} MiB moving 2×200 MiB in ${Date.now() - t0} ms`);
    } finally {
      clearInterval(sampler);
    }
  });
});
