// The agent's delta ADS client (upstream: ztunnel src/xds/client.rs): one bidi stream to the control plane,
// wildcard Address then Authorization (plus any types a caller subscribes by name), per-resource ACK/NACK,
// reconnects; the last good state stays in force.

import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from '../common/lazy-packages.js';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { xdsAddressProblem, xdsTarget, type XdsConfig } from '../config/index.js';
import { ISTIOD_CHANNEL_OPTIONS, describeRoots, istiodChannelCredentials, loadTrustRoots, readBearerToken, type TrustRoots } from '../identity/index.js';
import type { SnapshotSink } from '../state/index.js';
import { decodeDeltaResponse, encodeDeltaRequest, type AdsNode, type DeltaRequest, type DeltaResponse } from './delta-ads-messages.js';
import { DELTA_ADS_PATH } from './proto-root.js';
import { nextReconnect, XDS_INITIAL_BACKOFF_MS, XDS_MAX_BACKOFF_MS, type BackoffLimits, type StreamEnd, type TerminationReason } from './xds-reconnect.js';
import { NamedResourceStore, type NamedResourceType } from './named-resources.js';
import { nackMessage, SUBSCRIBED_TYPES, XdsResourceStore } from './xds-resource-store.js';

/** ztunnel's control-plane connect timeout, ms (upstream: ztunnel src/tls/control.rs). */
export const XDS_CONNECT_TIMEOUT_MS = 5_000;

/** Where the client reports to istio_xds_* metrics (src/metrics implements it; tests may count). */
export interface XdsClientMetrics {
  /** A stream ended (not counted when the client itself closes). */
  termination(reason: TerminationReason): void;
  /** A response arrived: its type_url and the summed size of its resources' Any values, bytes. */
  message(typeUrl: string, bytes: number): void;
}

export interface XdsClientOptions {
  /** XDS_* settings; `address` must be set. */
  readonly config: XdsConfig;
  readonly node: AdsNode;
  /** Receives the whole held state after every response that changed it. */
  readonly sink: SnapshotSink;
  readonly logger: Logger;
  readonly metrics?: XdsClientMetrics;
  /** Default XDS_CONNECT_TIMEOUT_MS. */
  readonly connectTimeoutMs?: number;
  /** Default ztunnel's 10 ms ×2 up to 15 s. */
  readonly backoff?: BackoffLimits;
  /**
   * Extra types subscribed by name after the wildcard ones (a waypoint's WaypointConfig), each
   * applied through its own callback, not the sink; whenSynced() waits for their first ACK too.
   */
  readonly namedTypes?: readonly NamedResourceType[];
}

export type XdsConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/** /config_dump's view of the client. */
export interface XdsClientDump {
  readonly address: string;
  readonly state: XdsConnectionState;
  readonly connectedSince: string | undefined;
  /** Streams opened so far (1 after the first connect). */
  readonly streams: number;
  readonly synced: boolean;
  /** Types whose first response has not been ACKed yet (readiness waits for them). */
  readonly pendingTypes: readonly string[];
  /** type_url → resource name → version, of everything held. */
  readonly resources: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly lastNack: { readonly typeUrl: string; readonly nonce: string; readonly message: string; readonly at: string } | undefined;
  readonly nacks: number;
  readonly lastTermination: { readonly reason: TerminationReason; readonly detail: string; readonly at: string } | undefined;
}

/** XDS_ROOT_CA problems at start are configuration errors. */
const ROOTS_NAMING = { setting: 'XDS_ROOT_CA', code: 'CONFIG_INVALID' } as const;

/**
 * Lifecycle: start() validates and connects in the background; whenSynced() resolves after the
 * first ACKed response of every type (Address, Authorization and the named ones); close()/destroy() stop it. While disconnected nothing held
 * is dropped: the sink keeps the last good state until the control plane says otherwise.
 */
export class XdsClient {
  readonly #o: XdsClientOptions;
  readonly #address: string;
  readonly #target: string;
  readonly #tls: boolean;
  readonly #limits: BackoffLimits;
  readonly #store = new XdsResourceStore();
  readonly #named: NamedResourceStore;
  /** Types whose first response has not been ACKed yet. */
  readonly #pending: Set<string>;
  readonly #synced: Promise<void>;
  #resolveSynced!: () => void;
  #roots: TrustRoots | undefined;
  #client: grpc.Client | undefined;
  #call: grpc.ClientDuplexStream<DeltaRequest, DeltaResponse> | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #state: XdsConnectionState = 'idle';
  #connectedSince: Date | undefined;
  #streams = 0;
  #nacks = 0;
  #lastNack: XdsClientDump['lastNack'];
  #lastTermination: XdsClientDump['lastTermination'];
  #closed = false;

  constructor(options: XdsClientOptions) {
    this.#o = options;
    const address = options.config.address;
    const problem = address === undefined ? 'XDS_ADDRESS is not set' : xdsAddressProblem(address);
    if (address === undefined || problem !== undefined) throw new MeshError('CONFIG_INVALID', `XDS_ADDRESS "${address ?? ''}": ${problem}`);
    this.#address = address;
    ({ target: this.#target, tls: this.#tls } = xdsTarget(address));
    this.#limits = options.backoff ?? { initialMs: XDS_INITIAL_BACKOFF_MS, maxMs: XDS_MAX_BACKOFF_MS };
    this.#named = new NamedResourceStore(options.namedTypes ?? []);
    this.#pending = new Set<string>([...SUBSCRIBED_TYPES, ...this.#named.typeUrls]);
    this.#synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** Loads XDS_ROOT_CA (CONFIG_INVALID if unusable) and starts connecting; does not wait for it. */
  start(): void {
    if (this.#loop !== undefined || this.#closed) return;
    const { config, logger } = this.#o;
    if (this.#tls) this.#roots = loadTrustRoots(config.rootCa, ROOTS_NAMING);
    const withheld = !this.#tls && config.authToken.kind !== 'none';
    logger.info(
      { address: this.#address, tls: this.#tls, roots: this.#roots ? describeRoots(this.#roots.source) : undefined, altHostname: config.altHostname, auth: this.#tls ? config.authToken.kind : 'none' },
      withheld ? 'xDS over plaintext http://: the AUTH_TOKEN bearer token is not sent' : 'using the xDS control plane',
    );
    this.#loop = this.#run();
  }

  /** Resolves once the first response of every subscribed type (named ones too) has been ACKed (never if closed first). */
  whenSynced(): Promise<void> {
    return this.#synced;
  }

  get synced(): boolean {
    return this.#pending.size === 0;
  }

  dump(): XdsClientDump {
    return {
      address: this.#address,
      state: this.#state,
      connectedSince: this.#connectedSince?.toISOString(),
      streams: this.#streams,
      synced: this.synced,
      pendingTypes: [...this.#pending],
      resources: Object.fromEntries([
        ...SUBSCRIBED_TYPES.map((t) => [t, this.#store.versions(t)]),
        ...this.#named.typeUrls.map((t) => [t, this.#named.versions(t)]),
      ]),
      lastNack: this.#lastNack,
      nacks: this.#nacks,
      lastTermination: this.#lastTermination,
    };
  }

  /** Ends the stream and stops reconnecting; resolves when the loop has exited. */
  async close(): Promise<void> {
    this.destroy();
    await this.#loop;
  }

  /** Cancels the stream and stops reconnecting now. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = 'closed';
    this.#wake?.();
    this.#call?.cancel();
    this.#client?.close();
  }

  async #run(): Promise<void> {
    let backoffMs = this.#limits.initialMs;
    while (!this.#closed) {
      const end = await this.#attempt();
      if (this.#closed) break;
      const decision = nextReconnect(end, backoffMs, this.#limits);
      backoffMs = decision.nextBackoffMs;
      const detail = end.kind === 'status' ? `${grpcJs().status[end.code] ?? end.code}: ${end.details}` : end.kind === 'complete' ? 'stream ended by the server' : end.detail;
      this.#lastTermination = { reason: decision.reason, detail, at: new Date().toISOString() };
      this.#o.metrics?.termination(decision.reason);
      const log = decision.reason === 'Reconnect' ? this.#o.logger.debug.bind(this.#o.logger) : this.#o.logger.warn.bind(this.#o.logger);
      log({ address: this.#address, reason: decision.reason, retryInMs: decision.delayMs, held: this.#store.size }, `xDS stream ended (${detail}); keeping the last good state`);
      this.#state = 'waiting';
      this.#connectedSince = undefined;
      if (decision.delayMs > 0) await this.#sleep(decision.delayMs);
    }
  }

  /** Waits `ms`, or less if close() wakes it. */
  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  /** One stream, from connecting to its end. */
  async #attempt(): Promise<StreamEnd> {
    this.#state = 'connecting';
    let client: grpc.Client;
    let metadata: grpc.Metadata;
    try {
      client = new (grpcJs().Client)(this.#target, this.#credentials(), ISTIOD_CHANNEL_OPTIONS);
      // The token is re-read for every stream: projected service-account tokens rotate.
      metadata = await this.#metadata();
    } catch (err) {
      return { kind: 'connect-failed', detail: (err as Error).message };
    }
    if (this.#closed) {
      client.close();
      return { kind: 'complete' };
    }
    this.#client = client;
    try {
      return await this.#stream(client, metadata);
    } finally {
      client.close();
      this.#client = undefined;
    }
  }

  /** TLS from XDS_ROOT_CA (re-read per connect, the last good roots kept if it turned bad), or plaintext. */
  #credentials(): grpc.ChannelCredentials {
    if (!this.#tls) return grpcJs().credentials.createInsecure();
    try {
      this.#roots = loadTrustRoots(this.#o.config.rootCa, ROOTS_NAMING);
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'XDS_ROOT_CA is unusable now; connecting with the previous roots');
    }
    return istiodChannelCredentials(this.#roots?.pem, this.#o.config.altHostname);
  }

  async #metadata(): Promise<grpc.Metadata> {
    const { config } = this.#o;
    const md = new (grpcJs().Metadata)();
    // Never over plaintext: the token is a credential and http:// is for a local control plane.
    const token = this.#tls ? await readBearerToken(config.authToken, { component: 'xDS', code: 'XDS_STREAM' }) : undefined;
    if (token !== undefined) md.set('authorization', `Bearer ${token}`);
    md.set('clusterid', config.clusterId);
    for (const [name, value] of Object.entries(config.headers)) md.set(name, value);
    return md;
  }

  #stream(client: grpc.Client, metadata: grpc.Metadata): Promise<StreamEnd> {
    return new Promise((resolve) => {
      const call = client.makeBidiStreamRequest<DeltaRequest, DeltaResponse>(DELTA_ADS_PATH, encodeDeltaRequest, decodeDeltaResponse, metadata, {});
      this.#call = call;
      this.#streams++;
      let headers = false;
      let localError: string | undefined;
      let timedOut = false;
      // grpc-js has no connect timeout for a stream: give up if the channel is not up in time.
      const timer = setTimeout(() => {
        if (headers || client.getChannel().getConnectivityState(false) === grpcJs().connectivityState.READY) return;
        timedOut = true;
        call.cancel();
      }, this.#o.connectTimeoutMs ?? XDS_CONNECT_TIMEOUT_MS);
      call.on('metadata', () => {
        headers = true;
        this.#connected();
      });
      call.on('data', (response: DeltaResponse) => {
        try {
          this.#onResponse(call, response);
        } catch (err) {
          localError = `handling a ${response.typeUrl} response failed: ${(err as Error).message}`;
          this.#o.logger.error({ err }, 'xDS: handling a response failed; reconnecting');
          call.cancel();
        }
      });
      call.on('error', () => undefined); // the 'status' event below carries the outcome
      call.on('status', (status: grpc.StatusObject) => {
        clearTimeout(timer);
        if (this.#call === call) this.#call = undefined;
        if (localError !== undefined) resolve({ kind: 'error', detail: localError });
        else if (timedOut) resolve({ kind: 'connect-failed', detail: `not connected within ${this.#o.connectTimeoutMs ?? XDS_CONNECT_TIMEOUT_MS} ms` });
        else if (status.code === grpcJs().status.OK) resolve({ kind: 'complete' });
        // No response header: the call never got going (refused, TLS, or an immediate error status).
        else if (!headers) resolve({ kind: 'connect-failed', detail: `${grpcJs().status[status.code] ?? status.code}: ${status.details}` });
        else resolve({ kind: 'status', code: status.code, details: status.details });
      });
      for (const typeUrl of SUBSCRIBED_TYPES) {
        const initialResourceVersions = this.#store.versions(typeUrl);
        this.#o.logger.debug({ typeUrl, resources: Object.keys(initialResourceVersions).length }, 'xDS: sending initial request');
        // Wildcard (no names), the node only here, and what is still held from earlier streams.
        call.write({ typeUrl, node: this.#o.node, initialResourceVersions });
      }
      for (const typeUrl of this.#named.typeUrls) {
        // By name: the names every time (a new stream knows nothing), and the versions held.
        const resourceNamesSubscribe = this.#named.names(typeUrl);
        this.#o.logger.debug({ typeUrl, names: resourceNamesSubscribe }, 'xDS: sending initial request (by name)');
        call.write({ typeUrl, node: this.#o.node, resourceNamesSubscribe, initialResourceVersions: this.#named.versions(typeUrl) });
      }
    });
  }

  #connected(): void {
    if (this.#state === 'connected') return;
    this.#state = 'connected';
    this.#connectedSince = new Date();
    this.#o.logger.info({ address: this.#address, stream: this.#streams }, 'xDS stream established');
  }

  /** Applies one response and answers it; synchronous from decoding to the ACK/NACK write. */
  #onResponse(call: grpc.ClientDuplexStream<DeltaRequest, DeltaResponse>, response: DeltaResponse): void {
    this.#connected();
    const { typeUrl, nonce } = response;
    const bytes = response.resources.reduce((n, r) => n + (r.resource?.value.length ?? 0), 0);
    this.#o.metrics?.message(typeUrl, bytes);
    this.#o.logger.info({ typeUrl, size: response.resources.length, removes: response.removedResources.length }, 'xDS: received response');
    const outcome = this.#named.has(typeUrl) ? this.#named.handle(response) : this.#store.handle(response);
    if (!outcome.known) this.#o.logger.error({ typeUrl }, 'xDS: unknown type; ACKing it');
    if (outcome.changed) {
      try {
        this.#o.sink.apply(this.#store.snapshot());
      } catch (err) {
        // The state itself was swapped; a change listener failed. The resources are still good.
        this.#o.logger.error({ err, typeUrl }, 'xDS: a state change listener failed');
      }
    }
    if (outcome.rejected.length > 0) {
      const message = nackMessage(outcome.rejected);
      this.#nacks++;
      this.#lastNack = { typeUrl, nonce, message, at: new Date().toISOString() };
      this.#o.logger.error({ typeUrl, nonce, accepted: outcome.accepted, rejected: outcome.rejected.length, error: message }, 'xDS: sending NACK');
      // ztunnel's NACK: Status code 0 (not INVALID_ARGUMENT), no node, no subscription lists.
      call.write({ typeUrl, responseNonce: nonce, errorDetail: { code: 0, message } });
      return;
    }
    this.#o.logger.debug({ typeUrl, nonce, accepted: outcome.accepted, removed: outcome.removed }, 'xDS: sending ACK');
    call.write({ typeUrl, responseNonce: nonce });
    if (outcome.known && this.#pending.delete(typeUrl) && this.#pending.size === 0) {
      this.#o.logger.info({ held: this.#store.size + this.#named.size }, 'xDS: first full sync');
      this.#resolveSynced();
    }
  }
}
