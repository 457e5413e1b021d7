// A scripted delta ADS control plane for tests: a real grpc-js server of AggregatedDiscoveryService/
// DeltaAggregatedResources built from the repo's protos. Tests push any resource (also malformed ones) and read every request.

import * as grpc from '@grpc/grpc-js';
import { createRootCa } from '../../src/identity/x509.js';
import type { Authorization, Service, Workload } from '../../src/state/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  DELTA_ADS_PATH,
  addressResourceName,
  authorizationResourceName,
  decodeDeltaRequest,
  decodeDeltaResponse,
  encodeAddress,
  encodeAuthorization,
  encodeDeltaRequest,
  encodeDeltaResponse,
  type DeltaRequest,
  type DeltaResource,
  type DeltaResponse,
} from '../../src/xds/index.js';
import { makeServingCert } from './fake-istiod-ca.js';

/** One resource to send: a model object (encoded with the codec) or raw/malformed pieces. */
export interface PeerResource {
  readonly name?: string;
  readonly version?: string;
  readonly address?: Workload | Service;
  readonly authorization?: Authorization;
  /** Raw Any value bytes (malformed resources). */
  readonly bytes?: Uint8Array;
  /** The Any's type_url; default the response's type. */
  readonly anyTypeUrl?: string;
  /** Send the Resource without its Any. */
  readonly noResource?: boolean;
}

export interface PeerStream {
  readonly id: number;
  /** Request metadata (lower-case keys; repeated values joined by ", "). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly requests: DeltaRequest[];
  /** Sends a DeltaDiscoveryResponse; returns its nonce. */
  push(typeUrl: string, resources: readonly PeerResource[], removed?: readonly string[]): string;
  /** The first request (already received or future) matching `pred`; rejects after `timeoutMs`. */
  waitForRequest(pred: (r: DeltaRequest) => boolean, timeoutMs?: number): Promise<DeltaRequest>;
  /** The reply (ACK or NACK) to the response with this nonce. */
  replyTo(nonce: string, timeoutMs?: number): Promise<DeltaRequest>;
  /** Ends the stream with a status; OK is a clean end. */
  end(code?: grpc.status, details?: string): void;
  readonly open: boolean;
}

export interface DeltaAdsPeer {
  /** `http://host:port`, or `https://host:port` with `tls`. */
  readonly address: string;
  readonly port: number;
  /** The root that signs the serving certificate (tls only). */
  readonly rootPem: string | undefined;
  readonly streams: readonly PeerStream[];
  /** Stream number `n` (1-based), once opened. */
  stream(n: number, timeoutMs?: number): Promise<PeerStream>;
  /**
   * What the automatic responder serves: every initial request of a type is answered with all
   * resources of that type here, and removals for held names that are not here.
   */
  readonly world: Map<string, Map<string, PeerResource>>;
  /** Updates the world and pushes the change to every open stream. */
  publish(typeUrl: string, resources: readonly PeerResource[], removed?: readonly string[]): void;
  /** Kills the server: every connection dropped at once, nothing answers until restart(). */
  kill(): void;
  /** Serves again on the same port. */
  restart(): Promise<void>;
  close(): void;
}

export interface PeerOptions {
  readonly host?: string;
  /** Serve TLS with a certificate for these names (default plaintext). */
  readonly tlsNames?: readonly string[];
  /** Answer initial requests from `world` (default true). */
  readonly auto?: boolean;
}

/** `name`/`version` defaults: the codec's resource name, version "1". */
export function toDeltaResource(typeUrl: string, r: PeerResource): DeltaResource {
  const name = r.name ?? (r.address ? addressResourceName(r.address) : r.authorization ? authorizationResourceName(r.authorization) : '');
  const value = r.bytes ?? (r.address ? encodeAddress(r.address) : r.authorization ? encodeAuthorization(r.authorization) : new Uint8Array());
  return { name, version: r.version ?? '1', resource: r.noResource ? undefined : { typeUrl: r.anyTypeUrl ?? typeUrl, value } };
}

function waitList<T>(list: T[], waiters: Array<() => void>, pred: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = list.find(pred);
      if (hit === undefined) return false;
      clearTimeout(timer);
      resolve(hit);
      return true;
    };
    const timer = setTimeout(() => {
      const i = waiters.indexOf(tick);
      if (i >= 0) waiters.splice(i, 1);
      reject(new Error(`${what}: not seen within ${timeoutMs} ms (${list.length} seen)`));
    }, timeoutMs);
    const tick = (): void => {
      if (check()) waiters.splice(waiters.indexOf(tick), 1);
    };
    if (!check()) waiters.push(tick);
  });
}

export async function startDeltaAdsPeer(options: PeerOptions = {}): Promise<DeltaAdsPeer> {
  const host = options.host ?? '127.0.0.1';
  const auto = options.auto ?? true;
  const streams: PeerStream[] = [];
  const streamWaiters: Array<() => void> = [];
  const world = new Map<string, Map<string, PeerResource>>([
    [ADDRESS_TYPE_URL, new Map()],
    [AUTHORIZATION_TYPE_URL, new Map()],
  ]);
  let nonceSeq = 0;
  let credentials = grpc.ServerCredentials.createInsecure();
  let rootPem: string | undefined;
  if (options.tlsNames) {
    const root = await createRootCa({ subject: 'O=fake-control-plane', validityMs: 24 * 3600_000 });
    const serving = await makeServingCert(root, options.tlsNames);
    rootPem = root.certPem;
    credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(serving.keyPem) }], false);
  }

  const handler = (call: grpc.ServerDuplexStream<DeltaRequest, DeltaResponse>): void => {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
    const requests: DeltaRequest[] = [];
    const reqWaiters: Array<() => void> = [];
    let open = true;
    const stream: PeerStream = {
      id: streams.length + 1,
      metadata,
      requests,
      get open() {
        return open;
      },
      push(typeUrl, resources, removed = []) {
        const nonce = `n${++nonceSeq}`;
        call.write({ typeUrl, nonce, resources: resources.map((r) => toDeltaResource(typeUrl, r)), removedResources: [...removed] });
        return nonce;
      },
      waitForRequest: (pred, timeoutMs = 10_000) => waitList(requests, reqWaiters, pred, timeoutMs, `stream ${streams.length} request`),
      replyTo: (nonce, timeoutMs = 10_000) => waitList(requests, reqWaiters, (r) => r.responseNonce === nonce, timeoutMs, `reply to ${nonce}`),
      end(code = grpc.status.OK, details = '') {
        if (!open) return;
        open = false;
        if (code === grpc.status.OK) call.end();
        else call.emit('error', { code, details, metadata: new grpc.Metadata() });
      },
    };
    // Response headers at once, as a real server does when it accepts the stream.
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (req: DeltaRequest) => {
      requests.push(req);
      for (const w of [...reqWaiters]) w();
      if (auto && open && req.node !== undefined && req.responseNonce === '') answerInitial(stream, req);
    });
    call.on('end', () => stream.end());
    call.on('cancelled', () => (open = false));
    call.on('error', () => (open = false));
    streams.push(stream);
    for (const w of [...streamWaiters]) w();
  };

  const answerInitial = (stream: PeerStream, req: DeltaRequest): void => {
    const have = world.get(req.typeUrl) ?? new Map<string, PeerResource>();
    const removed = Object.keys(req.initialResourceVersions ?? {}).filter((name) => !have.has(name));
    stream.push(req.typeUrl, [...have.values()], removed);
  };

  const definition: grpc.ServiceDefinition = {
    DeltaAggregatedResources: {
      path: DELTA_ADS_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: encodeDeltaRequest,
      requestDeserialize: (b: Buffer) => decodeDeltaRequest(b),
      responseSerialize: encodeDeltaResponse,
      responseDeserialize: (b: Buffer) => decodeDeltaResponse(b),
    },
  };
  let server: grpc.Server;
  const bind = async (port: number): Promise<number> => {
    server = new grpc.Server();
    server.addService(definition, { DeltaAggregatedResources: handler as grpc.UntypedHandleCall });
    return new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  };
  const port = await bind(0);
  return {
    address: `${options.tlsNames ? 'https' : 'http'}://${host}:${port}`,
    port,
    rootPem,
    streams,
    world,
    stream: (n, timeoutMs = 15_000) => waitList(streams, streamWaiters, (s) => s.id === n, timeoutMs, `stream ${n}`),
    publish(typeUrl, resources, removed = []) {
      const have = world.get(typeUrl) as Map<string, PeerResource>;
      for (const r of resources) have.set(toDeltaResource(typeUrl, r).name, r);
      for (const name of removed) have.delete(name);
      for (const s of streams) if (s.open) s.push(typeUrl, resources, removed);
    },
    kill() {
      server.forceShutdown();
    },
    async restart() {
      await bind(port);
    },
    close() {
      server.forceShutdown();
    },
  };
}
