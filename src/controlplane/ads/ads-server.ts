// The delta ADS server (istiod's discovery server role): plaintext (15010) and TLS (15012) listeners, per-stream
// authentication, cache changes debounced and fanned out to every stream, full syncs taking turns (send budget).

import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { MeshError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { DELTA_ADS_PATH } from '../../xds/index.js';
import { AdsConnection, type AdsConnectionDebug, type DeltaCall } from './ads-connection.js';
import { AdsMetrics } from './ads-metrics.js';
import { clientIdentity, TlsListenerCredentials, type ClientCertificatePolicy, type ServingCertificate } from './tls-credentials.js';
import type { AdsAuthenticator, AdsCallInfo, AdsListenerKind, AdsPrincipal } from './authenticator.js';
import { DEFAULT_DEBOUNCE, Debouncer, type DebounceOptions } from './debouncer.js';
import type { ResourceCache } from './resource-cache.js';
import { FullSyncCache } from './full-sync-cache.js';
import { DEFAULT_LARGE_BYTES_IN_FLIGHT, DEFAULT_SMALL_RESPONSE_BYTES, SendBudget, type SendBudgetOptions } from './send-budget.js';

/** istiod's ports: plaintext xDS and TLS xDS (+CA). */
export const PLAINTEXT_ADS_PORT = 15010;
export const TLS_ADS_PORT = 15012;
/** gRPC path of the state-of-the-world method, which is answered UNIMPLEMENTED. */
export const SOTW_ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** Default bound on close(), ms (ztunnel's and Ambit's termination deadline). */
export const DEFAULT_CLOSE_DEADLINE_MS = 5_000;
/** Longest an authenticator may take, ms; then the stream ends UNAUTHENTICATED. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** Connections are recycled after this long so clients rebalance (istio pkg/keepalive MaxServerConnectionAge: 30 min, grace 10 s). */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 30 * 60_000;
const MAX_CONNECTION_AGE_GRACE_MS = 10_000;
/** Type URLs one stream may use; ztunnel uses 2, Envoy about 10. */
export const DEFAULT_MAX_TYPES_PER_STREAM = 32;
/** Largest request accepted: initial_resource_versions of a big mesh can pass gRPC's 4 MiB default. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

export interface AdsListenOptions {
  /** Default 127.0.0.1 for plaintext (local use), 0.0.0.0 for TLS. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface AdsTlsListenOptions extends AdsListenOptions {
  readonly serving: ServingCertificate;
  readonly client?: ClientCertificatePolicy;
}

export interface AdsServerOptions {
  readonly cache: ResourceCache;
  readonly authenticate: AdsAuthenticator;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Omit a listener to not open it; at least one is needed. */
  readonly plaintext?: AdsListenOptions;
  readonly tls?: AdsTlsListenOptions;
  readonly debounce?: DebounceOptions;
  readonly authTimeoutMs?: number;
  readonly maxTypesPerStream?: number;
  readonly maxConnectionAgeMs?: number;
  /** control_plane.identifier in every response. */
  readonly controlPlaneId?: string;
  /**
   * Large responses (full syncs) being written at once across all streams, bytes; smaller ones never
   * wait (default: DEFAULT_LARGE_BYTES_IN_FLIGHT, DEFAULT_SMALL_RESPONSE_BYTES).
   */
  readonly sendBudget?: SendBudgetOptions;
  /**
   * Mounts more gRPC services on every listener (istiod serves its CA next to xDS on 15010/15012);
   * called once per grpc.Server before it binds.
   */
  readonly mount?: (server: grpc.Server) => void;
}

/** The debug view, after istiod's /debug/adsz. */
export interface AdsDebugView {
  readonly totalClients: number;
  readonly clients: readonly AdsConnectionDebug[];
}

const identity = (b: Buffer): Buffer => b;

export class AdsServer {
  readonly #options: AdsServerOptions;
  readonly #log: Logger;
  readonly #metrics: AdsMetrics;
  readonly #debouncer: Debouncer<string>;
  readonly #budget: SendBudget;
  readonly #fullSyncs = new FullSyncCache();
  readonly #connections = new Map<string, AdsConnection>();
  /** Calls whose authenticator has not answered yet: ended on close. */
  readonly #authenticating = new Set<DeltaCall>();
  readonly #servers: grpc.Server[] = [];
  readonly #ports: { plaintext?: number; tls?: number } = {};
  readonly #noncePrefix = randomBytes(4).toString('hex');
  #tlsCredentials: TlsListenerCredentials | undefined;
  #nonceSeq = 0;
  #connectionSeq = 0;
  #unsubscribe: (() => void) | undefined;
  #state: 'idle' | 'starting' | 'running' | 'closing' | 'stopped' = 'idle';
  #closing: Promise<void> | undefined;

  constructor(options: AdsServerOptions) {
    if (options.plaintext === undefined && options.tls === undefined) throw new TypeError('AdsServer: no listener configured');
    this.#options = options;
    this.#log = options.logger;
    this.#metrics = new AdsMetrics(options.registry);
    this.#debouncer = new Debouncer(options.debounce ?? DEFAULT_DEBOUNCE, (types) => this.#push(types));
    this.#budget = new SendBudget(options.sendBudget ?? { limitBytes: DEFAULT_LARGE_BYTES_IN_FLIGHT, smallBytes: DEFAULT_SMALL_RESPONSE_BYTES });
  }

  /** Bound ports (after start). */
  get ports(): Readonly<{ plaintext?: number; tls?: number }> {
    return { ...this.#ports };
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Binds the listeners and starts following the cache. Throws MeshError CONFIG_INVALID if a bind fails. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new MeshError('INTERNAL', 'ADS server already started');
    this.#state = 'starting';
    // Follow the cache before the first listener accepts, so no change can slip between a
    // stream's first answer and the subscription.
    this.#unsubscribe = this.#options.cache.onChange((change) => this.#debouncer.add(change.types.keys()));
    try {
      const { plaintext, tls } = this.#options;
      if (plaintext !== undefined) {
        this.#ports.plaintext = await this.#listen('plaintext', plaintext.host ?? '127.0.0.1', plaintext.port, grpc.ServerCredentials.createInsecure());
      }
      if (tls !== undefined) {
        this.#tlsCredentials = new TlsListenerCredentials(tls.serving, tls.client);
        this.#ports.tls = await this.#listen('tls', tls.host ?? '0.0.0.0', tls.port, this.#tlsCredentials.credentials);
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
    if (this.#state !== 'starting') return; // closed while binding
    this.#state = 'running';
    this.#log.info({ ports: this.#ports }, 'ADS server listening');
  }

  /** Replaces the TLS listener's serving certificate (the mesh CA rotates it); new connections use it. */
  rotateServingCertificate(serving: ServingCertificate): void {
    if (this.#tlsCredentials === undefined) throw new MeshError('INTERNAL', 'ADS server has no TLS listener');
    this.#tlsCredentials.rotate(serving);
  }

  /** Pushes pending (debounced) changes now. */
  flush(): void {
    this.#debouncer.flushNow();
  }

  debugView(): AdsDebugView {
    const clients = [...this.#connections.values()].map((c) => c.debug());
    return { totalClients: clients.length, clients };
  }

  /**
   * Graceful stop, bounded by `deadlineMs`: listeners close and peers get GOAWAY (no new streams),
   * every stream ends with OK (clients reconnect elsewhere at once); what is left at the deadline is destroyed.
   */
  close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    if (this.#state === 'stopped' || this.#state === 'idle') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#state = 'closing';
    this.#stopFollowing();
    const drained = Promise.all(this.#servers.map((s) => new Promise<void>((resolve) => s.tryShutdown(() => resolve()))));
    for (const call of this.#authenticating) call.emit('error', unavailable('server is shutting down'));
    this.#authenticating.clear();
    for (const conn of [...this.#connections.values()]) conn.end();
    this.#closing = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs)));
      const timedOut = await Promise.race([drained.then(() => false), expired]);
      clearTimeout(timer);
      if (timedOut) {
        this.#log.warn({ deadlineMs }, 'ADS server: close deadline passed, destroying what is left');
        for (const s of this.#servers) s.forceShutdown();
      }
      this.#state = 'stopped';
      this.#log.info('ADS server closed');
    })();
    return this.#closing;
  }

  /** Stops now: sessions destroyed, streams cancelled. */
  destroy(): void {
    this.#state = 'stopped';
    this.#stopFollowing();
    this.#authenticating.clear();
    for (const conn of [...this.#connections.values()]) conn.fail(grpc.status.UNAVAILABLE, 'server destroyed');
    for (const s of this.#servers) s.forceShutdown();
  }

  #stopFollowing(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#debouncer.cancel();
    this.#fullSyncs.clear();
  }

  #push(types: ReadonlySet<string>): void {
    // Every stream plans against the same cache revision within this one synchronous pass.
    for (const conn of this.#connections.values()) conn.onCacheChange(types);
  }

  async #listen(kind: AdsListenerKind, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
    const maxAge = this.#options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS;
    const server = new grpc.Server({
      // istio pkg/keepalive defaults: PING every 30 s, 10 s to answer.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_connection_age_ms': maxAge,
      'grpc.max_connection_age_grace_ms': MAX_CONNECTION_AGE_GRACE_MS,
      'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    });
    const method = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
      path,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    });
    server.addService(
      { DeltaAggregatedResources: method(DELTA_ADS_PATH), StreamAggregatedResources: method(SOTW_ADS_PATH) },
      {
        DeltaAggregatedResources: ((call: DeltaCall) => this.#onDeltaCall(kind, call)) as grpc.UntypedHandleCall,
        StreamAggregatedResources: ((call: DeltaCall) =>
          call.emit('error', {
            code: grpc.status.UNIMPLEMENTED,
            details: 'state-of-the-world ADS is not served: use DeltaAggregatedResources',
          })) as grpc.UntypedHandleCall,
      },
    );
    this.#options.mount?.(server);
    this.#servers.push(server);
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (err, bound) => {
        if (err) reject(new MeshError('CONFIG_INVALID', `ADS ${kind} listener: cannot listen on ${address}: ${err.message}`, { cause: err }));
        else {
          // close()/destroy() while binding only saw the servers bound before this one.
          if (this.#state === 'closing' || this.#state === 'stopped') server.forceShutdown();
          resolve(bound);
        }
      });
    });
  }

  #onDeltaCall(listener: AdsListenerKind, call: DeltaCall): void {
    // 'starting': the first listener is up while the second binds; its streams are served.
    if (this.#state !== 'running' && this.#state !== 'starting') {
      call.emit('error', unavailable('server is not serving'));
      return;
    }
    const cert = listener === 'tls' ? (call.getAuthContext()?.sslPeerCertificate ?? undefined) : undefined;
    const { spiffeId, problem } = clientIdentity(cert);
    const info: AdsCallInfo = {
      listener,
      peer: call.getPeer(),
      metadata: call.metadata,
      peerCertificate: cert,
      spiffeId,
      certificateProblem: problem,
    };
    this.#authenticating.add(call);
    let gone = false;
    const onGone = (): void => {
      gone = true;
    };
    call.once('cancelled', onGone);
    this.#authenticate(info).then(
      (principal) => {
        call.off('cancelled', onGone);
        if (!this.#authenticating.delete(call) || gone) return; // cancelled, or ended by close()
        if (this.#state !== 'running' && this.#state !== 'starting') return void call.emit('error', unavailable('server is shutting down'));
        this.#accept(listener, call, principal);
      },
      (err: unknown) => {
        call.off('cancelled', onGone);
        if (!this.#authenticating.delete(call) || gone) return;
        const details = err instanceof Error ? err.message : String(err);
        this.#log.warn({ peer: info.peer, listener, spiffeId, err: details }, 'ADS: authentication failed');
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: `authentication failed: ${details}` });
      },
    );
  }

  /** The authenticator's answer, bounded by the auth timeout. */
  async #authenticate(info: AdsCallInfo): Promise<AdsPrincipal> {
    const timeoutMs = this.#options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`authenticator gave no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const principal = await Promise.race([Promise.resolve().then(() => this.#options.authenticate(info)), timeout]);
      if (typeof principal !== 'string' || principal === '') throw new Error('authenticator returned no principal');
      return principal;
    } finally {
      clearTimeout(timer);
    }
  }

  #accept(listener: AdsListenerKind, call: DeltaCall, principal: AdsPrincipal): void {
    const id = String(++this.#connectionSeq);
    const conn = new AdsConnection(id, call, listener, principal, {
      cache: this.#options.cache,
      metrics: this.#metrics,
      logger: this.#log,
      nonce: () => `${this.#noncePrefix}-${(++this.#nonceSeq).toString(36)}`,
      controlPlane: this.#options.controlPlaneId,
      maxTypes: this.#options.maxTypesPerStream ?? DEFAULT_MAX_TYPES_PER_STREAM,
      budget: this.#budget,
      fullSyncs: this.#fullSyncs,
      onClosed: (c) => {
        if (this.#connections.delete(c.id)) this.#metrics.clients.dec();
      },
    });
    this.#connections.set(id, conn);
    this.#metrics.clients.inc();
    conn.start();
  }
}

function unavailable(details: string): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAVAILABLE, details };
}
