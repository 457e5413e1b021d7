// A server process run inside a pod network namespace by the netns tests and the demo: HTTP on
// --http (answers with the client address it sees) and a TCP echo on --echo. Prints "ready".

import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const httpPort = arg('http', 8080);
const echoPort = arg('echo', 9000);
const name = process.env.POD_NAME ?? 'pod';

const http = createHttpServer((req, res) => {
  const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from ${name}; client=${client}; path=${req.url}\n`);
});
const echo = createServer({ allowHalfOpen: true }, (s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
let ready = 0;
const onListening = (): void => {
  if (++ready === 2) process.stdout.write('ready\n');
};
// '::' is dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d (stripped above).
http.listen(httpPort, '::', onListening);
echo.listen(echoPort, '::', onListening);
process.on('SIGTERM', () => process.exit(0));
