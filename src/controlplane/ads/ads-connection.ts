// One delta ADS stream (istio pilot/pkg/xds/delta.go, one `Connection`): requests in, per-type
// subscriptions, ACK/NACK by nonce, and at most one un-ACKed response per type with later changes queued.
//
// Invariant: everything between reading the cache and writing a response is synchronous, so a
// response always reflects one cache revision, and per-type state changes with the write itself.

import type * as grpc from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isMeshError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AdsMetrics } from './ads-metrics.js';
import type { AdsListenerKind, AdsPrincipal } from './authenticator.js';
import type { ResourceCache } from './resource-cache.js';
import type { EncodedResponse, FullSyncCache } from './full-sync-cache.js';
import type { SendBudget, SendGrant } from './send-budget.js';
import { TypeSubscription } from './subscription.js';
import { decodeDeltaRequest, encodeDeltaResponse, type DeltaRequest, type NodeInfo } from './wire.js';

/** The gRPC stream type the server hands over: messages stay bytes, (de)coded here. */
export type DeltaCall = grpc.ServerDuplexStream<Buffer, Buffer>;

export interface ConnectionDeps {
  readonly cache: ResourceCache;
  readonly metrics: AdsMetrics;
  readonly logger: Logger;
  /** A fresh, server-unique nonce. */
  readonly nonce: () => string;
  /** control_plane.identifier in responses (optional). */
  readonly controlPlane: string | undefined;
  /** Most type URLs one stream may subscribe to (bounds per-stream state; a client needs a few). */
  readonly maxTypes: number;
  /** Shared by every stream of the server: large responses take turns. */
  readonly budget: SendBudget;
  /** Shared by every stream of the server: the encoded whole-view first responses. */
  readonly fullSyncs: FullSyncCache;
  /** Called once when the stream is over, whoever ended it. */
  readonly onClosed: (conn: AdsConnection) => void;
}

/** Per type of the stream: subscription plus the protocol's bookkeeping. */
interface TypeStream {
  readonly typeUrl: string;
  readonly sub: TypeSubscription;
  /** Nonce of the response awaiting ACK/NACK; undefined = none in flight, a push may go. */
  inFlight: string | undefined;
  nonceSent: string;
  nonceAcked: string;
  lastNack: { readonly nonce: string; readonly message: string; readonly at: string } | undefined;
  /** Something may need sending (a request or a cache change since the last plan). */
  dirty: boolean;
  /** Cache revision the last plan was made against. */
  syncedRevision: number;
  pushes: number;
  /** Waiting for the send budget: the next plan is made when `wake` is called. */
  waiting: boolean;
  /** What the send budget calls when this type may try again. */
  wake: () => void;
}

/** One type in the debug view (istiod /debug/adsz style). */
export interface AdsTypeDebug {
  readonly wildcard: boolean;
  readonly subscribed: readonly string[];
  /** name → version the client holds (sent, or announced in initial_resource_versions). */
  readonly versions: Readonly<Record<string, string>>;
  readonly nonceSent: string;
  readonly nonceAcked: string;
  readonly awaitingAck: boolean;
  readonly pushes: number;
  readonly lastNack: { readonly nonce: string; readonly message: string; readonly at: string } | null;
}

export interface AdsConnectionDebug {
  readonly connectionId: string;
  readonly connectedAt: string;
  readonly address: string;
  readonly listener: AdsListenerKind;
  readonly principal: AdsPrincipal;
  readonly nodeId: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly types: Readonly<Record<string, AdsTypeDebug>>;
}

export class AdsConnection {
  readonly id: string;
  readonly peer: string;
  readonly listener: AdsListenerKind;
  readonly principal: AdsPrincipal;
  readonly connectedAt = new Date();
  readonly #call: DeltaCall;
  readonly #deps: ConnectionDeps;
  readonly #log: Logger;
  readonly #types = new Map<string, TypeStream>();
  /** Send grants of writes not yet completed, returned when they complete or the stream ends. */
  readonly #grants = new Set<SendGrant>();
  #node: NodeInfo | undefined;
  #closed = false;

  constructor(id: string, call: DeltaCall, listener: AdsListenerKind, principal: AdsPrincipal, deps: ConnectionDeps) {
    this.id = id;
    this.peer = call.getPeer();
    this.listener = listener;
    this.principal = principal;
    this.#call = call;
    this.#deps = deps;
    this.#log = deps.logger.child({ connection: id, peer: this.peer, principal });
  }

  get nodeId(): string {
    return this.#node?.id ?? '';
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts reading requests (until now they wait in the stream's buffer). */
  start(): void {
    this.#call.on('data', (bytes: Buffer) => this.#onData(bytes));
    // The client half-closed: it will send nothing more, end our side too (istiod returns).
    this.#call.on('end', () => this.end());
    this.#call.on('cancelled', () => this.#finish('cancelled by the client'));
    this.#call.on('error', () => this.#finish('stream error'));
    this.#call.on('close', () => this.#finish('stream closed'));
  }

  /** The cache changed these types (after debouncing): push where subscribed and nothing is in flight. */
  onCacheChange(typeUrls: ReadonlySet<string>): void {
    if (this.#closed) return;
    for (const typeUrl of typeUrls) {
      const ts = this.#types.get(typeUrl);
      if (ts === undefined) continue;
      ts.dirty = true;
      this.#tryPush(ts);
    }
  }

  /** Ends the stream with OK (clients reconnect at once, ztunnel with its backoff reset). */
  end(): void {
    if (this.#closed) return;
    this.#finish('ended by the server');
    this.#call.end();
  }

  /** Ends the stream with an error status. */
  fail(code: GrpcStatus, details: string): void {
    if (this.#closed) return;
    this.#finish(details);
    this.#call.emit('error', { code, details, name: 'AdsError', message: details });
  }

  debug(): AdsConnectionDebug {
    const types: Record<string, AdsTypeDebug> = {};
    for (const [typeUrl, ts] of this.#types) {
      types[typeUrl] = {
        wildcard: ts.sub.wildcard,
        subscribed: ts.sub.subscribedNames(),
        versions: Object.fromEntries([...ts.sub.knownVersions()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        nonceSent: ts.nonceSent,
        nonceAcked: ts.nonceAcked,
        awaitingAck: ts.inFlight !== undefined,
        pushes: ts.pushes,
        lastNack: ts.lastNack ?? null,
      };
    }
    return {
      connectionId: this.id,
      connectedAt: this.connectedAt.toISOString(),
      address: this.peer,
      listener: this.listener,
      principal: this.principal,
      nodeId: this.#node?.id ?? '',
      cluster: this.#node?.cluster ?? '',
      metadata: this.#node?.metadata ?? {},
      types,
    };
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ts of this.#types.values()) if (ts.waiting) this.#deps.budget.cancel(ts.wake);
    for (const g of this.#grants) g.release();
    this.#grants.clear();
    this.#log.info({ node: this.nodeId, reason }, 'ADS: connection closed');
    this.#deps.onClosed(this);
  }

  #onData(bytes: Buffer): void {
    if (this.#closed) return;
    try {
      this.#onRequest(decodeDeltaRequest(bytes));
    } catch (err) {
      if (isMeshError(err, 'XDS_STREAM')) {
        this.#log.warn({ node: this.nodeId, err: err.message }, 'ADS: bad request, ending the stream');
        this.fail(GrpcStatus.INVALID_ARGUMENT, err.message);
      } else {
        this.#log.error({ node: this.nodeId, err }, 'ADS: internal error handling a request');
        this.fail(GrpcStatus.INTERNAL, 'internal error');
      }
    }
  }

  #onRequest(req: DeltaRequest): void {
    if (this.#node === undefined) {
      // Only the first request must carry the node (istiod: "missing node information").
      if (req.node === undefined || req.node.id === '') return this.fail(GrpcStatus.INVALID_ARGUMENT, 'missing node information');
      this.#node = req.node;
      this.#log.info({ node: req.node.id }, 'ADS: new delta connection');
    }
    if (req.typeUrl === '') return this.fail(GrpcStatus.INVALID_ARGUMENT, 'request without type_url');
    let ts = this.#types.get(req.typeUrl);
    if (ts === undefined) {
      if (this.#types.size >= this.#deps.maxTypes) {
        return this.fail(GrpcStatus.RESOURCE_EXHAUSTED, `more than ${this.#deps.maxTypes} type URLs on one stream`);
      }
      ts = newTypeStream(req.typeUrl);
      const stream = ts;
      stream.wake = () => this.#tryPush(stream, true);
      // First request of the type: a (re)connect. Any nonce it carries is from another stream.
      ts.sub.applyInitial(req.subscribe, req.unsubscribe, req.initialVersions);
      this.#types.set(req.typeUrl, ts);
      this.#log.debug({ node: this.nodeId, type: req.typeUrl, wildcard: ts.sub.wildcard, initial: req.initialVersions.size }, 'ADS: subscribe');
    } else {
      if (req.responseNonce !== '') this.#onAckOrNack(ts, req);
      if (ts.sub.applyUpdate(req.subscribe, req.unsubscribe)) {
        ts.dirty = true;
        this.#log.debug({ node: this.nodeId, type: req.typeUrl, sub: req.subscribe, unsub: req.unsubscribe }, 'ADS: subscription change');
      }
    }
    this.#tryPush(ts);
  }

  #onAckOrNack(ts: TypeStream, req: DeltaRequest): void {
    const nack = req.errorDetail;
    if (nack !== undefined) {
      // NACKs count whether or not the nonce is current: each is a client rejecting config.
      this.#deps.metrics.rejects.inc({ type: ts.typeUrl });
      ts.lastNack = { nonce: req.responseNonce, message: nack.message, at: new Date().toISOString() };
      this.#log.warn({ node: this.nodeId, type: ts.typeUrl, nonce: req.responseNonce, code: nack.code, message: nack.message }, 'ADS: NACK');
    }
    if (req.responseNonce !== ts.inFlight) {
      this.#log.debug({ node: this.nodeId, type: ts.typeUrl, nonce: req.responseNonce, inFlight: ts.inFlight }, 'ADS: stale nonce');
      return;
    }
    ts.inFlight = undefined;
    if (nack === undefined) ts.nonceAcked = req.responseNonce;
    // `dirty` is left as it is: changes released by the debouncer while this response was in
    // flight go out now as one response; changes still inside the debounce window wait for it.
  }

  /** `woken`: called by the send budget, whose turn this is (otherwise a waiting type keeps waiting). */
  #tryPush(ts: TypeStream, woken = false): void {
    // Woken: no longer in the budget's queue, whatever happens next.
    if (woken) ts.waiting = false;
    if (this.#closed || !ts.dirty || ts.inFlight !== undefined || ts.waiting) return;
    const { cache } = this.#deps;
    const view = cache.view(ts.typeUrl);
    const revision = cache.revision;
    let candidates: ReadonlySet<string> | undefined;
    let changedAt: number | undefined;
    if (!ts.sub.needsFullScan) {
      const since = cache.changesSince(ts.typeUrl, ts.syncedRevision);
      if (since === undefined) ts.sub.forceFullScan();
      else {
        candidates = since.names;
        changedAt = since.oldestAt;
      }
    }
    const delta = ts.sub.plan(view, candidates);
    if (!delta.respond) {
      ts.dirty = false;
      ts.syncedRevision = revision;
      ts.sub.settle(delta);
      return;
    }
    let resourceBytes = 0;
    for (const e of delta.resources) resourceBytes += e.encoded.length;
    // The plan is dropped if it must wait: it is made again, against the cache of then, when woken.
    const grant = this.#deps.budget.tryAcquire(resourceBytes, ts.wake, woken);
    if (grant === undefined) {
      ts.waiting = true;
      this.#log.debug({ node: this.nodeId, type: ts.typeUrl, bytes: resourceBytes }, 'ADS: large response waits for the send budget');
      return;
    }
    this.#grants.add(grant);
    ts.dirty = false;
    ts.syncedRevision = revision;
    ts.sub.commit(delta);
    const carriesChange =
      changedAt !== undefined && candidates !== undefined && (delta.resources.some((e) => candidates.has(e.name)) || delta.removed.some((n) => candidates.has(n)));
    const encode = (): EncodedResponse => {
      const nonce = this.#deps.nonce();
      const response = {
        typeUrl: ts.typeUrl,
        nonce,
        systemVersionInfo: String(revision),
        resources: delta.resources.map((e) => e.encoded),
        removed: delta.removed,
        controlPlane: this.#deps.controlPlane,
      };
      return { nonce, bytes: encodeDeltaResponse(response) };
    };
    // A stream's first response carrying the whole view is the same for every stream: encoded once.
    const whole = ts.pushes === 0 && delta.removed.length === 0 && delta.resources.length === view.size;
    const { nonce, bytes } = whole ? this.#deps.fullSyncs.get(ts.typeUrl, revision, encode) : encode();
    ts.inFlight = nonce;
    ts.nonceSent = nonce;
    ts.pushes++;
    const { metrics } = this.#deps;
    metrics.pushes.inc({ type: ts.typeUrl });
    metrics.resourceBytes.inc({ type: ts.typeUrl }, resourceBytes);
    this.#log.debug(
      { node: this.nodeId, type: ts.typeUrl, nonce, resources: delta.resources.length, removed: delta.removed.length, bytes: bytes.length },
      'ADS: push',
    );
    this.#call.write(bytes, (err?: Error | null) => {
      grant.release();
      this.#grants.delete(grant);
      if (err) {
        this.#log.debug({ node: this.nodeId, type: ts.typeUrl, err: err.message }, 'ADS: write failed');
        this.#finish('write failed');
        return;
      }
      // Latency only for pushes carrying cache changes (not answers to requests, which have no change time).
      if (carriesChange) metrics.convergence.observe({ type: ts.typeUrl }, (performance.now() - changedAt!) / 1000);
    });
  }
}

function newTypeStream(typeUrl: string): TypeStream {
  return {
    typeUrl,
    sub: new TypeSubscription(),
    inFlight: undefined,
    nonceSent: '',
    nonceAcked: '',
    lastNack: undefined,
    dirty: true,
    syncedRevision: 0,
    pushes: 0,
    waiting: false,
    wake: () => undefined,
  };
}
