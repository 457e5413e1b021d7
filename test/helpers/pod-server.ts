// A server process run inside a pod network namespace by the netns tests and the demo: HTTP on
// --http (answers with the client address it sees) and a TCP echo on --echo. Prints "ready".
// With --json the HTTP server is the JSON echo of pod-echo-http.ts (plus WebSocket echo) and logs
// each request on stdout; --grpc PORT adds the gRPC echo of pod-grpc-echo.ts (POD_VERSION names it).

import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { jsonEchoHandler, webSocketEcho } from './pod-echo-http.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const httpPort = arg('http', 8080);
const echoPort = arg('echo', 9000);
const grpcPort = arg('grpc', 0);
const json = process.argv.includes('--json');
const name = process.env.POD_NAME ?? 'pod';
const id = { pod: name, version: process.env.POD_VERSION ?? '' };

const http = json
  ? createHttpServer(jsonEchoHandler(id))
  : createHttpServer((req, res) => {
      const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      res.setHeader('content-type', 'text/plain');
      res.end(`hello from ${name}; client=${client}; path=${req.url}\n`);
    });
if (json) http.on('upgrade', webSocketEcho(id));
const echo = createServer({ allowHalfOpen: true }, (s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
let ready = 0;
const listeners = grpcPort > 0 ? 3 : 2;
const onListening = (): void => {
  if (++ready === listeners) process.stdout.write('ready\n');
};
// '::' is dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d (stripped above).
http.listen(httpPort, '::', onListening);
echo.listen(echoPort, '::', onListening);
// Loaded only when asked: the plain server stays as light as before.
if (grpcPort > 0) void import('./pod-grpc-echo.js').then((m) => m.startGrpcEcho(grpcPort, id)).then(onListening);
process.on('SIGTERM', () => process.exit(0));
