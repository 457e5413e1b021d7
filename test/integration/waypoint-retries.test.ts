// Waypoint data path, Envoy router retries against real endpoints: connect failures (an endpoint
// down ⇒ another one; UF,URX once exhausted), per-try timeouts (perTryTimeoutMs and
// backendRequestMs), retry_on 5xx / gateway-error / reset / retriable codes / gRPC unavailable,
// the default policy (not on 503), backoff at least the minimum, and the route timeout over all tries.

import { strict as assert } from 'node:assert';
import type * as http from 'node:http';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { clusterName, type Route, type RetryPolicy } from '../../src/waypoint/index.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { DEFAULT_CLUSTER, H2_CLUSTER, H2_PORT, HOST, HTTP_PORT, MIRROR_CLUSTER, MIRROR_HOST, NS, TCP_PORT, VIP, baseCluster, startWaypointRig, workload, type WaypointRig } from '../helpers/waypoint-rig.js';

const DOWN_ONLY = clusterName(HOST, HTTP_PORT, 'down');
const DOWN_FIRST = clusterName(HOST, HTTP_PORT, 'down-first');
const DOWN_TCP = clusterName(HOST, HTTP_PORT, 'down-tcp');
const LIVE = [`Kubernetes//Pod/${NS}/reviews-v1`, `Kubernetes//Pod/${NS}/reviews-v2`];

function route(name: string, extra: Partial<Route> = {}, cluster = DEFAULT_CLUSTER): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster, weight: 1 }] }, ...extra };
}
const retry = (p: Partial<RetryPolicy>): RetryPolicy => ({ attempts: 2, codes: [], retryOn: [], backoffMs: 5, ...p });

describe('waypoint retries', () => {
  let rig: WaypointRig;
  /** Backend calls per path: [time ms, backend]. */
  const calls = new Map<string, Array<[number, string]>>();
  /** Per path: what the n-th call (0-based) does; past the end: 200. */
  const plan = new Map<string, Array<'hang' | 'reset' | 'refuse' | number>>();

  const clusters = (): ReturnType<typeof baseCluster>[] => [
    // The service's own clusters keep to the live endpoints (the dead ones join the service below).
    baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT, { workloadUids: LIVE }),
    baseCluster(H2_CLUSTER, HOST, H2_PORT, { protocol: 'http2', workloadUids: LIVE }),
    baseCluster(clusterName(HOST, TCP_PORT), HOST, TCP_PORT),
    baseCluster(MIRROR_CLUSTER, MIRROR_HOST, HTTP_PORT),
    baseCluster(DOWN_ONLY, HOST, HTTP_PORT, { workloadUids: [`Kubernetes//Pod/${NS}/reviews-down`] }),
    baseCluster(DOWN_TCP, HOST, HTTP_PORT, { workloadUids: [`Kubernetes//Pod/${NS}/reviews-down-tcp`] }),
    // Round robin over [down, v1] in the state's endpoint order: the first try is the dead one
    // every other request.
    baseCluster(DOWN_FIRST, HOST, HTTP_PORT, { workloadUids: [`Kubernetes//Pod/${NS}/reviews-down`, `Kubernetes//Pod/${NS}/reviews-v1`] }),
  ];

  async function flags(f: string, code: string): Promise<number> {
    return metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: f, response_code: code });
  }

  before(async () => {
    rig = await startWaypointRig();
    const svcKey = `${NS}/${HOST}`;
    const ports = new Map([[HTTP_PORT, 8080], [H2_PORT, 9090], [TCP_PORT, 7070]]);
    // Two endpoints nobody listens for: one over HBONE (no ztunnel at :15008), one plain TCP.
    rig.setWorkloads((wls) => [
      ...wls,
      workload({ name: 'reviews-down', ip: rig.ips.down, sa: 'reviews', services: new Map([[svcKey, ports]]) }),
      workload({ name: 'reviews-down-tcp', ip: `${rig.ips.down.split('.').slice(0, 3).join('.')}.16`, sa: 'reviews', protocol: 'TCP', services: new Map([[svcKey, ports]]) }),
    ]);
    const handler = (who: string, req: http.IncomingMessage | import('node:http2').Http2ServerRequest, res: http.ServerResponse | import('node:http2').Http2ServerResponse): void => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const list = calls.get(path) ?? [];
      calls.set(path, list);
      list.push([Date.now(), who]);
      const step = plan.get(path)?.[list.length - 1] ?? 200;
      req.resume();
      if (step === 'hang') return;
      if (step === 'refuse' && 'stream' in req) {
        req.stream.close(7 /* REFUSED_STREAM */);
        return;
      }
      if (step === 'reset' || step === 'refuse') {
        if ('stream' in req) req.stream.close(2);
        else req.socket.destroy();
        return;
      }
      if (path.startsWith('/r/grpc')) {
        res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': step === 200 ? '0' : String(step) });
        res.end();
        return;
      }
      res.writeHead(step, { 'content-length': '2' });
      res.end('ok');
    };
    rig.handlers.set('/r/', handler);
  });
  after(async () => rig.close());

  function reset(path: string, steps: Array<'hang' | 'reset' | 'refuse' | number>): void {
    calls.delete(path);
    plan.set(path, steps);
  }

  it('retries a connect failure on another endpoint (default policy)', async () => {
    rig.config({ http: [route('down-first', {}, DOWN_FIRST)] }, clusters());
    reset('/r/cf', []);
    const agent = rig.agent();
    for (let i = 0; i < 6; i++) assert.equal((await rig.request({ path: '/r/cf', agent })).status, 200);
    assert.equal(calls.get('/r/cf')!.length, 6, 'every request answered by v1 exactly once');
    assert.ok(calls.get('/r/cf')!.every(([, who]) => who === 'v1'));
  });

  it('answers 503 UF,URX when every try fails to connect (HBONE and plain TCP endpoints)', async () => {
    rig.config({ http: [route('down', { match: { path: { type: 'PathPrefix', value: '/r/down' } } }, DOWN_ONLY), route('down-tcp', {}, DOWN_TCP)] }, clusters());
    for (const path of ['/r/down', '/r/tcp-down']) {
      const before = await flags('UF,URX', '503');
      const t0 = Date.now();
      const r = await rig.request({ path });
      assert.equal(r.status, 503, path);
      assert.ok(Date.now() - t0 < 3000, 'refused connections fail fast');
      assert.equal(await flags('UF,URX', '503'), before + 1, path);
    }
    // Without retries: UF alone.
    rig.config({ http: [route('down-noretry', { retry: retry({ attempts: 0 }) }, DOWN_ONLY)] }, clusters());
    const before = await flags('UF', '503');
    assert.equal((await rig.request({ path: '/r/down' })).status, 503);
    assert.equal(await flags('UF', '503'), before + 1);
  });

  it('the default policy does not retry a 503 response, nor a reset', async () => {
    rig.config({}, clusters());
    reset('/r/d503', [503]);
    assert.equal((await rig.request({ path: '/r/d503' })).status, 503);
    assert.equal(calls.get('/r/d503')!.length, 1);
    reset('/r/dreset', ['reset']);
    const before = await flags('UC', '503');
    assert.equal((await rig.request({ path: '/r/dreset' })).status, 503);
    assert.equal(calls.get('/r/dreset')!.length, 1);
    assert.equal(await flags('UC', '503'), before + 1);
  });

  it('the default policy retries a refused HTTP/2 stream', async () => {
    rig.config({}, clusters());
    reset('/r/refused', ['refuse']);
    const r = await rig.request({ path: '/r/refused', authority: `${VIP}:${H2_PORT}` });
    assert.equal(r.status, 200);
    assert.equal(calls.get('/r/refused')!.length, 2);
  });

  it('the default policy retries gRPC UNAVAILABLE and CANCELLED answers', async () => {
    rig.config({}, clusters());
    for (const [path, status] of [['/r/grpc-unavailable', 14], ['/r/grpc-cancelled', 1], ['/r/grpc-internal', 13]] as const) {
      reset(path, [status]);
      const r = await rig.request({ path, authority: `${VIP}:${H2_PORT}`, method: 'POST', headers: { 'content-type': 'application/grpc' }, body: '' });
      assert.equal(r.status, 200);
      const retried = status !== 13;
      assert.equal(calls.get(path)!.length, retried ? 2 : 1, path);
      assert.equal(r.headers['grpc-status'], retried ? '0' : '13', path);
    }
  });

  it('retry_on: 5xx, gateway-error, reset and retriable status codes', async () => {
    const cases: Array<[string, RetryPolicy, Array<'hang' | 'reset' | 'refuse' | number>, number, number]> = [
      // [path, policy, plan, final status, calls]
      ['/r/5xx', retry({ retryOn: ['5xx'] }), [500, 503], 200, 3],
      ['/r/5xx-exhausted', retry({ retryOn: ['5xx'] }), [500, 502, 504], 504, 3],
      ['/r/gw-500', retry({ retryOn: ['gateway-error'] }), [500], 500, 1],
      ['/r/gw-502', retry({ retryOn: ['gateway-error'] }), [502, 503], 200, 3],
      ['/r/reset', retry({ retryOn: ['reset'] }), ['reset'], 200, 2],
      ['/r/5xx-reset', retry({ retryOn: ['5xx'] }), ['reset'], 200, 2],
      ['/r/codes', retry({ retryOn: ['retriable-status-codes'], codes: [418] }), [418, 418], 200, 3],
      ['/r/codes-other', retry({ retryOn: ['retriable-status-codes'], codes: [418] }), [503], 503, 1],
    ];
    for (const [path, policy, steps, status, n] of cases) {
      rig.config({ http: [route(path, { retry: policy })] }, clusters());
      reset(path, steps);
      const r = await rig.request({ path });
      assert.equal(r.status, status, path);
      assert.equal(calls.get(path)!.length, n, path);
    }
    // A retry goes to another endpoint than the one that failed (previous-hosts predicate).
    const whos = calls.get('/r/reset')!.map(([, w]) => w);
    assert.notEqual(whos[0], whos[1]);
  });

  it('waits at least the backoff minimum, doubling per retry', async () => {
    rig.config({ http: [route('backoff', { retry: retry({ retryOn: ['5xx'], backoffMs: 150 }) })] }, clusters());
    reset('/r/backoff', [503, 503]);
    assert.equal((await rig.request({ path: '/r/backoff' })).status, 200);
    const t = calls.get('/r/backoff')!.map(([ms]) => ms);
    assert.equal(t.length, 3);
    assert.ok(t[1]! - t[0]! >= 150, `first backoff ${t[1]! - t[0]!} ms`);
    assert.ok(t[2]! - t[1]! >= 300, `second backoff ${t[2]! - t[1]!} ms`);
    // Capped at 10× the base (Envoy): never above 2 × 300 ms for the second, plus scheduling slack.
    assert.ok(t[2]! - t[1]! < 600 + 1000, `second backoff ${t[2]! - t[1]!} ms`);
  });

  it('retries a per-try timeout (perTryTimeoutMs, and backendRequestMs with a retry policy)', async () => {
    for (const [path, r] of [
      ['/r/pertry', route('pertry', { retry: retry({ attempts: 1, retryOn: ['5xx'], perTryTimeoutMs: 300 }) })],
      ['/r/backend-request', route('backend-request', { retry: retry({ attempts: 1, retryOn: ['gateway-error'] }), timeouts: { backendRequestMs: 300 } })],
    ] as const) {
      rig.config({ http: [r] }, clusters());
      reset(path, ['hang']);
      const t0 = Date.now();
      const res = await rig.request({ path });
      const took = Date.now() - t0;
      assert.equal(res.status, 200, path);
      assert.equal(calls.get(path)!.length, 2, path);
      assert.ok(took >= 300 && took < 2500, `${path}: ${took} ms`);
    }
    // Every try times out: 504 UT, and URX for the retries used up (Envoy's router sets
    // UpstreamRetryLimitExceeded when the retry state answers NoRetryLimitExceeded).
    rig.config({ http: [route('pertry-all', { retry: retry({ attempts: 1, retryOn: ['5xx'], perTryTimeoutMs: 200 }) })] }, clusters());
    reset('/r/pertry-all', ['hang', 'hang']);
    const before = await flags('UT,URX', '504');
    assert.equal((await rig.request({ path: '/r/pertry-all' })).status, 504);
    assert.equal(calls.get('/r/pertry-all')!.length, 2);
    assert.equal(await flags('UT,URX', '504'), before + 1);
    // The default policy does not retry a per-try timeout.
    rig.config({ http: [route('timeout-noretry', { timeouts: { backendRequestMs: 200 } })] }, clusters());
    reset('/r/timeout-default', ['hang']);
    assert.equal((await rig.request({ path: '/r/timeout-default' })).status, 504);
    assert.equal(calls.get('/r/timeout-default')!.length, 1);
  });

  it('starts the first try\'s per-try timeout when the request is complete (Envoy router), not while the client uploads', async () => {
    // The backend answers once the whole body is in; the client takes ~600 ms to send it.
    const got: Array<{ at: number; bytes: number }> = [];
    let tries = 0;
    rig.handlers.set('/upload-slow', (_who, req, res) => {
      tries++;
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        got.push({ at: Date.now(), bytes });
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
    });
    try {
      rig.config({ http: [route('upload', { retry: retry({ attempts: 1, retryOn: ['5xx'], perTryTimeoutMs: 250 }) })] }, clusters());
      const before = await flags('-', '200');
      const t0 = Date.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ agent: rig.agent(), host: 'reviews', path: '/upload-slow', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        let n = 0;
        const tick = setInterval(() => {
          req.write('x'.repeat(100));
          if (++n === 6) {
            clearInterval(tick);
            req.end();
          }
        }, 100);
      });
      assert.equal(status, 200);
      assert.ok(Date.now() - t0 >= 500, 'the upload took longer than the per-try timeout');
      assert.equal(tries, 1, 'one try, not timed out while the client was still sending');
      assert.equal(got.length, 1);
      assert.equal(got[0]!.bytes, 600);
      assert.equal(await flags('-', '200'), before + 1);
      // Once the request is complete the per-try timeout still applies (and is retried).
      reset('/r/pertry-after-upload', ['hang']);
      rig.config({ http: [route('upload2', { retry: retry({ attempts: 1, retryOn: ['5xx'], perTryTimeoutMs: 250 }) })] }, clusters());
      const res = await rig.request({ path: '/r/pertry-after-upload', method: 'POST', body: 'abc' });
      assert.equal(res.status, 200);
      assert.equal(calls.get('/r/pertry-after-upload')!.length, 2);
    } finally {
      rig.handlers.delete('/upload-slow');
    }
  });

  it('the route timeout bounds all tries together', async () => {
    rig.config({ http: [route('bounded', { timeouts: { requestMs: 700 }, retry: retry({ attempts: 10, retryOn: ['5xx'], perTryTimeoutMs: 250 }) })] }, clusters());
    reset('/r/bounded', Array.from({ length: 11 }, () => 'hang' as const));
    const before = await flags('UT', '504');
    const t0 = Date.now();
    const r = await rig.request({ path: '/r/bounded' });
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.ok(took >= 700 && took < 2000, `${took} ms`);
    const n = calls.get('/r/bounded')!.length;
    assert.ok(n >= 2 && n <= 3, `${n} tries in 700 ms of 250 ms each`);
    assert.equal(await flags('UT', '504'), before + 1);
  });
});
