// The bench's waypoint path (and optionally Ambit L4) at a fixed request rate, round after round in
// one topology: latency percentiles and each proxy's CPU per request. Not a test; needs root.
//
// `node dist/bench/micro/waypoint-fixed-rate.js [rounds] [seconds] [rate] [paths]` (defaults 3, 10,
// 1000, `waypoint`; paths a comma list of `waypoint`, `ambit`): the latency suite's measurement
// (4 keep-alive connections, 1 KB responses, 200 warm-up requests per connection) on the same pods
// and processes as `npm run bench`, without the rest of the run. `AMBIT_HOLD=1` prints the
// waypoint's pid and waits 3 s before each round, so perf/strace can attach for the round;
// `AMBIT_DIAG=1` prints the tail of the proxies' output at the end (e.g. a build run with --trace-gc).
// Compare builds by running this file from each build's dist/ in alternation.

import { benchPaths, createBenchEnv, podsOf, type BenchEnv, type BenchPath } from '../paths/index.js';
import { measureLatency } from '../suite/latency.js';

const log = (s: string): void => void process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 10);
  const rate = Number(process.argv[4] ?? 1000);
  const names = (process.argv[5] ?? 'waypoint').split(',');
  const paths = benchPaths().filter((p) => names.includes(p.name));
  let env: BenchEnv | undefined;
  const up: BenchPath[] = [];
  const stop = async (): Promise<void> => {
    for (const p of up.splice(0).reverse()) await p.teardown();
    await env?.destroy();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    env = await createBenchEnv(podsOf(paths));
    for (const p of paths) {
      up.push(p);
      await p.setup(env);
    }
    for (let r = 1; r <= rounds; r++) {
      for (const p of paths) {
        if (process.env.AMBIT_HOLD === '1') {
          log(`pids ${p.name}: ${p.proxies().map((x) => `${x.label}=${x.pid}`).join(' ')}`);
          await new Promise((res) => setTimeout(res, 3000));
        }
        const rec = await measureLatency(p, { rate, connections: 4, durationS: seconds, warmupRequests: 200, prewarmS: 0 });
        const l = rec.load.latencyMs;
        const cpu = rec.proxies.map((x) => `${x.label} ${x.cpuPer1kRps.toFixed(3)} (${x.cpuCores.toFixed(3)} cores)`).join(', ');
        log(
          `round ${r} ${p.name}: achieved ${rec.load.achievedRate.toFixed(0)} req/s, errors ${rec.load.errors}, ` +
            `p50 ${l.p50.toFixed(3)} p90 ${l.p90.toFixed(3)} p99 ${l.p99.toFixed(3)} ms; cores/1k rps: ${cpu}; ` +
            `rss ${rec.proxies.map((x) => `${x.label} ${(x.peakRssBytes / 1048576).toFixed(0)}`).join(', ')} MB`,
        );
      }
    }
    if (process.env.AMBIT_DIAG === '1') for (const p of paths) log((p as { diagnostics?: () => string }).diagnostics?.() ?? '');
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
