// CLI of the idle-connection holder, for running inside a pod's netns: opens --count connections,
// prints {"event":"held",...}, holds them until stdin has a line or ends, closes, prints {"event":"closed",...}.

import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { MeshError } from '../../src/common/errors.js';
import { parseTarget } from './load-generator.js';
import { IdleConnections } from './idle-connections.js';
import { numberFlag, runMain } from './cli-args.js';

runMain(async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      count: { type: 'string', default: '5000' },
      concurrency: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  if (values.url === undefined) throw new MeshError('CONFIG_INVALID', '--url host:port/path is required');
  const idle = new IdleConnections({
    ...parseTarget(values.url),
    count: Math.round(numberFlag('count', values.count)),
    connectConcurrency: values.concurrency === undefined ? undefined : Math.round(numberFlag('concurrency', values.concurrency)),
    timeoutMs: values['timeout-ms'] === undefined ? undefined : numberFlag('timeout-ms', values['timeout-ms']),
  });
  // Release on the first stdin line or at stdin EOF (the harness died): never hold forever.
  const rl = createInterface({ input: process.stdin });
  const released = Promise.race([once(rl, 'line'), once(rl, 'close')]);
  await idle.start();
  process.stdout.write(JSON.stringify({ event: 'held', ...idle.summary() }) + '\n');
  await released;
  rl.close();
  const dropped = idle.summary().droppedWhileHeld;
  await idle.close();
  process.stdout.write(JSON.stringify({ event: 'closed', ...idle.summary(), droppedWhileHeld: dropped }) + '\n');
  process.stdin.destroy();
});
