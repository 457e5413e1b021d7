// CLI of the bench HTTP server for the server pod: `node dist/bench/lib/http-server-cli.js --host 0.0.0.0
// --port 8080 [--body-bytes 1024]`; prints `listening <host> <port>` once bound, exits on SIGTERM/SIGINT.

import { parseArgs } from 'node:util';
import { startBenchHttpServer } from './http-server.js';
import { numberFlag, runMain } from './cli-args.js';

runMain(async () => {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '0' },
      'body-bytes': { type: 'string', default: '1024' },
    },
  });
  const srv = await startBenchHttpServer({
    host: values.host,
    port: values.port === '0' ? 0 : Math.round(numberFlag('port', values.port)),
    bodyBytes: Math.round(numberFlag('body-bytes', values['body-bytes'])),
  });
  process.stdout.write(`listening ${srv.host} ${srv.port}\n`);
  const stop = (): void => {
    srv.destroy();
    process.stdout.write(`served ${srv.requests} requests on ${srv.accepted} connections\n`);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
