// A one-call gRPC client run inside a client pod's netns by the waypoint netns tests:
// `node pod-grpc-client.js <ip:port> <Echo|Fail> <json request> [key=value metadata...]`.
// Prints one JSON line: the status, the reply or error, response headers and trailers.

import * as grpc from '@grpc/grpc-js';
import { GRPC_ECHO, GRPC_SERVICE } from './pod-grpc-echo.js';

/** What one call printed. */
export interface GrpcCallResult {
  readonly code: number;
  readonly details: string;
  readonly reply?: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
}

function plain(md: grpc.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md?.getMap() ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function main(): void {
  const [target, name, body, ...pairs] = process.argv.slice(2);
  const def = GRPC_ECHO[name ?? ''];
  if (target === undefined || def === undefined) {
    process.stderr.write(`usage: pod-grpc-client <ip:port> <${Object.keys(GRPC_ECHO).join('|')}> <json> [k=v...]\n`);
    process.exit(2);
  }
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const p of pairs) md.add(p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1));
  let headers: grpc.Metadata | undefined;
  let reply: Record<string, unknown> | undefined;
  const call = client.makeUnaryRequest(
    `/${GRPC_SERVICE}/${name}`, def.requestSerialize, def.responseDeserialize as (b: Buffer) => Record<string, unknown>,
    JSON.parse(body ?? '{}') as unknown, md, { deadline: Date.now() + 10_000 },
    (_err, value) => (reply = value),
  );
  call.on('metadata', (m) => (headers = m));
  call.on('status', (s: grpc.StatusObject) => {
    const out: GrpcCallResult = { code: s.code, details: s.details, reply, headers: plain(headers), trailers: plain(s.metadata) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    client.close();
  });
}

main();
