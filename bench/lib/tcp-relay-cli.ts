// CLI of the Node floor relay: `tcp-relay-cli.js --route 127.0.0.1:15080=10.0.0.2:16080 ...` prints
// `listening <n> routes` once every route listens, and runs until SIGTERM/SIGINT.

import { parseArgs } from 'node:util';
import { MeshError } from '../../src/common/errors.js';
import { runMain } from './cli-args.js';
import { TcpRelay, parseRoute } from './tcp-relay.js';

runMain(async () => {
  const { values } = parseArgs({ options: { route: { type: 'string', multiple: true } } });
  const routes = (values.route ?? []).map(parseRoute);
  if (routes.length === 0) throw new MeshError('CONFIG_INVALID', 'usage: tcp-relay-cli.js --route listenHost:port=toHost:port [...]');
  const relay = new TcpRelay(routes);
  await relay.start();
  process.stdout.write(`listening ${routes.length} routes\n`);
  const stop = (): void => {
    relay.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
