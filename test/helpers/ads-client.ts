// An independent delta ADS test client: grpc-js and protobufjs straight from proto/ (no Ambit code),
// recording every response and letting a test send subscriptions, ACKs and NACKs by hand.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
export const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const ADDRESS_TYPE = 'type.googleapis.com/istio.workload.Address';
export const AUTHZ_TYPE = 'type.googleapis.com/istio.security.Authorization';

/** A node as ztunnel sends it (ztunnel src/xds/client.rs: id `ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`, string metadata). */
export function ztunnelNode(pod = 'ztunnel-abc', ip = '10.0.0.1'): TestNode {
  return {
    id: `ztunnel~${ip}~${pod}.istio-system~istio-system.svc.cluster.local`,
    metadata: { NAME: pod, NAMESPACE: 'istio-system', INSTANCE_IPS: ip, NODE_NAME: 'node-1' },
  };
}

export interface TestNode {
  readonly id: string;
  readonly cluster?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface TestRequest {
  readonly node?: TestNode;
  readonly typeUrl: string;
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly initialVersions?: Readonly<Record<string, string>>;
  readonly responseNonce?: string;
  readonly errorDetail?: { readonly code: number; readonly message: string };
}

export interface TestResource {
  readonly name: string;
  readonly version: string;
  /** The Any's type URL. */
  readonly anyType: string;
  readonly value: Buffer;
}

export interface TestResponse {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly systemVersionInfo: string;
  readonly resources: readonly TestResource[];
  readonly removed: readonly string[];
  readonly controlPlane: string | undefined;
  /** performance.now() at arrival. */
  readonly at: number;
}

let root: protobuf.Root | undefined;

/** The schema from proto/ at the repository root, loaded here with protobufjs's own resolver rules. */
export function testProtoRoot(): protobuf.Root {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'proto', 'envoy'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('proto/ not found');
    dir = up;
  }
  const base = join(dir, 'proto');
  const r = new protobuf.Root();
  r.resolvePath = (_o, target) => (target.startsWith('google/protobuf/') ? target : isAbsolute(target) ? target : join(base, target));
  r.loadSync([join(base, 'envoy/service/discovery/v3/ads.proto'), join(base, 'istio/workload/workload.proto'), join(base, 'istio/security/authorization.proto')]);
  r.resolveAll();
  root = r;
  return r;
}

const type = (name: string): protobuf.Type => testProtoRoot().lookupType(name);

export function encodeRequest(req: TestRequest): Buffer {
  const t = type('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const obj: Record<string, unknown> = {
    typeUrl: req.typeUrl,
    resourceNamesSubscribe: [...(req.subscribe ?? [])],
    resourceNamesUnsubscribe: [...(req.unsubscribe ?? [])],
    initialResourceVersions: { ...(req.initialVersions ?? {}) },
    responseNonce: req.responseNonce ?? '',
  };
  if (req.node !== undefined) {
    const fields: Record<string, { stringValue: string }> = {};
    for (const [k, v] of Object.entries(req.node.metadata ?? {})) fields[k] = { stringValue: v };
    obj.node = { id: req.node.id, cluster: req.node.cluster ?? '', metadata: { fields } };
  }
  if (req.errorDetail !== undefined) obj.errorDetail = { code: req.errorDetail.code, message: req.errorDetail.message };
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

export function decodeResponse(bytes: Buffer): TestResponse {
  const t = type('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const msg = t.toObject(t.decode(bytes), { defaults: true, arrays: true }) as {
    typeUrl: string;
    nonce: string;
    systemVersionInfo: string;
    // google.protobuf.Any keeps its snake_case field names in protobufjs's bundled definition.
    resources: Array<{ name: string; version: string; resource?: { type_url: string; value: Uint8Array } }>;
    removedResources: string[];
    controlPlane?: { identifier: string } | null;
  };
  return {
    typeUrl: msg.typeUrl,
    nonce: msg.nonce,
    systemVersionInfo: msg.systemVersionInfo,
    resources: msg.resources.map((r) => ({
      name: r.name,
      version: r.version,
      anyType: r.resource?.type_url ?? '',
      value: Buffer.from(r.resource?.value ?? new Uint8Array()),
    })),
    removed: msg.removedResources,
    controlPlane: msg.controlPlane?.identifier,
    at: performance.now(),
  };
}

/** Encodes a message of the schema from a protobufjs-style object (camelCase fields). */
export function encodeMessage(fullName: string, obj: Record<string, unknown>): Buffer {
  const t = type(fullName);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

/** Decodes a resource value into a plain object. */
export function decodeMessage(fullName: string, value: Uint8Array): Record<string, unknown> {
  const t = type(fullName);
  return t.toObject(t.decode(value), { longs: Number, enums: String, bytes: Array }) as Record<string, unknown>;
}

export interface AdsClientOptions {
  /** `host:port`. */
  readonly address: string;
  readonly credentials?: grpc.ChannelCredentials;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Default DELTA_PATH. */
  readonly path?: string;
  readonly channelOptions?: grpc.ChannelOptions;
}

interface Waiter {
  readonly typeUrl: string | undefined;
  readonly resolve: (r: TestResponse) => void;
  readonly reject: (err: Error) => void;
}

const identity = (b: Buffer): Buffer => b;

export class AdsTestClient {
  /** Every response, in arrival order. */
  readonly responses: TestResponse[] = [];
  /** Every request sent, in order. */
  readonly requests: TestRequest[] = [];
  /** Resolves with the stream's final status. */
  readonly status: Promise<grpc.StatusObject>;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Buffer, Buffer>;
  /** Responses not yet taken by next(). */
  readonly #unread: TestResponse[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #held = new Map<string, Map<string, string>>();
  #ended: grpc.StatusObject | undefined;

  constructor(options: AdsClientOptions) {
    this.#client = new grpc.Client(options.address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions ?? {});
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
    this.#call = this.#client.makeBidiStreamRequest(options.path ?? DELTA_PATH, identity, identity, md);
    this.#call.on('data', (bytes: Buffer) => this.#onResponse(decodeResponse(bytes)));
    this.#call.on('error', () => {}); // the status promise reports it
    this.status = new Promise((resolve) =>
      this.#call.on('status', (s: grpc.StatusObject) => {
        this.#ended = s;
        resolve(s);
        // Nothing more will come: waiters fail now instead of at their timeout.
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`stream ended: ${grpc.status[s.code]} ${s.details}`));
      }),
    );
  }

  get ended(): grpc.StatusObject | undefined {
    return this.#ended;
  }

  send(req: TestRequest): void {
    this.requests.push(req);
    this.#call.write(encodeRequest(req));
  }

  /** ACK: type and nonce only (what ztunnel sends). */
  ack(resp: TestResponse): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce });
  }

  /** NACK: error_detail with code 0 (ztunnel's), the reasons in the message. */
  nack(resp: TestResponse, message: string, code = 0): void {
    this.send({ typeUrl: resp.typeUrl, responseNonce: resp.nonce, errorDetail: { code, message } });
  }

  /** The next response not yet read (of `typeUrl` if given), in arrival order. */
  next(typeUrl?: string, timeoutMs = 5_000): Promise<TestResponse> {
    const i = this.#unread.findIndex((r) => typeUrl === undefined || r.typeUrl === typeUrl);
    if (i >= 0) return Promise.resolve(this.#unread.splice(i, 1)[0]!);
    const ended = this.#ended;
    if (ended !== undefined) return Promise.reject(new Error(`stream ended: ${grpc.status[ended.code]} ${ended.details}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        typeUrl,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no ${typeUrl ?? 'ADS'} response within ${timeoutMs} ms (${this.responses.length} received in all)`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves if no response (of `typeUrl`) arrives within `ms` and the stream stays up; rejects naming the one that did. */
  async expectQuiet(ms: number, typeUrl?: string): Promise<void> {
    const unexpected = await this.next(typeUrl, ms).then(
      (r) => r,
      (err: Error) => {
        if (this.#ended !== undefined) throw err; // a dead stream is not a quiet one
        return undefined;
      },
    );
    if (unexpected !== undefined) {
      throw new Error(`unexpected response ${unexpected.typeUrl} nonce ${unexpected.nonce}: ${unexpected.resources.map((r) => r.name).join(',')} removed ${unexpected.removed.join(',')}`);
    }
  }

  /** name → version the client holds for a type, applying every response received so far. */
  held(typeUrl: string): Map<string, string> {
    return new Map(this.#held.get(typeUrl) ?? []);
  }

  /** Half-closes the request stream (the server should end the call). */
  halfClose(): void {
    this.#call.end();
  }

  /** Cancels the call and closes the channel. */
  close(): void {
    this.#call.cancel();
    this.#client.close();
  }

  #onResponse(r: TestResponse): void {
    this.responses.push(r);
    const held = this.#held.get(r.typeUrl) ?? new Map<string, string>();
    for (const res of r.resources) held.set(res.name, res.version);
    for (const name of r.removed) held.delete(name);
    this.#held.set(r.typeUrl, held);
    const w = this.#waiters.findIndex((x) => x.typeUrl === undefined || x.typeUrl === r.typeUrl);
    if (w >= 0) this.#waiters.splice(w, 1)[0]!.resolve(r);
    else this.#unread.push(r);
  }
}
