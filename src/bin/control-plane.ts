// Composition root of the control plane (`ambit control`, Istio's istiod role): object source →
// translation → xDS resource cache → delta ADS server, the CA on the same gRPC ports, monitoring.

import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger, type Logger } from '../common/log.js';
import type { ControlConfig } from '../config/index.js';
import {
  AdsServer,
  allowAnyClient,
  authenticateCaller,
  CaService,
  MeshPipeline,
  MeshSigner,
  PodNodeAuthorizer,
  ResourceCache,
  StaticTokenAuthenticator,
  KubeTokenReviewer,
  MonitoringServer,
  MESH_CONTROLLER,
  RouteStatusWriter,
  GatewayStatusWriter,
  type AdsAuthenticator,
  type TokenAuthenticator,
} from '../controlplane/index.js';
import { ManifestsSource, type ObjectSource } from '../k8s/index.js';
import { createRegistry, ErrorCounter } from '../metrics/index.js';
import { encodeAddress, encodeAuthorization, encodeWaypointConfig } from '../xds/index.js';

/** Serving certificate of the TLS port: lifetime, renewed at half of it. */
const SERVING_CERT_TTL_SECONDS = 24 * 3600;

export interface ControlPlaneOptions {
  readonly config: ControlConfig;
  readonly logDestination?: DestinationStream;
  /** Objects from here instead of the source `config.source` names (the control-plane bench's in-memory cluster). */
  readonly source?: ObjectSource;
}

export class ControlPlane {
  readonly config: ControlConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly cache = new ResourceCache();
  #source: ObjectSource | undefined;
  #pipeline: MeshPipeline | undefined;
  private signer: MeshSigner | undefined;
  private ca: CaService | undefined;
  private tokens: (TokenAuthenticator & { destroy?(): void }) | undefined;
  private ads: AdsServer | undefined;
  private monitoring: MonitoringServer | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private statusWriter: RouteStatusWriter | undefined;
  private gatewayStatusWriter: GatewayStatusWriter | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ControlPlaneOptions) {
    const config = options.config;
    this.config = config;
    this.logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: options.logDestination });
    this.registry = createRegistry({ component: 'pilot' });
    this.errors = new ErrorCounter(this.registry);
    // Manifests (or an injected source) are built now; a cluster source in start(), which loads
    // @kubernetes/client-node (~90 MB RSS) only when it is needed.
    if (options.source !== undefined) this.build(options.source, undefined);
    else if (config.source.kind === 'manifests') {
      this.build(new ManifestsSource({ dir: config.source.dir, logger: this.logger.child({ component: 'objects' }), registry: this.registry, errors: this.errors }), undefined);
    }
  }

  private readonly errors: ErrorCounter;

  get source(): ObjectSource {
    if (!this.#source) throw new Error('control plane not started');
    return this.#source;
  }

  get pipeline(): MeshPipeline {
    if (!this.#pipeline) throw new Error('control plane not started');
    return this.#pipeline;
  }

  private build(source: ObjectSource, statusWriters: { routes: RouteStatusWriter; gateways: GatewayStatusWriter } | undefined): void {
    const config = this.config;
    this.#source = source;
    this.#pipeline = new MeshPipeline({
      source,
      cache: this.cache,
      options: {
        clusterId: config.clusterId,
        trustDomain: config.trustDomain,
        domainSuffix: config.clusterDomain,
        rootNamespace: config.rootNamespace,
        network: config.network,
        outboundTrafficPolicy: config.outboundTrafficPolicy,
      },
      encoders: { encodeAddress, encodeAuthorization, encodeWaypointConfig },
      registry: this.registry,
      logger: this.logger.child({ component: 'translate' }),
      // Route status needs the waypoint translation (conflicts, dropped rules); without it (it
      // failed) the last written status stands rather than a partial one.
      onTranslated: statusWriters
        ? (snapshot, _mesh, waypoints) => {
            if (waypoints === undefined) return;
            statusWriters.routes.update(snapshot, waypoints.routeStatus);
            statusWriters.gateways.update(snapshot, waypoints.gatewayStatus);
          }
        : undefined,
    });
  }

  /** Cluster mode: the API server source, and Gateway API status written back to it. */
  private async buildClusterSource(kubeconfig: string | undefined): Promise<void> {
    const { ClusterSource } = await import('../k8s/cluster/index.js');
    const cluster = new ClusterSource({ logger: this.logger.child({ component: 'objects' }), registry: this.registry, errors: this.errors, kubeconfigPath: kubeconfig });
    const statusWriter = new RouteStatusWriter(
      (kind, ns, name, status, resourceVersion) => cluster.writeStatus(kind, ns, name, status, resourceVersion),
      this.logger.child({ component: 'status' }),
      [MESH_CONTROLLER],
    );
    // Waypoint Gateways: addresses, Programmed, listeners' attachedRoutes (istiod's gateway status).
    const gatewayStatusWriter = new GatewayStatusWriter(
      (kind, ns, name, status, resourceVersion) => cluster.writeStatus(kind, ns, name, status, resourceVersion),
      this.logger.child({ component: 'status' }),
    );
    this.statusWriter = statusWriter;
    this.gatewayStatusWriter = gatewayStatusWriter;
    this.build(cluster, { routes: statusWriter, gateways: gatewayStatusWriter });
  }

  /** Start-up order: mesh root → objects (first full sync) → translation → gRPC (xDS + CA) → monitoring. */
  async start(): Promise<void> {
    const { config, logger } = this;
    // Monitoring first, so /ready answers "not ready" during start-up rather than refusing.
    this.monitoring = new MonitoringServer({ plane: this, host: config.bindAddress, port: config.ports.monitoring, logger });
    await this.monitoring.start();
    const rootSource = config.ca.provider === 'file' ? { kind: 'plugin' as const, dir: config.ca.pluginCertsDir } : { kind: 'builtin' as const, stateDir: config.ca.stateDir };
    this.signer = await MeshSigner.open({ source: rootSource, trustDomain: config.trustDomain, logger: logger.child({ component: 'ca' }) });
    if (!this.#source && config.source.kind === 'cluster') await this.buildClusterSource(config.source.kubeconfig);
    await this.source.start();
    await this.source.whenSynced();
    this.pipeline.start();
    this.tokens = await this.tokenAuthenticator();
    this.ca = new CaService({
      signer: this.signer,
      logger: logger.child({ component: 'ca' }),
      trustDomain: config.trustDomain,
      clusterId: config.clusterId,
      tokens: this.tokens,
      nodes: new PodNodeAuthorizer(() => this.source.snapshot()),
      trustedNodeAccounts: config.ca.trustedNodeAccounts,
      defaultTtlSeconds: Math.floor(config.ca.defaultTtlMs / 1000),
      maxTtlSeconds: Math.floor(config.ca.maxTtlMs / 1000),
      registry: this.registry,
    });
    this.ca.start();
    const ca = this.ca;
    const serving = await this.servingCertificate();
    this.ads = new AdsServer({
      cache: this.cache,
      authenticate: this.xdsAuthenticator(),
      registry: this.registry,
      logger: logger.child({ component: 'ads' }),
      plaintext: { host: config.bindAddress, port: config.ports.xds },
      tls: { host: config.bindAddress, port: config.ports.xdsTls, serving, client: { caPem: this.signer.rootCertPem } },
      debounce: { quietMs: config.debounce.afterMs, maxDelayMs: config.debounce.maxMs },
      controlPlaneId: `ambit-control`,
      mount: (server) => ca.addTo(server),
    });
    await this.ads.start();
    this.scheduleRenewal();
    logger.info({ ports: this.ads.ports, monitoring: this.monitoring.address(), source: config.source }, 'ambit control started');
  }

  /** Ready once objects are synced and the first translation is in the cache. */
  ready(): { ready: boolean; pending: string[] } {
    const pending: string[] = [];
    if (!this.#source?.synced) pending.push('objects');
    if (this.#pipeline?.state().translation === undefined) pending.push('translation');
    if (this.ads === undefined) pending.push('xds');
    return { ready: pending.length === 0, pending };
  }

  debug(): { ads: unknown; ca: unknown } {
    return { ads: this.ads?.debugView(), ca: this.ca?.recent() };
  }

  addresses(): { xds?: number; xdsTls?: number; monitoring: AddressInfo | undefined } {
    return { xds: this.ads?.ports.plaintext, xdsTls: this.ads?.ports.tls, monitoring: this.monitoring?.address() };
  }

  /** Bearer tokens: a token file (manifests mode), or TokenReview against the cluster. */
  private async tokenAuthenticator(): Promise<(TokenAuthenticator & { destroy?(): void }) | undefined> {
    const { config } = this;
    if (config.ca.tokenFile !== undefined) {
      const t = new StaticTokenAuthenticator({ path: config.ca.tokenFile, logger: this.logger.child({ component: 'tokens' }) });
      await t.start();
      return t;
    }
    if (config.source.kind === 'cluster') {
      const { loadKubeConfig } = await import('../k8s/cluster/index.js');
      return new KubeTokenReviewer({ kubeConfig: loadKubeConfig({ kubeconfigPath: config.source.kubeconfig }) });
    }
    return undefined;
  }

  /**
   * xDS callers: on the TLS port the same rule as the CA's (`authenticateCaller`: clusterid, a mesh
   * client certificate, else one bearer token); without any token authenticator (manifests mode,
   * no token file) anyone, as on the plaintext port.
   */
  private xdsAuthenticator(): AdsAuthenticator {
    const tokens = this.tokens;
    const signer = this.signer;
    if (!tokens || !signer) return allowAnyClient;
    const { trustDomain, clusterId } = this.config;
    return async (call) => {
      if (call.listener === 'plaintext') return allowAnyClient(call);
      const caller = await authenticateCaller(
        {
          authorization: call.metadata.get('authorization').map(String),
          clusterId: call.metadata.get('clusterid').map(String),
          peerCertificate: call.peerCertificate,
          peer: call.peer,
        },
        { trustDomain, clusterId, signer, tokens, nowMs: Date.now() },
      );
      return caller.identity;
    };
  }

  private async servingCertificate(): Promise<{ certChainPem: string; keyPem: string }> {
    const names = [...this.config.tlsSans.dns, ...this.config.tlsSans.ips];
    return this.signer!.issueServerCertificate(names, SERVING_CERT_TTL_SECONDS);
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => {
      this.servingCertificate().then(
        (serving) => {
          this.ads?.rotateServingCertificate(serving);
          this.logger.info('serving certificate renewed');
          this.scheduleRenewal();
        },
        (err: unknown) => {
          this.logger.error({ err }, 'cannot renew the serving certificate; retrying in 1 min');
          this.renewTimer = setTimeout(() => this.scheduleRenewal(), 60_000);
          this.renewTimer.unref();
        },
      );
    }, (SERVING_CERT_TTL_SECONDS * 1000) / 2);
    this.renewTimer.unref();
  }

  /** Graceful: streams end (agents keep their last config and reconnect elsewhere), bounded. */
  close(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.renewTimer);
      this.#pipeline?.close();
      this.ca?.close();
      // A status write in flight finishes while the xDS streams drain (same deadline).
      await Promise.all([this.ads?.close(this.config.drainDeadlineMs), this.statusWriter?.close(this.config.drainDeadlineMs), this.gatewayStatusWriter?.close(this.config.drainDeadlineMs)]);
      await this.#source?.close();
      this.tokens?.destroy?.();
      await this.monitoring?.close();
      this.signer?.close();
      this.logger.info('stopped');
      this.logger.flush();
    })();
    return this.stopping;
  }

  destroy(): void {
    clearTimeout(this.renewTimer);
    this.#pipeline?.destroy();
    this.statusWriter?.destroy();
    this.gatewayStatusWriter?.destroy();
    this.ca?.destroy();
    this.ads?.destroy();
    this.#source?.destroy();
    this.tokens?.destroy?.();
    this.monitoring?.destroy();
    this.signer?.close();
  }
}
