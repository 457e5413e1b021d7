// Composition root of `ambit waypoint` (Istio's waypoint proxy role, one per Gateway of class
// istio-waypoint): certificates for its identity, the mesh state and its WaypointConfig (from
// `ambit control` over delta ADS, or a manifests folder translated here), the proxy, admin/stats/readiness.

import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { MeshError } from '../common/errors.js';
import { createLogger, stdoutDestination, targetLogger, type Logger } from '../common/log.js';
import { redactedConfig, type WaypointProcessConfig } from '../config/index.js';
import { AdminServer, Readiness, ReadinessServer } from '../admin/index.js';
import { CertManager, createCaClient, type CaClient } from '../identity/index.js';
import { createRegistry, ErrorCounter, StatsServer, XdsMetrics, type Registry } from '../metrics/index.js';
import { isNetworkReachableBind } from '../proxy/index.js';
import { ProxyState, type Workload } from '../state/index.js';
import { prepareWaypointConfig, topologyLabels, WaypointProxy } from '../waypoint/index.js';
import type { WaypointConfig } from '../waypoint/model/route-model.js';
import { WaypointTelemetry } from '../waypoint/telemetry/index.js';
import { adsNode, decodeWaypointConfig, WAYPOINT_CONFIG_TYPE_URL, XdsClient } from '../xds/index.js';
import type { WaypointManifests } from './waypoint-manifests.js';

/** The waypoint's own resource type (proto/ambit/waypoint/v1/waypoint_config.proto), subscribed by name. */
/** Past the drain deadline, how long teardown may take before parts are destroyed regardless, ms. */
const DEADLINE_SLACK_MS = 250;
/** How long admin, stats and readiness servers may take to close gracefully, ms. */
const ADMIN_CLOSE_GRACE_MS = 250;

export interface WaypointProcessOptions {
  readonly config: WaypointProcessConfig;
  /** Where log lines go (tests capture them); default asynchronous stdout. */
  readonly logDestination?: DestinationStream;
  /** Called when /quitquitquit asks the process to stop. */
  readonly onQuit?: () => void;
}

/** The WaypointConfig in force, for /config_dump. */
export interface AppliedWaypointConfig {
  /** The xDS resource version, or the content hash of the manifests mode's translation. */
  readonly version: string;
  readonly source: 'xds' | 'manifests';
  readonly appliedAt: string;
  readonly config: WaypointConfig;
}

async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class WaypointProcess {
  readonly config: WaypointProcessConfig;
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly registry: Registry;
  readonly errors: ErrorCounter;
  readonly state = new ProxyState();
  readonly readiness = new Readiness();
  readonly telemetry: WaypointTelemetry;
  /** The delta ADS client (xDS mode). */
  readonly xds: XdsClient | undefined;
  #manifests: WaypointManifests | undefined;
  #ca: CaClient | undefined;
  #certs: CertManager | undefined;
  #proxy: WaypointProxy | undefined;
  #admin: AdminServer | undefined;
  #stats: StatsServer | undefined;
  #readinessServer: ReadinessServer | undefined;
  #applied: AppliedWaypointConfig | undefined;
  #rejected = 0;
  #lastRejection: { readonly version: string; readonly reason: string; readonly at: string } | undefined;
  #releaseConfig: (() => void) | undefined;
  #closing = false;
  /** The configs waiting for what they need to be loaded, chained in arrival order (undefined: none). */
  #applying: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #markClosed!: () => void;

  constructor(private readonly options: WaypointProcessOptions) {
    const config = options.config;
    this.config = config;
    this.logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: options.logDestination ?? stdoutDestination() });
    this.accessLog = targetLogger(this.logger, 'access');
    this.registry = createRegistry({ tag: config.istioVersion });
    this.errors = new ErrorCounter(this.registry);
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
    const { namespace, name, serviceAccount } = config.waypoint;
    this.telemetry = new WaypointTelemetry({
      registry: this.registry,
      // The access target: `/logging?level=access=off` silences request lines, metrics go on.
      logger: this.accessLog,
      waypoint: { namespace, name, identity: config.identity },
    });
    if (config.source.kind === 'xds') {
      this.xds = new XdsClient({
        config: config.xds,
        // Istio's waypoint node: type `waypoint`, its service account and Gateway name label
        // (pilot-agent reads them from the pod); ISTIO_META_* from the environment override them.
        node: adsNode({
          type: 'waypoint',
          pod: config.proxyPod,
          nodeName: config.nodeName,
          metadata: { SERVICE_ACCOUNT: serviceAccount, WORKLOAD_NAME: name, LABELS: { 'gateway.networking.k8s.io/gateway-name': name }, ...config.proxyMetadata },
        }),
        sink: this.state,
        logger: this.logger.child({ component: 'xds' }),
        metrics: new XdsMetrics(this.registry),
        namedTypes: [
          {
            typeUrl: WAYPOINT_CONFIG_TYPE_URL,
            names: [`${namespace}/${name}`],
            apply: (_name, value, version) => this.#applyFromXds(value, version),
            remove: (resource) =>
              this.logger.warn({ resource, inForce: this.#applied?.version }, 'the control plane has no WaypointConfig for this waypoint; the last applied one stays in force'),
          },
        ],
      });
    }
  }

  /** The proxy; throws before start(). */
  get proxy(): WaypointProxy {
    if (!this.#proxy) throw new Error('waypoint not started');
    return this.#proxy;
  }

  get applied(): AppliedWaypointConfig | undefined {
    return this.#applied;
  }

  /**
   * Start-up: readiness, stats, admin → CA and certificate manager → proxy (built) → config source
   * (xDS: first ACK of Address, Authorization and WaypointConfig; manifests: first translation) →
   * HBONE listener. Ready once the certificate, a WaypointConfig and the listener are all there.
   */
  async start(): Promise<void> {
    const { config, logger } = this;
    const releaseState = this.readiness.register('state manager');
    const releaseProxy = this.readiness.register('proxy');
    const releaseCerts = this.readiness.register('certificates');
    this.#releaseConfig = this.readiness.register('waypoint config');
    this.#readinessServer = new ReadinessServer({ readiness: this.readiness, host: config.bindAddress, port: config.ports.readiness });
    await this.#readinessServer.start();
    await this.#startServers();
    // Only its own identity, as Istio's waypoint (pilot-agent) asks: no impersonation, which istiod
    // grants node agents alone.
    this.#ca = await createCaClient(config.ca, logger.child({ component: 'ca' }), { trustDomain: config.trustDomain, impersonate: false });
    this.#certs = new CertManager({ ca: this.#ca, ttlSeconds: config.ca.secretTtlSeconds, logger: logger.child({ component: 'cert-manager' }) });
    this.#certs.start();
    this.#certs
      .fetch(config.identity, 'warmup')
      .then(releaseCerts)
      .catch((err: unknown) => logger.error({ err, identity: config.identity }, 'cannot obtain the waypoint certificate; staying not ready'));
    this.#proxy = new WaypointProxy({
      listen: { ip: config.bindAddress, port: config.ports.hbone },
      identity: config.identity,
      trustDomain: config.trustDomain,
      certs: this.#certs,
      state: this.state,
      http2: config.http2,
      pool: config.pool,
      connectTimeoutMs: config.connectTimeoutMs,
      telemetry: this.telemetry,
      logger: logger.child({ component: 'waypoint' }),
      registry: this.registry,
      self: () => {
        const own = this.#ownWorkload();
        return own && { locality: own.locality, labels: topologyLabels(own) };
      },
    });
    if (this.xds) {
      this.xds.start();
      const synced = await Promise.race([this.xds.whenSynced().then(() => true), this.#closed.then(() => false)]);
      if (!synced || this.#closing) return;
    } else if (config.source.kind === 'manifests') {
      // Loaded only in manifests mode: the translation and the Kubernetes object models cost about
      // 13 MB of heap that a waypoint fed over xDS never needs.
      const { WaypointManifests } = await import('./waypoint-manifests.js');
      this.#manifests = new WaypointManifests({
        dir: config.source.dir,
        waypoint: config.waypoint,
        options: { clusterId: config.clusterId, trustDomain: config.trustDomain, domainSuffix: config.clusterDomain, rootNamespace: config.rootNamespace, network: '' },
        state: this.state,
        setConfig: (c, version) => this.#setConfig(c, version, 'manifests'),
        reject: (err, version) => this.#reject(err, version),
        logger,
        registry: this.registry,
        errors: this.errors,
      });
      await Promise.race([this.#manifests.start(), this.#closed]);
      if (this.#closing) return;
    }
    // The first config may still be loading what it needs: it goes in before the listener opens.
    await Promise.race([this.#applying, this.#closed]);
    if (this.#closing) return;
    releaseState();
    await this.#proxy.start();
    releaseProxy();
    logger.info({ waypoint: `${config.waypoint.namespace}/${config.waypoint.name}`, identity: config.identity, hbone: this.#proxy.address(), ...this.addresses(), source: config.source.kind }, 'ambit waypoint started');
  }

  /** xDS apply callback: throwing NACKs the resource (the last applied config stays). */
  #applyFromXds(value: Uint8Array, version: string): void {
    try {
      this.#setConfig(decodeWaypointConfig(value), version, 'xds');
    } catch (err) {
      this.#reject(err, version);
      throw err;
    }
  }

  /**
   * A config for another waypoint is refused: the resource name and its content must agree. A
   * config that needs a library loaded first (jose for jwtRules) goes in once it is, so no request
   * waits on an import; configs are applied in the order they came.
   */
  #setConfig(c: WaypointConfig, version: string, source: AppliedWaypointConfig['source']): void {
    const { namespace, name } = this.config.waypoint;
    if (c.waypoint?.namespace !== namespace || c.waypoint?.name !== name) {
      throw new MeshError('XDS_INVALID', `WaypointConfig is for ${c.waypoint?.namespace}/${c.waypoint?.name}, not this waypoint ${namespace}/${name}`);
    }
    const ready = prepareWaypointConfig(c);
    if (ready === undefined && this.#applying === undefined) return this.#swapConfig(c, version, source);
    const queued = (this.#applying ?? Promise.resolve())
      .then(() => ready)
      .then(() => {
        if (!this.#closing) this.#swapConfig(c, version, source);
      })
      .catch((err: unknown) => this.#reject(err, version));
    this.#applying = queued;
    void queued.finally(() => {
      if (this.#applying === queued) this.#applying = undefined;
    });
  }

  #swapConfig(c: WaypointConfig, version: string, source: AppliedWaypointConfig['source']): void {
    this.proxy.setConfig(c);
    this.#applied = { version, source, appliedAt: new Date().toISOString(), config: c };
    this.logger.info({ version, source, services: c.services.length, clusters: c.clusters.length }, 'WaypointConfig applied');
    this.#releaseConfig?.();
  }

  #reject(err: unknown, version: string): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.#rejected++;
    this.#lastRejection = { version, reason, at: new Date().toISOString() };
    this.errors.inc('waypoint_config', (err as MeshError).code ?? 'UNKNOWN');
    this.logger.error({ version, reason, inForce: this.#applied?.version }, 'WaypointConfig rejected; the last good one stays in force');
  }

  async #startServers(): Promise<void> {
    const { config, logger } = this;
    this.#stats = new StatsServer({ registry: this.registry, host: config.bindAddress, port: config.ports.stats });
    await this.#stats.start();
    this.#admin = new AdminServer({
      host: config.adminBindAddress,
      port: config.ports.admin,
      logger,
      configDump: () => this.configDump(),
      accessLogger: this.accessLog,
      onQuit: () => (this.options.onQuit ? this.options.onQuit() : void this.close()),
    });
    await this.#admin.start();
    if (isNetworkReachableBind(config.adminBindAddress)) {
      logger.warn({ adminBindAddress: config.adminBindAddress }, 'admin API (config dump, /quitquitquit, log levels) is reachable from the network: the admin bind address is not a loopback address');
    }
  }

  /**
   * The waypoint pod's workload in the mesh state (Istio's proxy locality and topology labels
   * come from its node's labels, which the pod's workload carries): by uid, else by the instance IP.
   */
  #ownWorkload(): Workload | undefined {
    const { proxyPod, clusterId } = this.config;
    const own = (proxyPod.name ? this.state.workloadByUid(`${clusterId}//Pod/${proxyPod.namespace}/${proxyPod.name}`) : undefined)
      ?? (proxyPod.instanceIp ? this.state.workloadByIp('', proxyPod.instanceIp) : undefined);
    return own;
  }

  configDump(): Record<string, unknown> {
    const { config } = this;
    const applied = this.#applied;
    return {
      ...this.state.dump(),
      waypoint: { ...config.waypoint, identity: config.identity, trustDomain: config.trustDomain },
      waypointConfig: applied === undefined ? undefined : { version: applied.version, source: applied.source, appliedAt: applied.appliedAt, config: applied.config },
      rejectedConfigs: { count: this.#rejected, last: this.#lastRejection },
      proxy: this.#proxy?.configDump(),
      staticConfig: { source: config.source, xdsAddress: config.xds.address },
      version: { ambit: '0.1.0', waypointConfigVersion: applied?.version },
      xds: this.xds?.dump(),
      manifests: this.#manifests?.dump(),
      config: redactedConfig(config),
      certificates: this.#certs?.list() ?? [],
    };
  }

  addresses(): { admin: AddressInfo | undefined; stats: AddressInfo | undefined; readiness: AddressInfo | undefined } {
    return { admin: this.#admin?.address(), stats: this.#stats?.address(), readiness: this.#readinessServer?.address() };
  }

  /**
   * Graceful, as the node agent: readiness answers 503 draining at once, the HBONE listener stops
   * accepting and connections drain up to the deadline, then whatever is left is destroyed.
   */
  close(): Promise<void> {
    this.#closing = true;
    this.#markClosed();
    this.#stopping ??= (async () => {
      const deadlineMs = this.config.drainDeadlineMs;
      this.readiness.startDrain();
      this.logger.info({ deadlineMs }, 'draining');
      const drained = this.#proxy ? this.#proxy.close(deadlineMs).then(() => 'drained' as const) : Promise.resolve('drained' as const);
      if ((await raceTimeout(drained, deadlineMs + DEADLINE_SLACK_MS)) === 'timeout') this.logger.warn({ deadlineMs }, 'drain did not finish by the deadline; destroying what is left');
      this.#proxy?.destroy();
      const servers = Promise.allSettled([this.#admin?.close(), this.#stats?.close(), this.#readinessServer?.close()]);
      if ((await raceTimeout(servers, ADMIN_CLOSE_GRACE_MS)) === 'timeout') {
        this.#admin?.destroy();
        this.#stats?.destroy();
        this.#readinessServer?.destroy();
      }
      await this.#manifests?.close();
      this.xds?.destroy();
      this.#certs?.close();
      this.#ca?.close();
      this.logger.info('stopped');
      this.logger.flush();
    })();
    return this.#stopping;
  }

  destroy(): void {
    this.#closing = true;
    this.#markClosed();
    this.xds?.destroy();
    this.#manifests?.destroy();
    this.#proxy?.destroy();
    this.#admin?.destroy();
    this.#stats?.destroy();
    this.#readinessServer?.destroy();
    this.#certs?.destroy();
    this.#ca?.close();
  }
}
