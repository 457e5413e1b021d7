// Keep-alive HTTP/1.1 requests through an in-process WaypointProxy (the test rig's real HBONE
// endpoints), and the waypoint telemetry's begin()+end() alone. Not a test.
//
// `node dist/bench/micro/waypoint-requests.js [requests] [connections]` (defaults 20000, 4):
// `connections` keep-alive CONNECT streams to the VIP, each sending requests back to back; a
// warm-up of 3000 requests first (V8 optimises the per-request code over the first few thousand).
// Reports requests/s, process CPU (user+sys) µs per request and RSS. Client, waypoint, both HBONE
// hops and the backends share this one process, so the CPU figure is the whole loop's: compare
// before/after in the same sitting, never with the bench suite's per-process figures.
// `node dist/bench/micro/waypoint-requests.js rate [requests] [connections] [req/s]` (defaults
// 10000, 4, 1000): the same requests paced at a fixed rate, each connection sending on its own
// schedule (as the bench's latency suite): CPU per request when each request is handled alone,
// not batched with others as back to back; plus the latency percentiles seen by the client.
// `node dist/bench/micro/waypoint-requests.js telemetry [n]`: begin()+end() only, ns per pair.

import * as http from 'node:http';
import { createRegistry } from '../../src/metrics/index.js';
import { silentLogger } from '../../src/common/log.js';
import type { Service, Workload } from '../../src/state/index.js';
import { WaypointTelemetry } from '../../src/waypoint/telemetry/index.js';
import { startWaypointRig, workload, HOST, NS, WAYPOINT_ID, CLIENT_ID, type WaypointRig } from '../../test/helpers/waypoint-rig.js';

const mb = (n: number): string => (n / 1048576).toFixed(1);

function get(agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request({ agent, host: 'reviews', path: '/bench' }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

async function run(rig: WaypointRig, agents: http.Agent[], n: number): Promise<void> {
  let left = n;
  await Promise.all(
    agents.map(async (a) => {
      while (left > 0) {
        left--;
        const status = await get(a);
        if (status !== 200) throw new Error(`status ${status}`);
      }
    }),
  );
  // The rig records every backend hit; a bench must not grow memory with it.
  rig.hits.length = 0;
}

async function requests(n: number, conns: number): Promise<void> {
  const rig = await startWaypointRig();
  const agents = Array.from({ length: conns }, () => {
    const a = rig.agent();
    a.maxSockets = 1;
    return a;
  });
  for (let i = 0; i < 3; i++) await run(rig, agents, 1000);
  global.gc?.();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < n; done += 1000) await run(rig, agents, Math.min(1000, n - done));
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  const mem = process.memoryUsage();
  process.stdout.write(
    `requests ${n} conns ${conns}: ${(n / wallS).toFixed(0)} req/s, cpu ${((cpu.user + cpu.system) / n).toFixed(1)} µs/req ` +
      `(user ${(cpu.user / n).toFixed(1)}), rss ${mb(mem.rss)} MB heapUsed ${mb(mem.heapUsed)} MB\n`,
  );
  await rig.close();
}

/** `n` requests over `conns` connections at `rps` in all, each connection on its own fixed schedule. */
async function paced(n: number, conns: number, rps: number): Promise<void> {
  const rig = await startWaypointRig();
  const agents = Array.from({ length: conns }, () => {
    const a = rig.agent();
    a.maxSockets = 1;
    return a;
  });
  for (let i = 0; i < 3; i++) await run(rig, agents, 1000);
  const periodMs = (1000 * conns) / rps;
  const lat: number[] = [];
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  global.gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    agents.map(async (a, k) => {
      const count = Math.floor(n / conns);
      for (let i = 0; i < count; i++) {
        const due = t0 + (k * periodMs) / conns + i * periodMs;
        await sleep(due - performance.now());
        const s = performance.now();
        const status = await get(a);
        if (status !== 200) throw new Error(`status ${status}`);
        lat.push(performance.now() - s);
        if (rig.hits.length > 1000) rig.hits.length = 0;
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  lat.sort((x, y) => x - y);
  const pct = (q: number): string => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!.toFixed(3);
  process.stdout.write(
    `paced ${lat.length} requests at ${(lat.length / wallS).toFixed(0)} req/s on ${conns} conns: cpu ${((cpu.user + cpu.system) / lat.length).toFixed(1)} µs/req ` +
      `(${((cpu.user + cpu.system) / 1e6 / wallS).toFixed(3)} cores), p50 ${pct(0.5)} p99 ${pct(0.99)} ms\n`,
  );
  await rig.close();
}

function telemetry(n: number): void {
  const t = new WaypointTelemetry({ registry: createRegistry(), logger: silentLogger(), waypoint: { namespace: NS, name: 'waypoint', identity: WAYPOINT_ID } });
  const src: Workload = workload({ name: 'sleep', ip: '10.0.0.2', sa: 'sleep' });
  const dsts: Workload[] = [workload({ name: 'reviews-v1', ip: '10.0.0.11', sa: 'reviews', version: 'v1' }), workload({ name: 'reviews-v2', ip: '10.0.0.12', sa: 'reviews', version: 'v2' })];
  const svc: Service = {
    name: 'reviews', namespace: NS, hostname: HOST, vips: [{ network: '', ip: '10.96.0.10' }], cidrVips: [], ports: new Map([[80, 8080]]),
    subjectAltNames: [], waypoint: undefined, weightedWaypoints: [], loadBalancer: undefined, ipFamilies: 'IPv4', canonical: true, visibility: 'Public',
  };
  const once = (i: number): void => {
    const headers = new Map<string, string[]>([['user-agent', ['bench']], ['x-request-id', ['abc']]]);
    const span = t.begin({ protocol: 'http', method: 'GET', path: '/bench', authority: HOST, source: { ip: '10.0.0.2', port: 40000, identity: CLIENT_ID, workload: src }, destinationService: svc, headers, startedAt: process.hrtime.bigint() });
    const dst = dsts[i & 1]!;
    span.end({ status: 200, flags: '-', route: 'default', cluster: 'outbound|80||reviews', upstream: { ip: dst.workloadIps[0]!, port: 8080, workload: dst, identity: 'cluster.local/ns/default/sa/reviews' }, requestBytes: 100, responseBytes: 200 });
  };
  for (let i = 0; i < 50000; i++) once(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) once(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  process.stdout.write(`telemetry begin+end: ${ns.toFixed(0)} ns/request over ${n}, series ${t.requestSeries}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'telemetry') return telemetry(Number(process.argv[3] ?? 500000));
  if (process.argv[2] === 'rate') return paced(Number(process.argv[3] ?? 10000), Number(process.argv[4] ?? 4), Number(process.argv[5] ?? 1000));
  await requests(Number(process.argv[2] ?? 20000), Number(process.argv[3] ?? 4));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
