// CLI of the byte-counting sink: `tcp-sink-cli.js serve --host 0.0.0.0 --port 0` prints `listening
// <host> <port>`; `tcp-sink-cli.js send --url host:port --bytes N` prints the transfer's JSON.

import { parseArgs } from 'node:util';
import { MeshError } from '../../src/common/errors.js';
import { TcpSink, sendCounted } from './tcp-sink.js';
import { parseTarget } from './load-generator.js';
import { numberFlag, runMain } from './cli-args.js';

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '0' },
      url: { type: 'string' },
      bytes: { type: 'string' },
    },
  });
  if (positionals[0] === 'serve') {
    const sink = new TcpSink({ host: values.host, port: values.port === '0' ? 0 : Math.round(numberFlag('port', values.port)) });
    await sink.start();
    process.stdout.write(`listening ${values.host} ${sink.port}\n`);
    process.once('SIGTERM', () => sink.destroy());
    process.once('SIGINT', () => sink.destroy());
  } else if (positionals[0] === 'send') {
    if (values.url === undefined) throw new MeshError('CONFIG_INVALID', '--url host:port is required');
    const t = parseTarget(values.url);
    const res = await sendCounted({ host: t.host, port: t.port, bytes: Math.round(numberFlag('bytes', values.bytes)) });
    process.stdout.write(JSON.stringify(res) + '\n');
  } else throw new MeshError('CONFIG_INVALID', 'usage: tcp-sink-cli.js serve [--host H --port P] | send --url host:port --bytes N');
});
