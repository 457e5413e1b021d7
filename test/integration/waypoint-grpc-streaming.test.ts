// Waypoint data path, streaming gRPC: real grpc-js clients and servers (protobuf messages) through a
// WaypointProxy with HBONE endpoints: server, client and bidirectional streaming, 4 MiB messages, a
// slow reader's backpressure, 200 streams on one channel, deadlines and cancellation reaching the
// server, errors mid-stream, route timeouts as Envoy applies them, retries and metrics.

import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { Route } from '../../src/waypoint/index.js';
import { metricSum } from '../helpers/prometheus-text.js';
import {
  MiB, STREAM_SERVICE, callMetadata, chat, collectCall, grpc, list, method, payloadFor, sha256, startStreamServers, streamClient, upload,
  type Item, type StreamServers,
} from '../helpers/grpc-stream-service.js';
import { H2_CLUSTER, H2_PORT, NS, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function grpcRoute(name: string, extra: Partial<Route> = {}): Route {
  return {
    name, source: { kind: 'GRPCRoute', namespace: NS, name: 'streams', rule: 0, match: 0 },
    match: { grpc: { type: 'Exact', service: STREAM_SERVICE } },
    action: { kind: 'forward', backends: [{ cluster: H2_CLUSTER, weight: 1 }] }, ...extra,
  };
}

/** Asserts each item is `seq` i with its text and payload, in order. */
function assertItems(items: Item[], count: number, size: number): void {
  assert.equal(items.length, count, 'item count');
  for (let i = 0; i < items.length; i++) {
    const m = items[i]!;
    if (m.seq !== i || m.text !== `item-${i}` || !m.payload.equals(payloadFor(i, size))) {
      assert.fail(`item ${i} out of order or altered: seq ${m.seq}, text ${m.text}, ${m.payload.length} bytes`);
    }
  }
}

describe('waypoint gRPC streaming (grpc-js through a WaypointProxy)', { timeout: 300_000 }, () => {
  let rig: WaypointRig;
  let servers: StreamServers;
  let client: grpc.Client;
  let target: string;
  const requests = (labels: Record<string, string>): Promise<number> =>
    rig.metrics().then((m) => metricSum(m, 'istio_requests_total', { request_protocol: 'grpc', destination_service_name: 'reviews', ...labels }));
  /** The waypoint records a stream when its side ends, which can be just after the client's. */
  const requestsReach = async (labels: Record<string, string>, want: number): Promise<void> => {
    let got = await requests(labels);
    for (let i = 0; i < 200 && got < want; i++) {
      await sleep(25);
      got = await requests(labels);
    }
    assert.equal(got, want, `istio_requests_total ${JSON.stringify(labels)}`);
  };

  before(async () => {
    servers = startStreamServers();
    rig = await startWaypointRig({ h2Backend: (who) => servers.injectorFor(who) });
    rig.config({});
    const plain = await rig.plain(`${VIP}:${H2_PORT}`);
    target = `127.0.0.1:${plain.port}`;
    client = streamClient(target, { 'grpc.default_authority': `reviews.${NS}.svc.cluster.local:${H2_PORT}` });
  });
  after(async () => {
    client.close();
    servers.close();
    await rig.close();
  });

  it('server streaming: 1,000 messages in order and intact, trailers and status OK', async () => {
    const before = await requests({ grpc_response_status: '0', response_code: '200', response_flags: '-' });
    const r = await collectCall(list(client, { count: 1000, size: 512 }, callMetadata('list-1000')));
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assertItems(r.messages, 1000, 512);
    assert.equal(r.trailers['x-sent'], '1000');
    assert.match(r.trailers['x-backend'] ?? '', /^v[12]$/);
    assert.equal(servers.callsOf('list-1000').length, 1);
    await requestsReach({ grpc_response_status: '0', response_code: '200', response_flags: '-' }, before + 1);
  });

  it('client streaming: 1,000 messages reach the server in order and intact', async () => {
    const { call, result } = upload(client, callMetadata('upload-1000'));
    const sent: Buffer[] = [];
    for (let seq = 0; seq < 1000; seq++) {
      const payload = payloadFor(seq, (seq % 7) * 100);
      sent.push(payload);
      if (!call.write({ seq, text: `up-${seq}`, payload })) await new Promise((r) => call.once('drain', r));
    }
    call.end();
    const { summary, status } = await result;
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.equal(summary?.count, 1000);
    assert.deepEqual(summary?.seqs, Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(summary?.sha256, sha256(Buffer.concat(sent)));
    assert.equal(summary?.bytes, Buffer.concat(sent).length);
  });

  it('bidirectional: 100 ping-pong round trips on one stream', async () => {
    const call = chat(client, callMetadata('pingpong'));
    const status = collectStatus(call);
    const replies = call[Symbol.asyncIterator]() as AsyncIterator<Item>;
    for (let seq = 0; seq < 100; seq++) {
      call.write({ seq, text: `ping-${seq}`, payload: payloadFor(seq, 64) });
      const { value, done } = await replies.next();
      assert.ok(!done, `stream ended at round trip ${seq}`);
      assert.equal(value.seq, seq);
      assert.equal(value.text, `pong:ping-${seq}`);
      assert.ok(value.payload.equals(payloadFor(seq, 64)));
    }
    call.end();
    assert.equal((await replies.next()).done, true);
    const s = await status;
    assert.equal(s.code, grpc.status.OK, s.details);
    assert.equal(s.metadata.get('x-received')[0], '100');
    const calls = servers.callsOf('pingpong');
    assert.equal(calls.length, 1, 'one stream upstream too');
    assert.equal(calls[0]!.received, 100);
  });

  it('4 MiB messages each way: server streaming, client streaming and bidirectional', async () => {
    const size = 4 * MiB;
    const down = await collectCall(list(client, { count: 3, size }, callMetadata('big-list')));
    assert.equal(down.status.code, grpc.status.OK, down.status.details);
    assertItems(down.messages, 3, size);

    const blobs = [randomBytes(size), randomBytes(size), randomBytes(size)];
    const { call, result } = upload(client, callMetadata('big-upload'));
    blobs.forEach((payload, seq) => call.write({ seq, text: 'big', payload }));
    call.end();
    const up = await result;
    assert.equal(up.status.code, grpc.status.OK, up.status.details);
    assert.equal(up.summary?.sha256, sha256(Buffer.concat(blobs)));
    assert.equal(up.summary?.bytes, 3 * size);

    const bidi = chat(client, callMetadata('big-chat'));
    const echoed = collectCall(bidi);
    blobs.slice(0, 2).forEach((payload, seq) => bidi.write({ seq, text: 'big', payload }));
    bidi.end();
    const e = await echoed;
    assert.equal(e.status.code, grpc.status.OK, e.status.details);
    assert.deepEqual(e.messages.map((m) => sha256(m.payload)), blobs.slice(0, 2).map(sha256));
  });

  it('a slow reader holds the server back (HTTP/2 flow control end to end) with bounded memory', async () => {
    const size = 256 * 1024;
    const count = 800; // 200 MiB
    // Warm-up: pools, sessions and buffers allocated before the baseline.
    assert.equal((await collectCall(list(client, { count: 40, size }, callMetadata('warm')))).status.code, grpc.status.OK);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    try {
      const call = list(client, { count, size }, callMetadata('slow-reader'));
      const it = call[Symbol.asyncIterator]() as AsyncIterator<Item>;
      const first = await it.next();
      assert.equal(first.value?.seq, 0);
      // Not reading: the server must stall once the windows between it and the client are full.
      const rec = servers.callsOf('slow-reader')[0]!;
      let last = -1;
      for (let i = 0; i < 100 && rec.sent !== last; i++) {
        last = rec.sent;
        await sleep(300);
      }
      const ahead = rec.sentBytes;
      assert.ok(rec.sent < count, `the server sent all ${count} messages to a reader that read one`);
      // Windows on the way: the client's, the CONNECT streams' (4 MiB each), the waypoint's upstream
      // stream and socket buffers: about 8 MiB here, never the 200 MiB the server has.
      assert.ok(ahead < 32 * MiB, `the server got ${(ahead / MiB).toFixed(1)} MiB ahead of a stalled reader`);
      // Now read it all, slowly.
      let seq = 1;
      for (;;) {
        const { value, done } = await it.next();
        if (done) break;
        if (value.seq !== seq || !value.payload.equals(payloadFor(seq, size))) assert.fail(`item ${seq}: got seq ${value.seq}, ${value.payload.length} bytes`);
        seq++;
        if (seq % 20 === 0) await sleep(20);
      }
      assert.equal(seq, count);
      const growth = (peak - baseline) / MiB;
      // Buffering the stream would add 200 MiB (client, waypoint and servers share this process).
      assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MiB streaming 200 MiB to a slow reader (server was ${(ahead / MiB).toFixed(1)} MiB ahead when stalled)`);
    } finally {
      clearInterval(sampler);
    }
  });

  it('200 concurrent streams on one channel, all open at once, each intact', async () => {
    const n = 200;
    let firstDone = 0;
    let release!: () => void;
    const barrier = new Promise<void>((r) => (release = r));
    const one = async (k: number): Promise<void> => {
      const call = chat(client, callMetadata(`conc-${k}`));
      const status = collectStatus(call);
      const replies = call[Symbol.asyncIterator]() as AsyncIterator<Item>;
      for (let j = 0; j < 5; j++) {
        call.write({ seq: j, text: `s${k}-${j}`, payload: payloadFor(k * 10 + j, 200) });
        const { value, done } = await replies.next();
        assert.ok(!done && value.text === `pong:s${k}-${j}` && value.payload.equals(payloadFor(k * 10 + j, 200)), `stream ${k} round trip ${j}`);
        // After the first round trip every stream waits until all are open: 200 at once.
        if (j === 0 && ++firstDone === n) release();
        if (j === 0) await barrier;
      }
      call.end();
      assert.equal((await replies.next()).done, true);
      const s = await status;
      assert.equal(s.code, grpc.status.OK, `stream ${k}: ${s.details}`);
    };
    await Promise.all(Array.from({ length: n }, (_, k) => one(k)));
    for (let k = 0; k < n; k++) assert.equal(servers.callsOf(`conc-${k}`).length, 1, `stream ${k} reached a server once`);
  });

  describe('deadlines, cancellation and errors', () => {
    it('a client deadline gives DEADLINE_EXCEEDED at the client and cancels the upstream stream', async () => {
      const r = await collectCall(list(client, { count: 100, size: 16, intervalMs: 100 }, callMetadata('deadline'), { deadline: Date.now() + 1500 }));
      assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED, r.status.details);
      assert.ok(r.messages.length < 100, `${r.messages.length} messages before the deadline`);
      const rec = await servers.cancelled('deadline');
      assert.ok(rec.sent < 100);
    });

    it('the waypoint cancels the upstream stream itself (the server has no deadline of its own)', async () => {
      // The route strips grpc-timeout: only the client's RST_STREAM, relayed by the waypoint, can
      // tell the server the call is over.
      rig.config({ h2: [grpcRoute('no-deadline', { requestHeaders: { remove: ['grpc-timeout'] } })] });
      try {
        const r = await collectCall(list(client, { count: 0, hold: true }, callMetadata('deadline-relayed'), { deadline: Date.now() + 1500 }));
        assert.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED, r.status.details);
        const rec = await servers.cancelled('deadline-relayed');
        assert.equal(rec.metadata['grpc-timeout'], undefined, 'the server saw no deadline');
      } finally {
        rig.config({});
      }
    });

    it('a client cancel mid-stream cancels the upstream stream (server streaming and bidirectional); flagged DC', async () => {
      const before = await requests({ response_flags: 'DC', response_code: '200', grpc_response_status: '2' });
      const call = list(client, { count: 1000, size: 16, intervalMs: 10 }, callMetadata('cancel-list'));
      const r = collectCall(call);
      call.on('data', (m: Item) => m.seq === 4 && call.cancel());
      assert.equal((await r).status.code, grpc.status.CANCELLED);
      const rec = await servers.cancelled('cancel-list');
      const sentAtCancel = rec.sent;
      await sleep(300);
      assert.equal(rec.sent, sentAtCancel, 'the server stopped sending');
      assert.ok(rec.sent < 1000);

      const bidi = chat(client, callMetadata('cancel-chat'));
      const bs = collectCall(bidi);
      const replies = bidi[Symbol.asyncIterator]() as AsyncIterator<Item>;
      for (let seq = 0; seq < 3; seq++) {
        bidi.write({ seq, text: 'x', payload: Buffer.alloc(0) });
        await replies.next();
      }
      bidi.cancel();
      assert.equal((await bs).status.code, grpc.status.CANCELLED);
      const chatRec = await servers.cancelled('cancel-chat');
      assert.equal(chatRec.received, 3);
      // Headers had gone out (200) and no grpc-status came back: UNKNOWN, as Envoy infers it from 200.
      await requestsReach({ response_flags: 'DC', response_code: '200', grpc_response_status: '2' }, before + 2);
    });

    it('a server error mid-stream reaches the client intact: messages, status, message and trailers', async () => {
      const before = await requests({ grpc_response_status: '8', response_code: '200', response_flags: '-' });
      const md = callMetadata('fail-mid');
      const details = 'quota exhausted: 5 of 5 (ünïcödé, 100%)';
      const r = await collectCall(list(client, { count: 10, size: 32, failAfter: 5, failCode: grpc.status.RESOURCE_EXHAUSTED, failMessage: details }, md));
      assertItems(r.messages, 5, 32);
      assert.equal(r.status.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(r.status.details, details);
      assert.equal(r.trailers['x-failed-at'], '5');
      assert.match(r.trailers['x-backend'] ?? '', /^v[12]$/);
      assert.equal(servers.callsOf('fail-mid').length, 1);
      await requestsReach({ grpc_response_status: '8', response_code: '200', response_flags: '-' }, before + 1);
    });
  });

  describe('grpc-timeout (Istio sets max_grpc_timeout = the route timeout: Envoy times a gRPC call by its grpc-timeout, capped)', () => {
    /** One List call over raw HTTP/2 (no client-side deadline), grpc-timeout as given. */
    const rawList = async (id: string, timeout: string | undefined, req: Record<string, unknown>): Promise<{ ms: number; grpcStatus: string | undefined; message: string | undefined }> => {
      const session = http2.connect(`http://${target}`);
      session.on('error', () => {});
      try {
        const body = method('List').requestSerialize(req);
        const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
        frame.writeUInt32BE(body.length, 1);
        const t0 = Date.now();
        const stream = session.request({
          ':method': 'POST', ':path': `/${STREAM_SERVICE}/List`, ':authority': `reviews.${NS}.svc.cluster.local:${H2_PORT}`,
          'content-type': 'application/grpc', te: 'trailers', 'x-call': id, ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }),
        });
        stream.end(frame);
        let head: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => (head = h));
        stream.on('trailers', (t) => (trailers = t));
        stream.resume();
        await new Promise<void>((resolve) => stream.once('close', () => resolve()));
        const grpcStatus = (trailers['grpc-status'] ?? head['grpc-status']) as string | undefined;
        const message = (trailers['grpc-message'] ?? head['grpc-message']) as string | undefined;
        return { ms: Date.now() - t0, grpcStatus, message };
      } finally {
        session.close();
      }
    };
    after(() => rig.config({}));

    it("ends a call at the client's grpc-timeout: UNAVAILABLE (504), flag UT, the upstream cancelled", async () => {
      rig.config({});
      const before = await requests({ response_flags: 'UT', grpc_response_status: '14' });
      const r = await rawList('grpc-timeout-hold', '400m', { count: 0, hold: true });
      assert.equal(r.grpcStatus, '14', r.message);
      assert.equal(decodeURIComponent(r.message ?? ''), 'upstream request timeout');
      assert.ok(r.ms >= 380 && r.ms < 3000, `answered after ${r.ms} ms`);
      await servers.cancelled('grpc-timeout-hold');
      await requestsReach({ response_flags: 'UT', grpc_response_status: '14' }, before + 1);
    });

    it('the route timeout caps a longer grpc-timeout; a shorter grpc-timeout wins over the route timeout', async () => {
      rig.config({ h2: [grpcRoute('cap', { timeouts: { requestMs: 400 } })] });
      const capped = await rawList('grpc-timeout-capped', '60S', { count: 0, hold: true });
      assert.equal(capped.grpcStatus, '14');
      assert.ok(capped.ms >= 380 && capped.ms < 3000, `capped at ${capped.ms} ms`);
      await servers.cancelled('grpc-timeout-capped');
      rig.config({ h2: [grpcRoute('long', { timeouts: { requestMs: 60_000 } })] });
      const short = await rawList('grpc-timeout-short', '300m', { count: 0, hold: true });
      assert.equal(short.grpcStatus, '14');
      assert.ok(short.ms >= 280 && short.ms < 3000, `ended after ${short.ms} ms`);
      await servers.cancelled('grpc-timeout-short');
    });

    it('a malformed grpc-timeout is ignored', async () => {
      // The route removes the header so the server (grpc-js) does not judge it either.
      rig.config({ h2: [grpcRoute('strip', { requestHeaders: { remove: ['grpc-timeout'] } })] });
      for (const bad of ['300', '123456789m', '1.5S', '-1S', '300x']) {
        const r = await rawList(`grpc-timeout-bad-${bad}`, bad, { count: 3, size: 8, intervalMs: 200 });
        assert.equal(r.grpcStatus, '0', `${bad}: ${r.message ?? ''}`);
        assert.ok(r.ms >= 380, `${bad}: the call ran its course (${r.ms} ms)`);
      }
    });
  });

  describe('route timeouts (Envoy: the route timeout starts when the downstream request is complete)', () => {
    // Envoy's router arms the route timeout (RouteAction.timeout: VirtualService `timeout`,
    // HTTPRoute `timeouts.request`) in Filter::onRequestComplete, i.e. at the client's END_STREAM,
    // and it runs until the response is complete: a server stream longer than the timeout is cut
    // (reset once the response started, 504 ⇒ gRPC UNAVAILABLE before), while a client or bidi
    // stream is not timed while the client is still sending.
    // As Envoy, the waypoint also tells the server the route timeout (grpc-timeout, which a grpc-js
    // server enforces from the stream's start): removed here so that only the waypoint times.
    const timeoutRoute = (ms: number): Route => grpcRoute('timeout', { source: { kind: 'HTTPRoute', namespace: NS, name: 'streams', rule: 0, match: 0 }, timeouts: { requestMs: ms }, requestHeaders: { remove: ['grpc-timeout'] } });
    after(() => rig.config({}));

    it('cuts a server stream that outlives it: the client sees an error after some messages, the server a cancel; UT', async () => {
      rig.config({ h2: [timeoutRoute(1000)] });
      const before = await requests({ response_flags: 'UT', response_code: '200', grpc_response_status: '2' });
      const t0 = Date.now();
      const r = await collectCall(list(client, { count: 100, size: 16, intervalMs: 50 }, callMetadata('timeout-list')));
      const took = Date.now() - t0;
      assert.equal(r.status.code, grpc.status.INTERNAL, r.status.details);
      assert.ok(r.messages.length > 0 && r.messages.length < 100, `${r.messages.length} messages`);
      assert.ok(took >= 950 && took < 5000, `cut after ${took} ms`);
      await servers.cancelled('timeout-list');
      // Headers had gone out: code 200, flag UT, and UNKNOWN for the missing grpc-status.
      await requestsReach({ response_flags: 'UT', response_code: '200', grpc_response_status: '2' }, before + 1);
    });

    it('answers UNAVAILABLE (504 as gRPC) when nothing came back in time', async () => {
      rig.config({ h2: [timeoutRoute(1000)] });
      const r = await collectCall(list(client, { count: 0, hold: true }, callMetadata('timeout-silent')));
      assert.equal(r.status.code, grpc.status.UNAVAILABLE, r.status.details);
      assert.equal(r.status.details, 'upstream request timeout');
      await servers.cancelled('timeout-silent');
    });

    it('does not time a bidirectional stream while the client is still sending', async () => {
      rig.config({ h2: [timeoutRoute(500)] });
      const call = chat(client, callMetadata('timeout-chat'));
      const status = collectStatus(call);
      const replies = call[Symbol.asyncIterator]() as AsyncIterator<Item>;
      // 1.5 s of ping-pong, three times the route timeout.
      for (let seq = 0; seq < 15; seq++) {
        call.write({ seq, text: `p${seq}`, payload: Buffer.alloc(0) });
        const { value, done } = await replies.next();
        assert.ok(!done, `cut at round trip ${seq}`);
        assert.equal(value.text, `pong:p${seq}`);
        await sleep(100);
      }
      call.end();
      assert.equal((await replies.next()).done, true);
      const s = await status;
      assert.equal(s.code, grpc.status.OK, s.details);
    });

    it('does not time a client stream while the client is still sending', async () => {
      rig.config({ h2: [timeoutRoute(500)] });
      const { call, result } = upload(client, callMetadata('timeout-upload'));
      for (let seq = 0; seq < 12; seq++) {
        call.write({ seq, text: 'slow', payload: payloadFor(seq, 10) });
        await sleep(100);
      }
      call.end();
      const { summary, status } = await result;
      assert.equal(status.code, grpc.status.OK, status.details);
      assert.equal(summary?.count, 12);
    });
  });

  describe('retries', () => {
    it('never replays a stream whose response started (messages sent, then UNAVAILABLE)', async () => {
      // The default policy retries UNAVAILABLE — but only a Trailers-Only answer, before any response.
      const r = await collectCall(list(client, { count: 10, size: 8, failAfter: 3, failCode: grpc.status.UNAVAILABLE, failMessage: 'went away' }, callMetadata('retry-started')));
      assertItems(r.messages, 3, 8);
      assert.equal(r.status.code, grpc.status.UNAVAILABLE);
      assert.equal(r.status.details, 'went away');
      await sleep(200);
      assert.equal(servers.callsOf('retry-started').length, 1, 'not replayed');
    });

    it('never replays a stream whose response headers went out, even with no message yet', async () => {
      const r = await collectCall(list(client, { count: 5, sendHeaders: true, failFirst: true, failCode: grpc.status.UNAVAILABLE, failMessage: 'after headers' }, callMetadata('retry-headers')));
      assert.equal(r.status.code, grpc.status.UNAVAILABLE);
      assert.equal(r.status.details, 'after headers');
      await sleep(200);
      assert.equal(servers.callsOf('retry-headers').length, 1, 'not replayed');
    });

    it('retries a Trailers-Only UNAVAILABLE (nothing started): the retry streams in full', async () => {
      const r = await collectCall(list(client, { count: 20, size: 8, failFirst: true, failCode: grpc.status.UNAVAILABLE, failMessage: 'try again' }, callMetadata('retry-before')));
      assert.equal(r.status.code, grpc.status.OK, r.status.details);
      assertItems(r.messages, 20, 8);
      assert.equal(servers.callsOf('retry-before').length, 2, 'one retry');
    });
  });
});

/** The final status of a call read through its async iterator (which throws on a non-OK status). */
function collectStatus(call: grpc.ClientDuplexStream<Item, Item>): Promise<grpc.StatusObject> {
  call.on('error', () => {});
  return new Promise((resolve) => call.on('status', resolve));
}
