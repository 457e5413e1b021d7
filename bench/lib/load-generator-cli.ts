// CLI of the fixed-rate load generator, so the harness can run it inside a pod's netns:
// `node dist/bench/lib/load-generator-cli.js --url host:port/path --rate 1000 --connections 4 --duration 10 --json`.

import { parseArgs } from 'node:util';
import { MeshError } from '../../src/common/errors.js';
import { parseTarget, runLoad } from './load-generator.js';
import { numberFlag, runMain, secondsFlag } from './cli-args.js';

runMain(async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string', default: '4' },
      duration: { type: 'string', default: '5' },
      'timeout-ms': { type: 'string' },
      'warmup-requests': { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.url === undefined) throw new MeshError('CONFIG_INVALID', '--url host:port/path is required');
  const target = parseTarget(values.url);
  const res = await runLoad({
    ...target,
    rate: numberFlag('rate', values.rate),
    connections: Math.round(numberFlag('connections', values.connections)),
    durationS: secondsFlag('duration', values.duration),
    timeoutMs: values['timeout-ms'] === undefined ? undefined : numberFlag('timeout-ms', values['timeout-ms']),
    warmupRequests: values['warmup-requests'] === '0' ? 0 : Math.round(numberFlag('warmup-requests', values['warmup-requests'])),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const l = res.latencyMs;
  process.stdout.write(
    `${res.count} ok, ${res.errors} errors, ${res.achievedRate.toFixed(1)} req/s (target ${res.target.rate}), late ${res.late}\n` +
      `latency ms: min ${l.min} p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max}\n` +
      `from schedule ms: p50 ${res.latencyFromScheduleMs.p50} p99 ${res.latencyFromScheduleMs.p99}; send lag p99 ${res.sendLagMs.p99} ms\n`,
  );
});
