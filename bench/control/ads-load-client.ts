// A lean delta ADS client for load (one per simulated node agent): requests from the independent test
// client's protobufjs schema, responses read only down to resource names and versions, every one ACKed.
//
// Why lean: 100 clients each receiving the whole mesh would otherwise spend the bench's CPU decoding
// Workload messages; only the envelope is needed to time and check delivery.

import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { DELTA_PATH, encodeRequest, type TestNode } from '../../test/helpers/ads-client.js';

/** A DeltaDiscoveryResponse read down to what delivery checks need. */
export interface LeanResponse {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: ReadonlyArray<{ readonly name: string; readonly version: string }>;
  readonly removed: readonly string[];
}

/** One response as a client saw it: the envelope, its size on the wire (message bytes), arrival time. */
export interface ReceivedResponse extends LeanResponse {
  readonly bytes: number;
  /** performance.now() at arrival. */
  readonly at: number;
}

const LEN = 2;

/** Reads a Resource message: name (field 3) and version (field 1); the Any is skipped. */
function readResource(r: protobuf.Reader, end: number): { name: string; version: string } {
  let name = '';
  let version = '';
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === LEN) name = r.string();
    else if (field === 1 && (tag & 7) === LEN) version = r.string();
    else r.skipType(tag & 7);
  }
  return { name, version };
}

/**
 * envoy.service.discovery.v3.DeltaDiscoveryResponse fields 2 (resources), 4 (type_url), 5 (nonce)
 * and 6 (removed_resources); anything else is skipped.
 */
export function decodeLeanResponse(bytes: Uint8Array): LeanResponse {
  const r = protobuf.Reader.create(bytes);
  let typeUrl = '';
  let nonce = '';
  const resources: Array<{ name: string; version: string }> = [];
  const removed: string[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== LEN) {
      r.skipType(tag & 7);
      continue;
    }
    if (field === 2) {
      const len = r.uint32();
      resources.push(readResource(r, r.pos + len));
    } else if (field === 4) typeUrl = r.string();
    else if (field === 5) nonce = r.string();
    else if (field === 6) removed.push(r.string());
    else r.skipType(LEN);
  }
  return { typeUrl, nonce, resources, removed };
}

/** Channel settings: ztunnel's 200 MiB receive limit (a whole mesh comes in one response), and a connection of its own. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 200 * 1024 * 1024,
  // Without it grpc-js shares one subchannel (one TCP connection) between clients of one target.
  'grpc.use_local_subchannel_pool': 1,
};

const identity = (b: Buffer): Buffer => b;

export interface LoadClientOptions {
  /** `host:port` of the plaintext xDS listener. */
  readonly address: string;
  readonly node: TestNode;
  /** Type URLs subscribed with a wildcard ("*"), in this order. */
  readonly types: readonly string[];
  /** Every response, after it was ACKed. */
  readonly onResponse: (r: ReceivedResponse) => void;
}

export class AdsLoadClient {
  /** Resolves with the stream's final status. */
  readonly status: Promise<grpc.StatusObject>;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Buffer, Buffer>;

  constructor(private readonly options: LoadClientOptions) {
    this.#client = new grpc.Client(options.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    this.#call = this.#client.makeBidiStreamRequest(DELTA_PATH, identity, identity, new grpc.Metadata());
    this.#call.on('data', (bytes: Buffer) => this.#onData(bytes));
    this.#call.on('error', () => {}); // the status promise reports it
    this.status = new Promise((resolve) => this.#call.on('status', resolve));
    options.types.forEach((typeUrl, i) => this.#call.write(encodeRequest({ ...(i === 0 ? { node: options.node } : {}), typeUrl, subscribe: ['*'] })));
  }

  #onData(bytes: Buffer): void {
    const at = performance.now();
    const r = decodeLeanResponse(bytes);
    // ACK at once, as ztunnel does after applying: type and nonce only.
    this.#call.write(encodeRequest({ typeUrl: r.typeUrl, responseNonce: r.nonce }));
    this.options.onResponse({ ...r, bytes: bytes.length, at });
  }

  /** Cancels the call and closes the channel. */
  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}
