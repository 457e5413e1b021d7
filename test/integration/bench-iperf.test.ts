// iperf3 through the bench runner on loopback: one stream, -R and -P (bytes sent vs received), a
// long-lived server reused across clients, a refused connection as a MeshError; the exact tcp sink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import {
  runIperf,
  startIperfServer,
  runIperfClient,
  runHere,
  parseIperfJson,
  TcpSink,
  sendCounted,
  startTcpSinkIn,
  sendCountedIn,
} from '../../bench/lib/index.js';
import { isMeshError } from '../../src/common/errors.js';
import { tcpBufferMax } from '../helpers/tcp.js';

/** A port that was free a moment ago (iperf3 cannot bind port 0 and report it). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('iperf3 one-off runs with -n: bytes sent vs received and rates reported in each mode', async (t) => {
  const port = await freePort();
  const bytes = 256 * 1024 * 1024;
  for (const mode of [{}, { reverse: true }, { parallel: 2 }] as const) {
    const r = await runIperf(runHere, runHere, { host: '127.0.0.1', port, bytes, ...mode });
    t.diagnostic(`${JSON.stringify(mode)}: ${(r.receiverBitsPerSecond / 1e9).toFixed(1)} Gbit/s, sent ${r.bytesSent} recv ${r.bytesReceived}`);
    // -n is split into whole 128 KiB blocks per stream, so -P may overshoot by a block or two.
    assert.ok(r.bytesSent >= bytes && r.bytesSent <= bytes + 2 * 128 * 1024, String(r.bytesSent));
    // The receiver may stop counting with bytes still in flight (seen with -P 2: 1 MiB short, and
    // 12 MiB on a loaded machine): never more received than sent, and the gap bounded by what the
    // kernel's socket buffers of each stream can hold (send side + receive side, maxima).
    assert.equal(r.unaccountedBytes, r.bytesSent - r.bytesReceived);
    const bound = r.parallel * (tcpBufferMax('tcp_rmem') + tcpBufferMax('tcp_wmem'));
    assert.ok(r.unaccountedBytes >= 0 && r.unaccountedBytes <= bound, `${r.unaccountedBytes} > ${bound}`);
    assert.equal(r.reverse, 'reverse' in mode);
    assert.equal(r.parallel, 'parallel' in mode ? 2 : 1);
    assert.ok(r.senderBitsPerSecond > 1e8 && r.receiverBitsPerSecond > 1e8);
  }
});

test('iperf3 timed run against a long-lived server; the server keeps serving', async (t) => {
  const port = await freePort();
  const server = await startIperfServer(runHere, { port, bind: '127.0.0.1' });
  t.after(() => server.stop());
  const a = await runIperfClient(runHere, { host: '127.0.0.1', port, seconds: 1 });
  const b = await runIperfClient(runHere, { host: '127.0.0.1', port, seconds: 1, reverse: true });
  assert.ok(a.seconds >= 0.9 && a.seconds < 2, String(a.seconds));
  assert.ok(a.bytesSent > 0 && a.bytesReceived > 0 && b.bytesReceived > 0);
  // -t: bytes in flight at the end are not counted by the receiver; never more received than sent.
  assert.ok(a.unaccountedBytes >= 0 && a.unaccountedBytes < a.bytesSent * 0.05, String(a.unaccountedBytes));
  assert.ok(b.reverse);
});

test('iperf3: a refused connection is a BENCH_TOOL error carrying iperf3 reason', async () => {
  const port = await freePort();
  await assert.rejects(runIperfClient(runHere, { host: '127.0.0.1', port, seconds: 1 }), (e: unknown) => {
    assert.ok(isMeshError(e, 'BENCH_TOOL'));
    assert.match((e as Error).message, /refused/i);
    return true;
  });
  assert.throws(() => parseIperfJson('not json'), /no JSON/);
});

test('tcp sink: exact byte accounting in-process and through the CLIs', async (t) => {
  const sink = new TcpSink();
  await sink.start();
  t.after(() => sink.destroy());
  const a = await sendCounted({ host: '127.0.0.1', port: sink.port, bytes: 5 * 1024 * 1024 + 7 });
  assert.equal(a.bytesReceived, 5 * 1024 * 1024 + 7);
  assert.equal(a.unaccountedBytes, 0);
  assert.ok(a.bitsPerSecond > 0);
  const remote = await startTcpSinkIn(runHere, { host: '127.0.0.1' });
  t.after(() => remote.process.stop());
  const b = await sendCountedIn(runHere, { host: '127.0.0.1', port: remote.port, bytes: 64 * 1024 * 1024 });
  assert.equal(b.bytesReceived, 64 * 1024 * 1024);
  assert.equal(b.unaccountedBytes, 0);
});
