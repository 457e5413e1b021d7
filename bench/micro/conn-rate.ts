// CPU per new connection in each proxy process, through the bench's real in-pod topology: the
// client pod's connections captured by agent node1, HBONE to agent node2, the server pod's app.
//
// Not a test: `sudo node dist/bench/micro/conn-rate.js [--paths ambit,node-relay] [--rounds 3]
// [--seconds 5] [--rate 400] [--concurrency 8] [--hold-s 0] [--agent-node-args "--cpu-prof ..."]`.
// Each round runs every path once (paths alternate, as in the bench); each run opens new
// connections (one HTTP/1.1 request with `Connection: close` each) for `seconds`, paced at `rate`
// connections/s over all loops (`--rate 0`: as fast as answered), and reads each proxy's CPU
// (user+sys, /proc/<pid>/stat, all threads) over the run. Printed per path: conn/s, and µs of CPU
// per connection for each proxy, as medians with min–max across rounds. `--hold-s N` keeps
// everything up N seconds after printing the pids, before the first round, so `perf record -p`,
// `strace -c -f -p` can attach. CPU per connection at a fixed rate is steadier than conn/s on a
// shared machine: it does not depend on how much of the cores the proxies got.

import { parseArgs } from 'node:util';
import { readCpuSeconds, runConnRateIn } from '../lib/index.js';
import { AmbitL4Path } from '../paths/ambit.js';
import { NodeRelayPath } from '../paths/node-relay.js';
import { createBenchEnv, podsOf, type BenchEnv, type BenchPath } from '../paths/index.js';

interface RunFigures {
  readonly connPerS: number;
  readonly errors: number;
  /** µs of CPU per completed connection, by proxy label. */
  readonly cpuUsPerConn: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    paths: { type: 'string', default: 'ambit,node-relay' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
    'hold-s': { type: 'string', default: '0' },
    'agent-node-args': { type: 'string', default: '' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);
const holdS = Number(values['hold-s']);
const nodeArgs = values['agent-node-args'].split(' ').filter((x) => x !== '');

function makePaths(names: readonly string[]): BenchPath[] {
  return names.map((n) => {
    if (n === 'ambit') return new AmbitL4Path('mc', 'ms', nodeArgs.length > 0 ? { nodeArgs } : {});
    if (n === 'node-relay') return new NodeRelayPath('rc', 'rs');
    throw new Error(`unknown path ${n} (ambit, node-relay)`);
  });
}

async function runOnce(path: BenchPath): Promise<RunFigures> {
  const t = path.target();
  const proxies = path.proxies();
  const before = proxies.map((p) => readCpuSeconds(p.pid));
  const res = await runConnRateIn(t.client, {
    host: t.host,
    port: t.httpPort,
    path: '/conn',
    concurrency,
    durationS: seconds,
    ...(rate > 0 ? { rate } : {}),
  });
  const cpuUsPerConn: Record<string, number> = {};
  proxies.forEach((p, i) => {
    cpuUsPerConn[p.role] = ((readCpuSeconds(p.pid) - before[i]!) * 1e6) / Math.max(1, res.connections);
  });
  return { connPerS: res.connectionsPerSecond, errors: res.errors, cpuUsPerConn };
}

function spread(xs: readonly number[], digits: number): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${med.toFixed(digits)} (${s[0]!.toFixed(digits)}–${s[s.length - 1]!.toFixed(digits)})`;
}

async function main(): Promise<void> {
  const paths = makePaths(values.paths.split(','));
  let env: BenchEnv | null = null;
  const results = new Map<string, RunFigures[]>();
  try {
    env = await createBenchEnv(podsOf(paths));
    for (const p of paths) {
      await p.setup(env);
      process.stdout.write(`${p.name}: ${p.proxies().map((x) => `${x.role} pid ${x.pid}`).join(', ')}\n`);
    }
    if (holdS > 0) {
      process.stdout.write(`holding ${holdS} s\n`);
      await new Promise((r) => setTimeout(r, holdS * 1000));
    }
    // One short warm-up run per path: V8 optimises the per-connection code first.
    for (const p of paths) await runOnce(p);
    for (let r = 0; r < rounds; r++) {
      for (const p of paths) {
        const f = await runOnce(p);
        results.set(p.name, [...(results.get(p.name) ?? []), f]);
        const cpu = Object.entries(f.cpuUsPerConn).map(([k, v]) => `${k} ${v.toFixed(0)} µs`).join(', ');
        process.stdout.write(`round ${r + 1} ${p.name}: ${f.connPerS.toFixed(0)} conn/s, ${f.errors} errors, CPU per connection ${cpu}\n`);
      }
    }
  } finally {
    for (const p of [...paths].reverse()) await p.teardown();
    await env?.destroy();
  }
  const mode = rate > 0 ? `paced at ${rate} conn/s` : 'as fast as answered';
  process.stdout.write(`\n${concurrency} loops, ${mode}, ${seconds} s × ${rounds} rounds; medians (min–max)\n`);
  for (const [name, runs] of results) {
    const roles = Object.keys(runs[0]!.cpuUsPerConn);
    const cpu = roles.map((role) => `${role} ${spread(runs.map((x) => x.cpuUsPerConn[role]!), 0)} µs`).join(', ');
    process.stdout.write(`${name.padEnd(11)} ${spread(runs.map((x) => x.connPerS), 0)} conn/s; CPU per connection: ${cpu}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
