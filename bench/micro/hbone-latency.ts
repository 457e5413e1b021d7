// Loopback request latency through one HBONE tunnel vs a direct connection, at a paced request rate.
// Not a test: `node dist/bench/micro/hbone-latency.js [rps] [seconds] [bytes]` (defaults 1000, 5, 64).
//
// Two shapes, each against the same echo server in this process:
//  - keepalive: one app connection, one request in flight, a `bytes`-sized request echoed back;
//  - per-conn: a new app connection per request (new CONNECT stream on the pooled HBONE connection),
//    timed from connect() to the echo arriving.
// Everything shares one event loop, so "added" = tunnel p50/p99 minus direct p50/p99 is what counts.

import * as net from 'node:net';
import { once } from 'node:events';
import { startEcho, startRig } from '../../test/helpers/hbone-fixture.js';

const rps = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const bytes = Number(process.argv[4] ?? 64);
const payload = Buffer.alloc(bytes, 0x61);
const count = Math.max(1, Math.round(rps * seconds));

interface Stats {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Process CPU (user+sys) per request, µs: the whole loop (client, tunnel, echo). */
  readonly cpuUs: number;
}

const sleepUntil = (t: bigint): Promise<void> => {
  const ms = Number(t - process.hrtime.bigint()) / 1e6;
  return ms > 0.05 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
};

function summarize(samplesNs: number[], cpu: NodeJS.CpuUsage): Stats {
  const s = samplesNs.map((x) => x / 1e6).sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), cpuUs: (cpu.user + cpu.system) / s.length };
}

/** Reads exactly `n` bytes (the echo of one request) from a flowing socket. */
function readN(sock: net.Socket, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (c: Buffer): void => {
      got += c.length;
      if (got >= n) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve();
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

/** 50 warm-up calls, then `count` calls paced at `rps`; each call returns its own latency (ns). */
async function paced(op: () => Promise<number>): Promise<Stats> {
  for (let i = 0; i < 50; i++) await op();
  const samples: number[] = [];
  const interval = BigInt(Math.round(1e9 / rps));
  const c0 = process.cpuUsage();
  let next = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await sleepUntil(next);
    next += interval;
    samples.push(await op());
  }
  return summarize(samples, process.cpuUsage(c0));
}

async function keepalive(port: number): Promise<Stats> {
  const sock = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(sock, 'connect');
  const stats = await paced(async () => {
    const r = readN(sock, bytes);
    const t0 = process.hrtime.bigint();
    sock.write(payload);
    await r;
    return Number(process.hrtime.bigint() - t0);
  });
  sock.destroy();
  return stats;
}

async function perConnection(port: number): Promise<Stats> {
  return paced(async () => {
    const t0 = process.hrtime.bigint();
    const sock = net.connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
    await once(sock, 'connect');
    const r = readN(sock, bytes);
    sock.write(payload);
    await r;
    const dt = Number(process.hrtime.bigint() - t0);
    sock.end();
    sock.destroy();
    return dt;
  });
}

async function main(): Promise<void> {
  const echo = await startEcho();
  const rig = await startRig();
  const pool = rig.newPool();
  const out = await rig.startOutbound(pool, `127.0.0.1:${echo.port}`);
  const fmt = (name: string, s: Stats, base?: Stats): string =>
    `${name.padEnd(20)} p50 ${s.p50.toFixed(3)}  p90 ${s.p90.toFixed(3)}  p99 ${s.p99.toFixed(3)} ms  cpu ${s.cpuUs.toFixed(0)} µs/req` +
    (base ? `   added p50 ${(s.p50 - base.p50).toFixed(3)}  p99 ${(s.p99 - base.p99).toFixed(3)} ms` : '');
  const lines = [`node ${process.version}, ${rps} req/s for ${seconds} s, ${bytes} B echo, loopback, one process`];
  const kaDirect = await keepalive(echo.port);
  const kaHbone = await keepalive(out.port);
  lines.push(fmt('keepalive direct', kaDirect), fmt('keepalive hbone', kaHbone, kaDirect));
  const pcDirect = await perConnection(echo.port);
  const pcHbone = await perConnection(out.port);
  lines.push(fmt('per-conn direct', pcDirect), fmt('per-conn hbone', pcHbone, pcDirect));
  process.stdout.write(`${lines.join('\n')}\n`);
  await rig.close();
  echo.server.close();
  for (const s of echo.sockets) s.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
