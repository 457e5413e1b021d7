// A tiny gRPC service for the waypoint netns tests (grpc-js, JSON messages instead of protobuf —
// the waypoint never looks inside messages): `Echo` answers what it saw, `Fail` ends with a chosen
// status. The pod server serves it on `--grpc`; pod-grpc-client.ts calls it from a client pod.

import * as grpc from '@grpc/grpc-js';
import { logSeen, type EchoIdentity } from './pod-echo-http.js';

export const GRPC_SERVICE = 'ambit.test.Echo';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString() || '{}'),
};

function method(name: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${GRPC_SERVICE}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export const GRPC_ECHO: grpc.ServiceDefinition = { Echo: method('Echo'), Fail: method('Fail') };

export interface EchoReply {
  readonly pod: string;
  readonly version: string;
  readonly method: string;
  readonly message: unknown;
  /** Request metadata as the server saw it (binary values omitted). */
  readonly metadata: Record<string, string>;
}

function metadataOf(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Starts the service on `[::]:port` in plaintext (h2c, what a waypoint dials for a grpc port). */
export async function startGrpcEcho(port: number, id: EchoIdentity): Promise<grpc.Server> {
  const server = new grpc.Server();
  const record = (name: string, call: grpc.ServerUnaryCall<unknown, unknown>): EchoReply => {
    const metadata = metadataOf(call.metadata);
    const headers = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, [v]]));
    logSeen({ event: 'grpc', pod: id.pod, version: id.version, method: 'POST', url: `/${GRPC_SERVICE}/${name}`, httpVersion: '2.0', headers, body: JSON.stringify(call.request), client: call.getPeer(), at: Date.now() });
    return { pod: id.pod, version: id.version, method: name, message: call.request, metadata };
  };
  server.addService(GRPC_ECHO, {
    Echo: ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const reply = record('Echo', call);
      call.sendMetadata(new grpc.Metadata());
      const trailer = new grpc.Metadata();
      trailer.set('x-pod', id.pod);
      cb(null, reply, trailer);
    }) as grpc.UntypedHandleCall,
    Fail: ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      record('Fail', call);
      const req = call.request as { code?: number; details?: string };
      cb({ code: req.code ?? grpc.status.INTERNAL, details: req.details ?? 'failed on purpose' }, null);
    }) as grpc.UntypedHandleCall,
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`[::]:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}
