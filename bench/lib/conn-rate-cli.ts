// CLI of the connection-rate loops, for running inside a pod's netns:
// `node dist/bench/lib/conn-rate-cli.js --url host:port/path --concurrency 8 --duration 5 [--rate N] --json`.

import { parseArgs } from 'node:util';
import { MeshError } from '../../src/common/errors.js';
import { parseTarget } from './load-generator.js';
import { runConnRate } from './conn-rate.js';
import { numberFlag, runMain, secondsFlag } from './cli-args.js';

runMain(async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      duration: { type: 'string', default: '5' },
      'timeout-ms': { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.url === undefined) throw new MeshError('CONFIG_INVALID', '--url host:port/path is required');
  const res = await runConnRate({
    ...parseTarget(values.url),
    concurrency: Math.round(numberFlag('concurrency', values.concurrency)),
    durationS: secondsFlag('duration', values.duration),
    timeoutMs: values['timeout-ms'] === undefined ? undefined : numberFlag('timeout-ms', values['timeout-ms']),
    rate: values.rate === undefined ? undefined : numberFlag('rate', values.rate),
  });
  if (values.json) process.stdout.write(JSON.stringify(res) + '\n');
  else {
    const l = res.latencyMs;
    process.stdout.write(
      `${res.connections} connections, ${res.errors} errors, ${res.connectionsPerSecond.toFixed(1)} conn/s; ` +
        `per connection ms: p50 ${l.p50} p99 ${l.p99}\n`,
    );
  }
});
