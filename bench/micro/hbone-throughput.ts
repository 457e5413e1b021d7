// Loopback throughput of one HBONE tunnel (app → copy → pool → mTLS/HTTP2 → server → copy → sink)
// against a plain TCP relay (app → pipe → sink). Not a test: see USAGE below.

import * as net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/common/log.js';
import { HbonePool, copyBidirectional, formatAuthority } from '../../src/hbone/index.js';
import { CLIENT_ID, SERVER_ID, TEST_HTTP2, TEST_POOL, startRig } from '../../test/helpers/hbone-fixture.js';
import { hboneClientTls } from '../../test/helpers/hbone-tls.js';
import type { TestCert } from '../../test/helpers/certs.js';
import { DEFAULTS } from '../../src/config/index.js';
import { fullGc, HeapTrimmer, loadNativeSockets, trimHeap } from '../../src/sockets/index.js';

const USAGE = `node dist/bench/micro/hbone-throughput.js [MiB] [--runs N] [--split] [--trim | --trim-every MS]
  MiB      bytes per run (default 1024)
  --runs   measured runs per path after one warm-up run (default 3); medians are reported
  --split  the HBONE server (and its copy to the sink) runs in a child process, as on two nodes;
           CPU is then reported per process (client = this process: app writer, sink and the pool)
  --trim   run the agent's heap trimmer in this process (AMBIT_HEAP_TRIM_INTERVAL default policy)
  --trim-every MS  worst case: malloc_trim(0) every MS ms whatever the load (a trim's cost under transfer)
CPU is process CPU (user+sys, all threads incl. GC helpers) per MB moved, in µs.`;

const MiB = 1024 * 1024;
const chunk = randomBytes(MiB);

/** Messages between the parent and the --split child (the HBONE server side). */
type ChildMsg = { kind: 'ready'; serverPort: number; clientCert: TestCert } | { kind: 'cpu'; us: number };

/** A sink that counts bytes and resolves the next waiter with the count at EOF. */
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

interface RunResult {
  readonly mbps: number;
  /** Process CPU per MB, µs (this process; plus the child's with --split). */
  readonly cpuUsPerMb: number;
  readonly childCpuUsPerMb?: number;
}

const cpuUs = (): number => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** Writes `totalBytes` into a fresh connection to `port`; MB/s measured at the sink. */
async function run(port: number, totalBytes: number, sinkDone: Promise<number>, childCpu?: () => Promise<number>): Promise<RunResult> {
  const app = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
  await once(app, 'connect');
  const child0 = childCpu ? await childCpu() : 0;
  const cpu0 = cpuUs();
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (!app.write(chunk)) await once(app, 'drain');
  }
  app.end();
  const got = await sinkDone;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuUs() - cpu0;
  const child = childCpu ? (await childCpu()) - child0 : undefined;
  if (got !== totalBytes) throw new Error(`sink got ${got} of ${totalBytes} bytes`);
  app.destroy();
  const mb = totalBytes / 1e6;
  return { mbps: mb / secs, cpuUsPerMb: cpu / mb, ...(child !== undefined ? { childCpuUsPerMb: child / mb } : {}) };
}

/** The --split child: an HBONE server (rig) whose default handler dials the authority and copies. */
async function childMain(): Promise<void> {
  const rig = await startRig();
  const send = (m: ChildMsg): void => {
    process.send!(m);
  };
  process.on('message', (m: { kind: string }) => {
    if (m.kind === 'cpu') send({ kind: 'cpu', us: cpuUs() });
    if (m.kind === 'stop') void rig.close().then(() => process.exit(0));
  });
  send({ kind: 'ready', serverPort: rig.serverPort, clientCert: rig.clientCert });
}

/** A mini outbound proxy in this process, tunnelling every app connection to `authority` via `serverPort`. */
async function startSplitOutbound(serverPort: number, clientCert: TestCert, authority: string): Promise<{ port: number; close: () => void }> {
  const pool = new HbonePool({ http2: TEST_HTTP2, pool: TEST_POOL, connectTimeoutMs: 5_000, logger: silentLogger() });
  const out = net.createServer({ allowHalfOpen: true, noDelay: true }, (app) => {
    app.pause();
    pool
      .connect({
        key: `${CLIENT_ID}|${SERVER_ID}|127.0.0.1|${formatAuthority('127.0.0.1', serverPort)}`,
        nextHop: { ip: '127.0.0.1', port: serverPort },
        tls: () => hboneClientTls(clientCert, [SERVER_ID]),
        authority,
        headers: { forwarded: 'for="127.0.0.1:1"' },
      })
      .then(
        (s) => {
          void copyBidirectional(app, s.stream, {}, { h2SendBufferBytes: TEST_HTTP2.streamWindowBytes });
          app.resume();
        },
        () => app.destroy(),
      );
  });
  out.listen(0, '127.0.0.1');
  await once(out, 'listening');
  return {
    port: (out.address() as net.AddressInfo).port,
    close: () => {
      pool.destroy();
      out.close();
    },
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '3' },
      split: { type: 'boolean', default: false },
      trim: { type: 'boolean', default: false },
      'trim-every': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const totalBytes = Number(positionals[0] ?? 1024) * MiB;
  const runs = Math.max(1, Number(values.runs));
  const sink = await startSink();
  const native = loadNativeSockets();
  let trims = 0;
  let trimmer: HeapTrimmer | undefined;
  let trimTimer: NodeJS.Timeout | undefined;
  if ((values.trim || values['trim-every'] !== undefined) && !native.ok) throw new Error(native.reason);
  if (values.trim && native.ok) {
    const D = DEFAULTS;
    const policy = { marginBytes: D.heapTrimMarginBytes, activityCpuMs: D.heapTrimActivityCpuMs, quietCpuFraction: D.heapTrimQuietCpuFraction, dropRatio: D.heapTrimDropRatio };
    trimmer = new HeapTrimmer({ intervalMs: D.heapTrimIntervalMs, policy, trim: () => trimHeap(native.native), collectGarbage: fullGc(), onTrim: () => trims++ });
    trimmer.start();
  } else if (values['trim-every'] !== undefined && native.ok) {
    trimTimer = setInterval(() => void trimHeap(native.native).then(() => trims++), Number(values['trim-every']));
  }

  // Baseline: plain TCP relay with stream.pipe both ways.
  const relay = net.createServer({ allowHalfOpen: true }, (a) => {
    const b = net.connect({ host: '127.0.0.1', port: sink.port, allowHalfOpen: true, noDelay: true });
    a.pipe(b);
    b.pipe(a);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const relayPort = (relay.address() as net.AddressInfo).port;

  let hbonePort: number;
  let closeHbone: () => Promise<void>;
  let childCpu: (() => Promise<number>) | undefined;
  if (values.split) {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: process.execArgv });
    const [ready] = (await once(child, 'message')) as [ChildMsg];
    if (ready.kind !== 'ready') throw new Error('child did not start');
    const out = await startSplitOutbound(ready.serverPort, ready.clientCert, `127.0.0.1:${sink.port}`);
    hbonePort = out.port;
    childCpu = async () => {
      child.send({ kind: 'cpu' });
      for (;;) {
        const [m] = (await once(child, 'message')) as [ChildMsg];
        if (m.kind === 'cpu') return m.us;
      }
    };
    closeHbone = async () => {
      out.close();
      child.send({ kind: 'stop' });
      await once(child, 'exit');
    };
  } else {
    const rig = await startRig();
    const out = await rig.startOutbound(rig.newPool(), `127.0.0.1:${sink.port}`);
    hbonePort = out.port;
    closeHbone = () => rig.close();
  }

  const results: Record<'tcp' | 'hbone', RunResult[]> = { tcp: [], hbone: [] };
  // One warm-up run each (JIT, TLS handshake, windows), then alternate so drift hits both alike.
  await run(relayPort, totalBytes, sink.next());
  await run(hbonePort, totalBytes, sink.next(), childCpu);
  for (let i = 0; i < runs; i++) {
    results.tcp.push(await run(relayPort, totalBytes, sink.next()));
    results.hbone.push(await run(hbonePort, totalBytes, sink.next(), childCpu));
  }
  const line = (name: string, rs: RunResult[]): string => {
    const cpu = values.split && name.startsWith('HBONE')
      ? `cpu client ${median(rs.map((r) => r.cpuUsPerMb)).toFixed(0)} + server ${median(rs.map((r) => r.childCpuUsPerMb ?? 0)).toFixed(0)} µs/MB`
      : `cpu ${median(rs.map((r) => r.cpuUsPerMb)).toFixed(0)} µs/MB`;
    return `${name}: median ${median(rs.map((r) => r.mbps)).toFixed(0)} MB/s, ${cpu}  (runs: ${rs.map((r) => r.mbps.toFixed(0)).join(', ')})`;
  };
  process.stdout.write(
    `node ${process.version}, ${totalBytes / MiB} MiB per run, ${runs} run${runs === 1 ? '' : 's'}, 1 connection, loopback${values.split ? ', HBONE server in a child process' : ''}\n` +
      `${line('plain TCP relay', results.tcp)}\n` +
      `${line('HBONE tunnel   ', results.hbone)}\n` +
      `ratio hbone/tcp : ${(median(results.hbone.map((r) => r.mbps)) / median(results.tcp.map((r) => r.mbps))).toFixed(2)}\n` +
      (trimmer !== undefined || trimTimer !== undefined ? `heap trims during the runs: ${trims}\n` : ''),
  );
  trimmer?.destroy();
  if (trimTimer !== undefined) clearInterval(trimTimer);
  await closeHbone();
  relay.close();
  sink.server.close();
}

const entry = process.argv.includes('--child') ? childMain() : main().then(() => process.exit(0));
entry.catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
