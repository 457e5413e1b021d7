// A streaming gRPC service for the waypoint tests: real grpc-js servers (one per rig backend, fed
// through the rig's `h2Backend` hook) with protobuf messages from a small .proto (protobufjs), and
// grpc-js client helpers. Each call records what its server saw (messages, cancellation, sends).

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const STREAM_SERVICE = 'ambit.test.Streams';

const PROTO = `
syntax = "proto3";
package ambit.test;
message ListRequest {
  uint32 count = 1;        // items to stream
  uint32 size = 2;         // payload bytes per item
  uint32 interval_ms = 3;  // pause between items
  int32 fail_after = 4;    // > 0: after that many items, end with fail_code (0: no failure)
  uint32 fail_code = 5;
  string fail_message = 6;
  bool hold = 7;           // after the items, keep the stream open until cancelled
  bool fail_first = 8;     // fail_code before anything when this call key was never failed
  bool send_headers = 9;   // send the response headers first (no Trailers-Only answer then)
}
message Item { uint32 seq = 1; string text = 2; bytes payload = 3; }
message Summary { uint32 count = 1; uint32 bytes = 2; string sha256 = 3; repeated uint32 seqs = 4; string backend = 5; }
service Streams {
  rpc List (ListRequest) returns (stream Item);
  rpc Upload (stream Item) returns (Summary);
  rpc Chat (stream Item) returns (stream Item);
}
`;

export interface ListRequest {
  count?: number;
  size?: number;
  intervalMs?: number;
  failAfter?: number;
  failCode?: number;
  failMessage?: string;
  hold?: boolean;
  failFirst?: boolean;
  sendHeaders?: boolean;
}
export interface Item {
  seq: number;
  text: string;
  payload: Buffer;
}
export interface Summary {
  count: number;
  bytes: number;
  sha256: string;
  seqs: number[];
  backend: string;
}

const root = protobuf.parse(PROTO, { keepCase: false }).root;
const service = root.lookupService(STREAM_SERVICE);

function codec<T>(name: string): { serialize: (v: T) => Buffer; deserialize: (b: Buffer) => T } {
  const type = root.lookupType(name);
  return {
    serialize: (v) => Buffer.from(type.encode(type.fromObject(v as Record<string, unknown>)).finish()),
    deserialize: (b) => {
      const o = type.toObject(type.decode(b), { defaults: true, arrays: true }) as Record<string, unknown>;
      if (o['payload'] instanceof Uint8Array) o['payload'] = Buffer.from(o['payload'].buffer, o['payload'].byteOffset, o['payload'].byteLength);
      return o as T;
    },
  };
}

/** The service definition grpc-js servers and clients share, from the .proto's service. */
export const STREAMS: grpc.ServiceDefinition = Object.fromEntries(
  Object.values(service.methods).map((m) => {
    const req = codec<unknown>(`ambit.test.${m.requestType}`);
    const res = codec<unknown>(`ambit.test.${m.responseType}`);
    const def: grpc.MethodDefinition<unknown, unknown> = {
      path: `/${STREAM_SERVICE}/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestSerialize: req.serialize, requestDeserialize: req.deserialize,
      responseSerialize: res.serialize, responseDeserialize: res.deserialize,
    };
    return [m.name, def];
  }),
);

export const MiB = 1024 * 1024;
/** Message size limits both ends accept (grpc-js defaults to 4 MiB received, less than a 4 MiB payload plus framing). */
export const MAX_MESSAGE_BYTES = 16 * MiB;

/** Item `seq`'s deterministic payload of `size` bytes. */
export function payloadFor(seq: number, size: number): Buffer {
  return size === 0 ? Buffer.alloc(0) : Buffer.alloc(size, `${seq}:`);
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** What one server saw of one call (by its `x-call` metadata). */
export interface CallRecord {
  readonly id: string;
  readonly who: string;
  readonly method: string;
  readonly metadata: Record<string, string>;
  /** Messages received / sent (sent counts writes the stream accepted or queued). */
  received: number;
  sent: number;
  sentBytes: number;
  cancelled: boolean;
  /** The handler finished its side (status sent). */
  finished: boolean;
}

export interface StreamServers {
  /** For `startWaypointRig({ h2Backend })`. */
  injectorFor(who: string): { injectConnection(c: import('node:stream').Duplex): void };
  /** Every call of every backend, in arrival order. */
  readonly calls: CallRecord[];
  callsOf(id: string): CallRecord[];
  /** Resolves once call `id` (its latest attempt) was cancelled at its server; rejects after `ms`. */
  cancelled(id: string, ms?: number): Promise<CallRecord>;
  close(): void;
}

function plainMetadata(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One grpc-js server per backend name; each answers in trailers `x-backend: <who>`. */
export function startStreamServers(): StreamServers {
  const calls: CallRecord[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const failedOnce = new Set<string>();
  const servers = new Map<string, grpc.Server>();
  const injectors = new Map<string, { injectConnection(c: import('node:stream').Duplex): void }>();

  const record = (who: string, method: string, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): CallRecord => {
    const metadata = plainMetadata(call.metadata);
    const rec: CallRecord = { id: metadata['x-call'] ?? '', who, method, metadata, received: 0, sent: 0, sentBytes: 0, cancelled: false, finished: false };
    calls.push(rec);
    (call as NodeJS.EventEmitter).on('cancelled', () => {
      rec.cancelled = true;
      events.emit('cancelled', rec);
    });
    return rec;
  };
  const trailer = (who: string, extra: Record<string, string> = {}): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set('x-backend', who);
    for (const [k, v] of Object.entries(extra)) md.set(k, v);
    return md;
  };
  /** Writes with backpressure: waits for 'drain' when the stream says so; false once cancelled. */
  const write = async (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, rec: CallRecord, item: Item): Promise<boolean> => {
    if (call.cancelled) return false;
    const more = call.write(item);
    rec.sent++;
    rec.sentBytes += item.payload.length;
    if (!more && !call.cancelled) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          (call as NodeJS.EventEmitter).off('cancelled', done);
          resolve();
        };
        call.on('drain', done);
        (call as NodeJS.EventEmitter).on('cancelled', done);
      });
    }
    return !call.cancelled;
  };

  const handlers = (who: string): grpc.UntypedServiceImplementation => ({
    List: (async (call: grpc.ServerWritableStream<Required<ListRequest>, Item>) => {
      const rec = record(who, 'List', call);
      rec.received = 1;
      const r = call.request;
      const fail = (): void => {
        rec.finished = true;
        call.emit('error', { code: r.failCode, details: r.failMessage, metadata: trailer(who, { 'x-failed-at': String(rec.sent) }) } satisfies Partial<grpc.StatusObject>);
      };
      if (r.sendHeaders) call.sendMetadata(new grpc.Metadata());
      if (r.failFirst && !failedOnce.has(rec.id)) {
        failedOnce.add(rec.id);
        fail();
        return;
      }
      for (let seq = 0; seq < r.count; seq++) {
        if (r.failAfter > 0 && seq === r.failAfter) return fail();
        if (!(await write(call, rec, { seq, text: `item-${seq}`, payload: payloadFor(seq, r.size) }))) return;
        if (r.intervalMs > 0) await sleep(r.intervalMs);
      }
      if (r.failAfter > 0 && r.failAfter === r.count) return fail();
      if (r.hold || call.cancelled) return;
      rec.finished = true;
      call.end(trailer(who, { 'x-sent': String(rec.sent) }));
    }) as grpc.handleServerStreamingCall<unknown, unknown>,

    Upload: ((call: grpc.ServerReadableStream<Item, Summary>, cb: grpc.sendUnaryData<Summary>) => {
      const rec = record(who, 'Upload', call);
      const hash = createHash('sha256');
      const seqs: number[] = [];
      let bytes = 0;
      call.on('data', (item: Item) => {
        rec.received++;
        seqs.push(item.seq);
        bytes += item.payload.length;
        hash.update(item.payload);
      });
      call.on('end', () => {
        rec.finished = true;
        cb(null, { count: rec.received, bytes, sha256: hash.digest('hex'), seqs, backend: who }, trailer(who));
      });
    }) as grpc.handleClientStreamingCall<unknown, unknown>,

    Chat: ((call: grpc.ServerDuplexStream<Item, Item>) => {
      const rec = record(who, 'Chat', call);
      // Replies in order, one at a time (a write waiting for 'drain' holds the next).
      let chain = Promise.resolve(true);
      call.on('data', (item: Item) => {
        rec.received++;
        chain = chain.then((ok) => ok && write(call, rec, { seq: item.seq, text: `pong:${item.text}`, payload: item.payload }));
      });
      call.on('end', () => {
        void chain.then((ok) => {
          if (!ok || call.cancelled) return;
          rec.finished = true;
          call.end(trailer(who, { 'x-received': String(rec.received) }));
        });
      });
    }) as grpc.handleBidiStreamingCall<unknown, unknown>,
  });

  return {
    calls,
    injectorFor(who) {
      let inj = injectors.get(who);
      if (!inj) {
        const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
        server.addService(STREAMS, handlers(who));
        inj = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
        servers.set(who, server);
        injectors.set(who, inj);
      }
      return inj;
    },
    callsOf: (id) => calls.filter((c) => c.id === id),
    cancelled(id, ms = 10_000) {
      const done = calls.findLast((c) => c.id === id && c.cancelled);
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          events.off('cancelled', on);
          reject(new Error(`call ${id} was not cancelled at its server within ${ms} ms (calls: ${JSON.stringify(calls.filter((c) => c.id === id))})`));
        }, ms);
        const on = (rec: CallRecord): void => {
          if (rec.id !== id) return;
          clearTimeout(t);
          events.off('cancelled', on);
          resolve(rec);
        };
        events.on('cancelled', on);
      });
    },
    close() {
      for (const s of servers.values()) s.forceShutdown();
    },
  };
}

/** A grpc-js client of the service (one channel) on `target`. */
export function streamClient(target: string, options: grpc.ClientOptions = {}): grpc.Client {
  return new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options,
  });
}

/** Call metadata tagging the call with `id` (the servers' `x-call`). */
export function callMetadata(id: string, extra: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-call', id);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

export function method(name: 'List' | 'Upload' | 'Chat'): grpc.MethodDefinition<unknown, unknown> {
  return STREAMS[name]!;
}

/** The outcome of a call: its messages, status, response headers and trailers. */
export interface CallResult<T> {
  readonly messages: T[];
  readonly status: grpc.StatusObject;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
}

/** Collects a server-streaming (or bidi) call to its status. */
export function collectCall<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<CallResult<T>> {
  const messages: T[] = [];
  let headers: Record<string, string> = {};
  call.on('metadata', (m: grpc.Metadata) => (headers = plainMetadata(m)));
  call.on('data', (m: T) => messages.push(m));
  // grpc-js emits 'error' for a non-OK status, then 'status'.
  call.on('error', () => {});
  return new Promise((resolve) => {
    call.on('status', (status: grpc.StatusObject) => {
      // 'status' can come before the last 'data' is read out: let the readable side drain.
      setImmediate(() => resolve({ messages, status, headers, trailers: plainMetadata(status.metadata) }));
    });
  });
}

/** A List call (server streaming). */
export function list(client: grpc.Client, req: ListRequest, md: grpc.Metadata, options: grpc.CallOptions = {}): grpc.ClientReadableStream<Item> {
  const m = method('List');
  return client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize as (b: Buffer) => Item, req, md, options);
}

export function chat(client: grpc.Client, md: grpc.Metadata, options: grpc.CallOptions = {}): grpc.ClientDuplexStream<Item, Item> {
  const m = method('Chat');
  return client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize as (b: Buffer) => Item, md, options);
}

/** An Upload call (client streaming): write items, end, and read the summary and status. */
export function upload(client: grpc.Client, md: grpc.Metadata, options: grpc.CallOptions = {}): { call: grpc.ClientWritableStream<Item>; result: Promise<{ summary?: Summary; status: grpc.StatusObject }> } {
  const m = method('Upload');
  let summary: Summary | undefined;
  let call!: grpc.ClientWritableStream<Item>;
  const result = new Promise<{ summary?: Summary; status: grpc.StatusObject }>((resolve) => {
    call = client.makeClientStreamRequest(m.path, m.requestSerialize, m.responseDeserialize as (b: Buffer) => Summary, md, options, (_err, value) => {
      summary = value;
    });
    call.on('status', (status: grpc.StatusObject) => setImmediate(() => resolve({ summary, status })));
  });
  return { call, result };
}

export { grpc };
