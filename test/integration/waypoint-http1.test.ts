// Waypoint data path, HTTP/1.1 semantics spoken raw through one CONNECT tunnel: chunked bodies on
// any method, pipelining, keep-alive reuse (downstream and upstream), Expect: 100-continue,
// Connection: close, HTTP/1.0 clients, HEAD, 204/304 without bodies, trailers both ways.

import { strict as assert } from 'node:assert';
import type * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WireReader, wireHeader } from '../helpers/http1-wire.js';
import { clusterName } from '../../src/waypoint/index.js';
import { DEFAULT_CLUSTER, HOST, HTTP_PORT, NS, baseCluster, seen, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const V1 = clusterName(HOST, HTTP_PORT, 'v1');

function json(body: Buffer): { who: string; url: string; body: string } {
  return JSON.parse(body.toString()) as { who: string; url: string; body: string };
}

describe('waypoint HTTP/1.1', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig();
    rig.config({});
    // Fixed-length answers (what keep-alive to an HTTP/1.0 client and HEAD need).
    rig.handlers.set('/fixed', (_who, req, res) => {
      req.resume();
      const body = 'x'.repeat(1234);
      res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'text/plain' });
      if (req.method === 'HEAD') res.end();
      else res.end(body);
    });
    rig.handlers.set('/status/', (_who, req, res) => {
      req.resume();
      const status = Number((req.url ?? '').split('/')[2]);
      res.writeHead(status, status === 304 ? { etag: '"v1"', 'content-length': '999' } : {});
      res.end();
    });
    rig.handlers.set('/trailers', (_who, req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const h1 = res as http.ServerResponse;
        h1.writeHead(200, { trailer: 'x-checksum', 'content-type': 'text/plain' });
        h1.write('part-1;');
        h1.write(`req-trailer=${req.trailers['x-req-sum'] ?? 'none'};body=${Buffer.concat(parts).toString()}`);
        h1.addTrailers({ 'x-checksum': 'abc123' });
        h1.end();
      });
    });
    rig.handlers.set('/conn', (_who, req, res) => {
      req.resume();
      const s = req.socket as unknown as { remotePort?: number };
      res.writeHead(200, { 'content-length': String(String(s.remotePort).length) });
      res.end(String(s.remotePort));
    });
  });
  after(async () => rig.close());

  it('frames a chunked body on GET, DELETE and OPTIONS to an HTTP/1.1 upstream, then serves the next request', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      stream.write(`${method} /chunked-${method} HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
      const r = await rd.response(method);
      assert.equal(r.status, 200, r.body.toString());
      assert.deepEqual(json(r.body), { who: json(r.body).who, url: `/chunked-${method}`, body: 'hello world' });
      const hit = rig.hits.findLast((h) => h.url === `/chunked-${method}`)!;
      assert.equal(hit.method, method);
      assert.equal(hit.body, 'hello world');
      // The upstream request carried its own framing, not the client's hop-by-hop header verbatim.
      assert.ok(seen(hit, 'transfer-encoding').length + seen(hit, 'content-length').length === 1);
    }
    stream.write('GET /after-chunked HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const r = await rd.response();
    assert.equal(r.status, 200);
    assert.equal(json(r.body).url, '/after-chunked');
    assert.equal(json(r.body).body, '');
    stream.destroy();
  });

  it('answers pipelined requests in order on one tunnel, a slow first one included', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write(
      'GET /pipe/1?delay=200 HTTP/1.1\r\nHost: reviews\r\n\r\n' +
        'POST /pipe/2 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\n\r\nbody' +
        'GET /pipe/3 HTTP/1.1\r\nHost: reviews\r\n\r\n' +
        'HEAD /fixed HTTP/1.1\r\nHost: reviews\r\n\r\n' +
        'GET /pipe/5 HTTP/1.1\r\nHost: reviews\r\n\r\n',
    );
    const urls: string[] = [];
    for (const m of ['GET', 'POST', 'GET', 'HEAD', 'GET']) {
      const r = await rd.response(m);
      assert.equal(r.status, 200);
      urls.push(m === 'HEAD' ? `HEAD:${wireHeader(r, 'content-length')}` : json(r.body).url);
    }
    assert.deepEqual(urls, ['/pipe/1?delay=200', '/pipe/2', '/pipe/3', 'HEAD:1234', '/pipe/5']);
    assert.equal(rig.hits.findLast((h) => h.url === '/pipe/2')!.body, 'body');
    assert.equal(rd.pending.length, 0);
    stream.destroy();
  });

  it('reuses one tunnel for 300 requests and few upstream connections', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    const ports = new Set<string>();
    for (let i = 0; i < 300; i++) {
      stream.write(`GET /conn?i=${i} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
      const r = await rd.response();
      assert.equal(r.status, 200);
      ports.add(r.body.toString());
    }
    assert.equal(rd.ended, false, 'the tunnel stays open');
    // Sequential requests: the pool reuses a keep-alive connection per endpoint. A connection comes
    // back only once Node's client has both the whole response and its own request's 'finish'
    // (lib/_http_client.js responseOnEnd / requestOnFinish); on a loaded machine the next request
    // can arrive in between and take a new one. Reuse means a handful, not one per request.
    assert.ok(ports.size <= 10, `upstream connections: ${ports.size}`);
    stream.destroy();
  });

  it('answers Expect: 100-continue before the body, and does not forward Expect', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('POST /expect HTTP/1.1\r\nHost: reviews\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no 100 Continue')), 5000);
      const check = (): void => {
        if (rd.pending.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
          clearTimeout(t);
          stream.off('data', check);
          resolve();
        }
      };
      stream.on('data', check);
      check();
    });
    stream.write('payload');
    const r = await rd.response('POST');
    assert.equal(r.interim.length, 1);
    assert.equal(r.interim[0]!.status, 100);
    assert.equal(r.status, 200);
    assert.equal(json(r.body).body, 'payload');
    assert.deepEqual(seen(rig.hits.findLast((h) => h.url === '/expect')!, 'expect'), []);
    stream.destroy();
  });

  it('closes the tunnel after a Connection: close request, the response complete', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('GET /close-me HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n');
    const r = await rd.response();
    assert.equal(r.status, 200);
    assert.equal(wireHeader(r, 'connection'), 'close');
    assert.equal(json(r.body).url, '/close-me');
    await rd.closed;
    const hit = rig.hits.findLast((h) => h.url === '/close-me')!;
    assert.notEqual(seen(hit, 'connection')[0], 'close', 'Connection is hop-by-hop');
  });

  it('serves HTTP/1.0 clients: close-delimited without keep-alive, Content-Length with it', async () => {
    {
      const { stream } = await rig.connect();
      const rd = new WireReader(stream);
      stream.write('GET /ten HTTP/1.0\r\nHost: reviews\r\n\r\n');
      const r = await rd.response();
      assert.equal(r.status, 200);
      assert.equal(r.chunked, false, 'no chunked coding to an HTTP/1.0 client');
      assert.equal(json(r.body).url, '/ten');
      await rd.closed;
    }
    {
      const { stream } = await rig.connect();
      const rd = new WireReader(stream);
      stream.write('POST /fixed HTTP/1.0\r\nHost: reviews\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc');
      const r = await rd.response('POST');
      assert.equal(r.status, 200);
      assert.equal(wireHeader(r, 'content-length'), '1234');
      assert.equal(r.body.length, 1234);
      assert.match(wireHeader(r, 'connection') ?? '', /keep-alive/i);
      stream.write('GET /fixed HTTP/1.0\r\nHost: reviews\r\n\r\n');
      const r2 = await rd.response();
      assert.equal(r2.body.length, 1234);
      await rd.closed;
    }
  });

  it('HEAD, 204 and 304 carry no body and the next response on the tunnel parses', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('HEAD /fixed HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const head = await rd.response('HEAD');
    assert.equal(head.status, 200);
    assert.equal(wireHeader(head, 'content-length'), '1234');
    for (const status of [204, 304]) {
      stream.write(`GET /status/${status} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
      const r = await rd.response();
      assert.equal(r.status, status);
      assert.equal(wireHeader(r, 'transfer-encoding'), undefined);
      if (status === 304) assert.equal(wireHeader(r, 'etag'), '"v1"');
    }
    stream.write('GET /next HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const next = await rd.response();
    assert.equal(json(next.body).url, '/next');
    assert.equal(rd.pending.length, 0, 'no stray body bytes');
    stream.destroy();
  });

  it('routes an absolute-form target by its path, forwarded in origin-form with its authority as Host', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('GET http://reviews.default:80/abs/form?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n');
    const r = await rd.response();
    assert.equal(r.status, 200);
    assert.equal(json(r.body).url, '/abs/form?x=1');
    assert.deepEqual(seen(rig.hits.findLast((h) => h.url === '/abs/form?x=1')!, 'host'), ['reviews.default:80']);
    stream.destroy();
  });

  it('answers 403 to CONNECT inside a tunnel, after the responses owed', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('GET /before-connect?delay=100 HTTP/1.1\r\nHost: reviews\r\n\r\nCONNECT other:443 HTTP/1.1\r\nHost: other:443\r\n\r\n');
    assert.equal(json((await rd.response()).body).url, '/before-connect?delay=100');
    const r = await rd.response();
    assert.equal(r.status, 403);
    await rd.closed;
  });

  it('drops framing, routing and hop-by-hop fields from trailers; the upstream connection stays usable', async () => {
    // One endpoint, so both requests may share one upstream keep-alive connection.
    rig.config({ http: [{ name: 'v1', source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster: V1, weight: 1 }] } }] }, [
      baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT),
      baseCluster(V1, HOST, HTTP_PORT, { workloadUids: [`Kubernetes//Pod/${NS}/reviews-v1`] }),
    ]);
    rig.handlers.set('/tr-port', (_who, req, res) => {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ port: (req.socket as unknown as { remotePort?: number }).remotePort, trailers: req.rawTrailers });
        res.writeHead(200, { 'content-length': String(body.length) });
        res.end(body);
      });
    });
    const a = (await rig.connect()).stream;
    const rda = new WireReader(a);
    a.write('POST /tr-port HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-sum: s2\r\nConnection: close\r\nHost: evil\r\nKeep-Alive: 1\r\n\r\n');
    const first = JSON.parse((await rda.response('POST')).body.toString()) as { port: number; trailers: string[] };
    assert.deepEqual(first.trailers, ['x-sum', 's2'], 'only the forwardable trailer reached the upstream');
    a.destroy();
    const b = (await rig.connect()).stream;
    const rdb = new WireReader(b);
    b.write('POST /tr-port HTTP/1.1\r\nHost: reviews\r\nContent-Length: 0\r\n\r\n');
    const second = await rdb.response('POST');
    assert.equal(second.status, 200, second.body.toString());
    assert.equal((JSON.parse(second.body.toString()) as { port: number }).port, first.port, 'the same upstream connection, not closed by a smuggled trailer');
    b.destroy();
    rig.handlers.delete('/tr-port');
    rig.config({});
  });

  it('passes trailers of chunked messages both ways', async () => {
    const { stream } = await rig.connect();
    const rd = new WireReader(stream);
    stream.write('POST /trailers HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\nTrailer: x-req-sum\r\n\r\n4\r\ndata\r\n0\r\nx-req-sum: s1\r\n\r\n');
    const r = await rd.response('POST');
    assert.equal(r.status, 200);
    assert.equal(r.chunked, true);
    assert.equal(r.body.toString(), 'part-1;req-trailer=s1;body=data');
    assert.deepEqual(r.trailers.map(([k, v]) => [k.toLowerCase(), v]), [['x-checksum', 'abc123']]);
    stream.destroy();
  });
});
