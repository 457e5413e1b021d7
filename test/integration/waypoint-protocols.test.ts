// Waypoint data path, protocols and targets: a plaintext (tunnel protocol TCP, non-mesh) endpoint,
// HTTP/1.1 clients to an HTTP/2 cluster and HTTP/2 clients to an HTTP/1.1 cluster (header case,
// hop-by-hop fields, Host/:authority, cookies, trailers), and pod-addressed traffic, which goes
// straight to the pod without the Service's routes (GAMMA frontend binding).

import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { Workload } from '../../src/state/index.js';
import type { Route } from '../../src/waypoint/index.js';
import { WireReader, wireHeader, readUntil } from '../helpers/http1-wire.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { DEFAULT_CLUSTER, H2_PORT, HTTP_PORT, LEGACY_VIP, NS, TCP_PORT, VIP, seen, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

function route(name: string, extra: Partial<Route>): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster: DEFAULT_CLUSTER, weight: 1 }] }, ...extra };
}

function h2session(stream: unknown): http2.ClientHttp2Session {
  const s = http2.connect('http://reviews', { createConnection: () => stream as never });
  s.on('error', () => {});
  return s;
}

async function h2request(s: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders | undefined }> {
  const req = s.request(headers, { endStream: body === undefined });
  if (body !== undefined) req.end(body);
  let trailers: http2.IncomingHttpHeaders | undefined;
  req.on('trailers', (t) => (trailers = t));
  const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return { headers: h, body: Buffer.concat(parts).toString(), trailers };
}

describe('waypoint protocols and targets', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
    rig.config({});
    // Echoes the request's fields (h1: rawHeaders as received) and answers with awkward ones.
    rig.handlers.set('/fields', (who, req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const h2 = 'stream' in res;
        res.setHeader('x-backend', who);
        res.setHeader('X-Upper-Case', 'Yes');
        res.setHeader('set-cookie', ['s1=a', 's2=b']);
        if (!h2) {
          res.setHeader('Keep-Alive', 'timeout=5');
          res.setHeader('Connection', 'keep-alive, x-hop');
          res.setHeader('X-Hop', 'must-not-pass');
          res.setHeader('Trailer', 'x-sum');
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        (res as NodeJS.WritableStream).write(JSON.stringify({ body: Buffer.concat(parts).toString(), trailers: req.trailers }));
        res.addTrailers({ 'x-sum': 'done' });
        res.end();
      });
    });
  });
  after(async () => rig.close());

  it('reaches a plaintext (tunnel protocol TCP) endpoint over HTTP/1.1 and HTTP/2 clusters', async () => {
    const a = await rig.request({ path: '/plain', authority: `${LEGACY_VIP}:${HTTP_PORT}` });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-backend'], 'legacy');
    const b = await rig.request({ path: '/plain-h2', authority: `${LEGACY_VIP}:${H2_PORT}` });
    assert.equal(b.status, 200);
    assert.equal(b.headers['x-backend'], 'legacy');
    // It was h2c: the backend's HTTP/2 server saw the request (pseudo-headers present).
    const hit = rig.hits.findLast((h) => h.url === '/plain-h2')!;
    assert.equal(seen(hit, ':scheme')[0], 'http');
  });

  it('HTTP/1.1 client → HTTP/2 cluster: lower-case names, hop-by-hop removed, Host as :authority, TE: trailers kept', async () => {
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const rd = new WireReader(stream);
    stream.write(
      'POST /fields HTTP/1.1\r\nHost: reviews:81\r\nX-Mixed-Case: A\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\n' +
        'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: foo\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nTrailer: x-req\r\n\r\n' +
        '4\r\nbody\r\n0\r\nx-req: t1\r\n\r\n',
    );
    const r = await rd.response('POST');
    assert.equal(r.status, 200);
    const hit = rig.hits.findLast((h) => h.url === '/fields')!;
    const names = hit.rawHeaders.filter((_, i) => i % 2 === 0);
    assert.ok(names.every((n) => n === n.toLowerCase()), names.join(','));
    for (const n of ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'transfer-encoding', 'x-private', 'host']) assert.deepEqual(seen(hit, n), [], n);
    assert.deepEqual(seen(hit, ':authority'), ['reviews:81']);
    assert.deepEqual(seen(hit, 'x-mixed-case'), ['A']);
    assert.deepEqual(seen(hit, 'te'), ['trailers']);
    assert.deepEqual(JSON.parse(r.body.toString()), { body: 'body', trailers: { 'x-req': 't1' } });
    // Back to HTTP/1.1: chunked with the trailer, both cookies as separate lines.
    assert.equal(r.chunked, true);
    assert.deepEqual(r.trailers, [['x-sum', 'done']]);
    assert.deepEqual(r.headers.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v), ['s1=a', 's2=b']);
    assert.equal(wireHeader(r, 'x-upper-case'), 'Yes');
    stream.destroy();
  });

  it('HTTP/2 client → HTTP/1.1 cluster: Host from :authority, cookies joined, hop-by-hop answers stripped, trailers passed', async () => {
    const { stream } = await rig.connect(`${VIP}:${HTTP_PORT}`);
    const s = h2session(stream);
    const r = await h2request(s, { ':method': 'POST', ':path': '/fields', ':authority': 'reviews:80', cookie: ['a=1', 'b=2'], 'x-h': 'v', te: 'trailers' }, 'from-h2');
    assert.equal(r.headers[':status'], 200);
    const hit = rig.hits.findLast((h) => h.url === '/fields')!;
    assert.deepEqual(seen(hit, 'host'), ['reviews:80']);
    // RFC 9113 §8.2.3: cookie crumbs become one field for HTTP/1.1.
    assert.deepEqual(seen(hit, 'cookie'), ['a=1; b=2']);
    assert.deepEqual(seen(hit, 'x-h'), ['v']);
    assert.deepEqual(JSON.parse(r.body), { body: 'from-h2', trailers: {} });
    assert.equal(r.headers['x-upper-case'], 'Yes');
    assert.deepEqual(r.headers['set-cookie'], ['s1=a', 's2=b']);
    for (const n of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) assert.equal(r.headers[n], undefined, n);
    assert.equal(r.trailers?.['x-sum'], 'done');
    s.destroy();
  });

  it('an upstream answer the client protocol cannot carry (HTTP/1.1 status 799 to HTTP/2) is a 502 UPE; the session serves on', async () => {
    rig.handlers.set('/odd-status', (_who, req) => {
      req.resume();
      const sock = (req as import('node:http').IncomingMessage).socket;
      // Written past Node's response object: the connection cannot be reused afterwards.
      sock.end('HTTP/1.1 799 Odd\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
    const { stream } = await rig.connect(`${VIP}:${HTTP_PORT}`);
    const s = h2session(stream);
    const before = metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: 'UPE', response_code: '502' });
    const r = await h2request(s, { ':path': '/odd-status' });
    assert.equal(r.headers[':status'], 502);
    assert.equal(metricSum(await rig.metrics(), 'istio_requests_total', { response_flags: 'UPE', response_code: '502' }), before + 1);
    // The same HTTP/1.1 client gets it as is.
    assert.equal((await rig.request({ path: '/odd-status' })).status, 799);
    assert.equal((await h2request(s, { ':path': '/fields', ':method': 'POST' }, 'x')).headers[':status'], 200);
    s.destroy();
    rig.handlers.delete('/odd-status');
  });

  // Pod-addressed traffic (CONNECT to a workload IP:port of a served Service): the service port
  // whose target port was dialled names the cluster, narrowed to that pod, and no route applies.
  describe('pod-addressed traffic', () => {
    it('goes to that pod without the Service routes (HTTP/1.1 and HTTP/2 ports)', async () => {
      // Service routes that would answer 404 or redirect every request.
      rig.config({
        http: [route('only-nothing', { match: { path: { type: 'Exact', value: '/nothing' } } })],
        h2: [route('redirect', { action: { kind: 'redirect', redirect: { statusCode: 302, hostname: 'elsewhere' } } })],
      });
      const agent = rig.agent(`${rig.ips.v1}:8080`);
      for (let i = 0; i < 6; i++) {
        const r = await rig.request({ path: `/pod?i=${i}`, agent });
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-backend'], 'v1');
      }
      // Via the Service the routes apply.
      assert.equal((await rig.request({ path: '/pod' })).status, 404);
      const h2 = await rig.request({ path: '/pod-h2', authority: `${rig.ips.v1}:9090` });
      assert.equal(h2.status, 200);
      assert.equal(h2.headers['x-backend'], 'v1');
      assert.equal(seen(rig.hits.findLast((h) => h.url === '/pod-h2')!, ':scheme')[0], 'http', 'spoken as HTTP/2 (the port is grpc)');
      rig.config({});
    });

    it('relays a TCP port to that pod, speaks HTTP on an HTTP port, refuses a port no served Service targets', async () => {
      const { stream } = await rig.connect(`${rig.ips.v2}:7070`);
      stream.write('ping');
      assert.equal(await readUntil(stream, (t) => t.endsWith('ping')), 'v2:ping');
      stream.destroy();
      assert.equal(TCP_PORT, 82);
      // Port 8080 of a pod is the target of the Service's HTTP port: served as HTTP/1.1 to that pod.
      const raw = (await rig.connect(`${rig.ips.v2}:8080`)).stream;
      raw.write('GET /raw HTTP/1.1\r\nHost: x\r\n\r\n');
      const got = await readUntil(raw, (t) => t.includes('"who":"v2"'));
      assert.match(got, /^HTTP\/1.1 200/);
      raw.destroy();
      await assert.rejects(rig.connect(`${rig.ips.v2}:6000`), /status 404/);
    });

    it('serves only a workload whose own waypoint is this one (ztunnel: the workload has a waypoint), refusing others 404', async () => {
      const other = { destination: { kind: 'hostname', namespace: NS, hostname: `other-waypoint.${NS}.svc.cluster.local` }, hboneMtlsPort: 15008 } as const;
      const mine = { destination: { kind: 'hostname', namespace: NS, hostname: `waypoint.${NS}.svc.cluster.local` }, hboneMtlsPort: 15008 } as const;
      const withWaypoint = (wp: Workload['waypoint']): void => rig.setWorkloads((ws) => ws.map((w) => (w.name === 'reviews-v1' ? { ...w, waypoint: wp } : w)));
      const original = rig.state.workloadByIp('', rig.ips.v1)!.waypoint;
      try {
        for (const wp of [undefined, other]) {
          withWaypoint(wp);
          await assert.rejects(rig.connect(`${rig.ips.v1}:8080`), /status 404/, `workload waypoint ${JSON.stringify(wp)}`);
          // Still an endpoint of the Service: reached through its VIP.
          assert.equal((await rig.request({ path: '/via-vip' })).status, 200);
        }
        // The hostname form of this waypoint's address (istiod getGatewayAddress) names it too.
        withWaypoint(mine);
        const r = await rig.request({ path: '/pod-by-hostname-waypoint', agent: rig.agent(`${rig.ips.v1}:8080`) });
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-backend'], 'v1');
      } finally {
        withWaypoint(original);
      }
    });
  });
});
