// Loopback throughput of one HBONE tunnel (app → copy → pool → mTLS/HTTP2 → server → copy → sink)
// against a plain TCP relay (app → pipe → sink). Not a test: `node dist/bench/micro/hbone-throughput.js [MiB]`.

import * as net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { startRig } from '../../test/helpers/hbone-fixture.js';

const MiB = 1024 * 1024;
const totalBytes = Number(process.argv[2] ?? 1024) * MiB;
const chunk = randomBytes(MiB);

/** A sink that counts bytes and resolves `done` with the count at EOF. */
async function startSink(): Promise<{ port: number; server: net.Server; next: () => Promise<number> }> {
  const waiters: Array<(n: number) => void> = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (c: Buffer) => {
      n += c.length;
    });
    s.on('end', () => {
      s.end();
      waiters.shift()?.(n);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    next: () => new Promise<number>((resolve) => waiters.push(resolve)),
  };
}

/** Writes `totalBytes` into a fresh connection to `port`; returns MB/s measured at the sink. */
async function run(port: number, sinkDone: Promise<number>): Promise<number> {
  const app = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
  await once(app, 'connect');
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (!app.write(chunk)) await once(app, 'drain');
  }
  app.end();
  const got = await sinkDone;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (got !== totalBytes) throw new Error(`sink got ${got} of ${totalBytes} bytes`);
  app.destroy();
  return totalBytes / 1e6 / secs;
}

async function main(): Promise<void> {
  const sink = await startSink();

  // Baseline: plain TCP relay with stream.pipe both ways.
  const relay = net.createServer({ allowHalfOpen: true }, (a) => {
    const b = net.connect({ host: '127.0.0.1', port: sink.port, allowHalfOpen: true, noDelay: true });
    a.pipe(b);
    b.pipe(a);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const relayPort = (relay.address() as net.AddressInfo).port;

  const rig = await startRig();
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, `127.0.0.1:${sink.port}`);

  // Warm up both paths (JIT, TLS session, windows) with 1/16 of the volume... skipped for speed
  // when the volume is already small.
  const results: Record<string, number[]> = { tcp: [], hbone: [] };
  for (let i = 0; i < 3; i++) {
    results.tcp!.push(await run(relayPort, sink.next()));
    results.hbone!.push(await run(out.port, sink.next()));
  }
  const best = (xs: number[]): number => Math.max(...xs);
  const tcp = best(results.tcp!);
  const hbone = best(results.hbone!);
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  process.stdout.write(
    `node ${process.version}, ${totalBytes / MiB} MiB per run, 1 connection, loopback\n` +
      `plain TCP relay : best ${tcp.toFixed(0)} MB/s  (runs: ${fmt(results.tcp!)})\n` +
      `HBONE tunnel    : best ${hbone.toFixed(0)} MB/s  (runs: ${fmt(results.hbone!)})\n` +
      `ratio hbone/tcp : ${(hbone / tcp).toFixed(2)}\n`,
  );
  await rig.close();
  relay.close();
  sink.server.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
