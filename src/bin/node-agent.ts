// Composition root of the node agent (`ambit node`): builds every component from one Config,
// wires them, and owns start-up order, readiness and graceful shutdown. Tests start it in-process.

import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { createLogger, stdoutDestination, targetLogger, type Logger } from '../common/log.js';
import { DEFAULTS, readCpuBudget, redactedConfig, type Config } from '../config/index.js';
import { AdminServer, AMBIT_VERSION, Readiness, ReadinessServer } from '../admin/index.js';
import { CertManager, createCaClient, type CaClient } from '../identity/index.js';
import { createRegistry, ErrorCounter, HeapTrimMetrics, StatsServer, TrafficMetrics, XdsMetrics } from '../metrics/index.js';
import type { InpodManager, ZdsClient, ZdsPodSource } from '../inpod/index.js';
import { MeshError } from '../common/errors.js';
import { ConnectionManager, isNetworkReachableBind, NodeProxy, type OriginalDstResolver, type ProxyAddresses } from '../proxy/index.js';
import { fullGc, HeapTrimmer, loadNativeSockets, trimHeap, type NativeSockets, type NativeSocketsLoad } from '../sockets/index.js';
import { ProxyState } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload } from '../tls/index.js';
import { WorkerPool, type LogLevelsPayload } from '../workers/index.js';
import { nodeDebugViews } from './node-debug-views.js';
import { workerCountAtStart, type WorkerCount } from './worker-count.js';
import { createNodeInpod, localPodFactory, remotePodFactory, type NodeInpodInputs } from './node-inpod.js';
import { adsNode, EMBEDDED_EXAMPLE_YAML, LocalConfigSource, SnapshotMerger, XdsClient } from '../xds/index.js';

/** Past the drain deadline, how long teardown may take before parts are destroyed regardless, ms. */
const DEADLINE_SLACK_MS = 250;
/** How long admin, stats and readiness servers may take to close gracefully, ms. */
const ADMIN_CLOSE_GRACE_MS = 250;

/** Resolves with `p`'s value, or 'timeout' after `ms`. */
async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface NodeAgentOptions {
  readonly config: Config;
  /** Where log lines go (tests capture them); default asynchronous stdout. */
  readonly logDestination?: DestinationStream;
  /** Test seam of the host proxy's outbound listener; honoured with one worker only. */
  readonly originalDst?: OriginalDstResolver;
  /** Called when /quitquitquit or a signal asks the agent to stop. */
  readonly onQuit?: () => void;
}

export interface NodeAgentAddresses {
  readonly admin: AddressInfo | undefined;
  readonly stats: AddressInfo | undefined;
  readonly readiness: AddressInfo | undefined;
}

export class NodeAgent {
  readonly config: Config;
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly state = new ProxyState();
  readonly readiness = new Readiness();
  readonly registry;
  readonly traffic: TrafficMetrics;
  readonly errors: ErrorCounter;
  /** The delta ADS client, when XDS_ADDRESS is set. */
  readonly xds: XdsClient | undefined;
  private readonly localSource: LocalConfigSource | undefined;
  /** Both local config and xDS feed the state: their union, the local config winning a conflict. */
  private readonly merger: SnapshotMerger | undefined;
  private closing = false;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  private ca: CaClient | undefined;
  private certManager: CertManager | undefined;
  private nodeProxy: NodeProxy | undefined;
  private inpod: InpodManager | undefined;
  /** zds mode: the connection to istio-cni that feeds `inpod` (AMBIT_INPOD_MODE=zds). */
  private zds: ZdsClient | undefined;
  private zdsPods: ZdsPodSource | undefined;
  /** The data-plane worker threads, when the data plane runs on more than one (WORKER_THREADS). */
  private workers: WorkerPool | undefined;
  /** The worker count in force and why (set at start: the config's choice, after the native-addon check). */
  private workerChoice: Omit<WorkerCount, 'fallback'> | undefined;
  /** Where log lines go, raw: worker threads' lines arrive formatted and are written as they are. */
  private readonly logSink: DestinationStream;
  private admin: AdminServer | undefined;
  private stats: StatsServer | undefined;
  private readinessServer: ReadinessServer | undefined;
  /** Gives glibc's free heap back after bursts (AMBIT_HEAP_TRIM_INTERVAL; needs the native addon). */
  private heapTrimmer: HeapTrimmer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: NodeAgentOptions) {
    this.config = options.config;
    this.logSink = options.logDestination ?? stdoutDestination();
    this.logger = createLogger({ level: this.config.logLevel, format: this.config.logFormat, destination: this.logSink });
    this.accessLog = targetLogger(this.logger, 'access');
    this.registry = createRegistry({ tag: this.config.istioVersion });
    this.traffic = new TrafficMetrics(this.registry);
    this.errors = new ErrorCounter(this.registry);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    const { config } = this;
    // Sources: xDS when XDS_ADDRESS is set; the local config when a file or inline YAML is given,
    // or when there is no xDS (then the embedded example); both = the union of the two.
    const xdsOn = config.xds.address !== undefined;
    const localOn = !xdsOn || config.localXdsPath !== undefined || config.localXds !== undefined;
    // The local config wins a key conflict: it is this node's explicit override (a pinned netns,
    // a test workload); were xDS to win, a local entry with the same key would be silently dead.
    this.merger = xdsOn && localOn ? new SnapshotMerger(this.state, ['local', 'xds'], this.logger.child({ component: 'config-sources' })) : undefined;
    this.localSource = localOn
      ? new LocalConfigSource({
          path: config.localXdsPath,
          inline: config.localXds,
          embedded: EMBEDDED_EXAMPLE_YAML,
          state: this.merger?.input('local') ?? this.state,
          logger: this.logger.child({ component: 'local-config' }),
          onError: () => this.errors.inc('local_config', 'CONFIG_INVALID'),
        })
      : undefined;
    this.xds = xdsOn
      ? new XdsClient({
          config: config.xds,
          node: adsNode({ pod: config.proxyPod, nodeName: config.nodeName, metadata: config.proxyMetadata }),
          sink: this.merger?.input('xds') ?? this.state,
          logger: this.logger.child({ component: 'xds' }),
          metrics: new XdsMetrics(this.registry),
        })
      : undefined;
  }

  /** The local config source; throws when the state comes from xDS alone. */
  get source(): LocalConfigSource {
    if (!this.localSource) throw new Error('no local config source: the state comes from xDS (XDS_ADDRESS) alone');
    return this.localSource;
  }

  get certs(): CertManager {
    if (!this.certManager) throw new Error('agent not started');
    return this.certManager;
  }

  get proxy(): NodeProxy {
    if (this.workers) throw new Error(`the data plane runs in ${this.config.workers} worker threads; there is no host proxy on the main thread`);
    if (!this.nodeProxy) throw new Error('agent not started');
    return this.nodeProxy;
  }

  /** The worker pool, when the data plane runs in worker threads (status, metrics; tests end a worker). */
  get workerPool(): WorkerPool | undefined {
    return this.workers;
  }

  /**
   * Start-up order: readiness, stats and admin servers → config sources (with xDS: until the first
   * full sync, as ztunnel starts its listeners only then) → CA → proxy listeners. Readiness follows
   * the tasks. If close() runs while the first sync is awaited, start() returns early.
   */
  async start(): Promise<void> {
    const { config, logger } = this;
    const releaseState = this.readiness.register('state manager');
    const releaseProxy = this.readiness.register('proxy');
    const releaseCerts = this.readiness.register('certificates');
    // Readiness first, so probes get "not ready, pending: ..." rather than a refused connection;
    // admin next, so /config_dump shows the xDS connection while the agent waits for it.
    this.readinessServer = new ReadinessServer({ readiness: this.readiness, host: config.bindAddress, port: config.ports.readiness });
    await this.readinessServer.start();
    await this.startServers();
    await this.localSource?.start();
    if (this.xds) {
      this.xds.start();
      const synced = await Promise.race([this.xds.whenSynced().then(() => true), this.closed.then(() => false)]);
      if (!synced || this.closing) return;
    }
    releaseState();
    this.ca = await createCaClient(config.ca, logger.child({ component: 'ca' }), { trustDomain: config.trustDomain });
    this.certManager = new CertManager({ ca: this.ca, ttlSeconds: config.ca.secretTtlSeconds, logger: logger.child({ component: 'cert-manager' }) });
    this.certManager.start();
    // Transparent capture needs the native addon; without it the agent still serves SOCKS5 and
    // node-level listeners, and says once why pods with a `netns` are not captured.
    const native = loadNativeSockets();
    if (!native.ok) {
      // istio-cni's pods can only be served in their netns: without the addon zds mode cannot work.
      if (config.inpod.mode === 'zds') throw new MeshError('NATIVE_UNAVAILABLE', `AMBIT_INPOD_MODE=zds needs the native socket addon: ${native.reason}`);
      logger.warn({ reason: native.reason }, 'transparent capture is off: workloads with a netns are served through SOCKS5 and node-level listeners only');
    }
    const workers = this.workerCount(native);
    if (workers > 1) await this.startWorkers(workers);
    else await this.startLocalDataPlane(native);
    this.startHeapTrimmer(native);
    releaseProxy();
    const inpod = this.inpod;
    if (inpod && this.zds) {
      // zds: the client holds the readiness task until istio-cni's snapshot is in place.
      await inpod.start();
      this.zds.start();
    } else if (inpod) {
      const releasePods = this.readiness.register('workload proxy manager');
      await inpod.start();
      // Ready once no in-pod proxy is pending (starting or retrying).
      void inpod.allRunning().then(releasePods);
    }
    // Ready only when the certificates of every local workload can be had.
    this.fetchLocalCerts()
      .then(releaseCerts)
      .catch((err: unknown) => logger.error({ err }, 'cannot obtain local workload certificates; staying not ready'));
    logger.info({ addresses: this.addresses(), proxy: this.proxyAddresses(), ...(this.workers ? { workers } : {}) }, 'ambit node agent started');
    if (config.localXdsPath === undefined && config.localXds === undefined && this.xds === undefined) {
      logger.info('running on the embedded example config; for two nodes and the control plane (ambit control), with in-pod capture in network namespaces, run `sudo npm run demo`');
    }
  }

  /**
   * One trimmer on the main thread: malloc_trim(0) walks every arena, the worker threads' too.
   * Without the native addon (or off glibc) there is nothing to call, so none runs.
   */
  private startHeapTrimmer(native: NativeSocketsLoad): void {
    const intervalMs = this.config.heapTrimIntervalMs;
    if (!native.ok || intervalMs === 0 || this.closing) return;
    const metrics = new HeapTrimMetrics(this.registry);
    this.heapTrimmer = new HeapTrimmer({
      intervalMs,
      policy: {
        marginBytes: DEFAULTS.heapTrimMarginBytes,
        activityCpuMs: DEFAULTS.heapTrimActivityCpuMs,
        quietCpuFraction: DEFAULTS.heapTrimQuietCpuFraction,
        dropRatio: DEFAULTS.heapTrimDropRatio,
      },
      trim: () => trimHeap(native.native),
      collectGarbage: fullGc(),
      logger: this.logger.child({ component: 'heap-trimmer' }),
      onTrim: (o) => metrics.record(o.releasedBytes),
    });
    this.heapTrimmer.start();
  }

  /** The worker threads to run (worker-count.ts), logged with the reason and kept for /config_dump. */
  private workerCount(native: NativeSocketsLoad): number {
    const choice = workerCountAtStart(this.config, native);
    const { fallback, ...shown } = choice;
    this.workerChoice = shown;
    if (fallback?.level === 'warn') this.logger.warn({ workers: this.config.workers, reason: fallback.why }, 'the data plane runs on one event loop');
    this.logger.info(shown, `data-plane workers: ${choice.count}`);
    if (choice.count <= 1) return 1;
    const cpus = readCpuBudget().cpus;
    if (choice.count > cpus) this.logger.warn({ workers: choice.count, cpus }, 'more data-plane worker threads than CPUs available');
    if (this.options.originalDst) this.logger.warn('the originalDst test seam is ignored with worker threads');
    return choice.count;
  }

  /** The data plane on this event loop (one worker): the host proxy and one PodProxy per pod. */
  private async startLocalDataPlane(native: NativeSocketsLoad): Promise<void> {
    const { config, logger } = this;
    const certs = this.certs;
    const connections = new ConnectionManager(logger.child({ component: 'connection-manager' }));
    const common = { config, state: this.state, certs, metrics: this.traffic, errors: this.errors, accessLog: this.accessLog, connections };
    if (native.ok) this.createInpod(native.native, localPodFactory({ ...common, native: native.native }));
    const inpod = this.inpod;
    this.nodeProxy = new NodeProxy({
      ...common,
      logger,
      originalDst: this.options.originalDst,
      exclude: inpod ? (w) => inpod.handles(w) : undefined,
      servers: () => this.addresses(),
    });
    await this.nodeProxy.start();
  }

  /**
   * The data plane in `count` worker threads, each with its own listeners on the same ports; this
   * thread keeps the state, the CA, admin/stats/readiness and the pod registry (rules, once per pod).
   */
  private async startWorkers(count: number): Promise<void> {
    const { config, logger } = this;
    const pool = new WorkerPool({
      count,
      entry: new URL('./data-plane-worker.js', import.meta.url),
      config,
      state: this.state,
      certs: this.certs,
      servers: () => this.addresses(),
      logger: logger.child({ component: 'workers' }),
      logSink: this.logSink,
      logLevels: () => this.logLevels(),
      registry: this.registry,
    });
    this.workers = pool;
    await pool.start();
    const native = loadNativeSockets();
    if (!native.ok) throw new MeshError('NATIVE_UNAVAILABLE', native.reason);
    this.createInpod(native.native, remotePodFactory(config, pool));
  }

  /** The pod registry and its source (src/bin/node-inpod.ts); in zds mode the client starts after the registry. */
  private createInpod(native: NativeSockets, createPod: NodeInpodInputs['createPod']): void {
    const { config, logger } = this;
    const wired = createNodeInpod({
      config,
      state: this.state,
      native,
      errors: this.errors,
      registry: this.registry,
      readiness: (task) => this.readiness.register(task),
      logger,
      createPod,
    });
    this.inpod = wired.manager;
    this.zds = wired.zds?.client;
    this.zdsPods = wired.zds?.pods;
  }

  private logLevels(): LogLevelsPayload {
    return { root: this.logger.level, access: this.accessLog.level };
  }

  private proxyAddresses(): ProxyAddresses | undefined {
    return this.workers ? this.workers.running()[0]?.addresses : this.nodeProxy?.addresses();
  }

  /** Stats and admin servers (admin: /config_dump, /logging, /quitquitquit). */
  private async startServers(): Promise<void> {
    const { config, logger } = this;
    this.stats = new StatsServer({
      registry: this.registry,
      host: config.bindAddress,
      port: config.ports.stats,
      // With worker threads, every scrape merges their counters into this registry's.
      gather: config.workers > 1 ? () => (this.workers ? this.workers.gatherMetrics() : Promise.resolve(this.registry)) : undefined,
    });
    await this.stats.start();
    this.admin = new AdminServer({
      host: config.adminBindAddress,
      port: config.ports.admin,
      logger,
      configDump: () => this.configDump(),
      accessLogger: this.accessLog,
      onQuit: () => (this.options.onQuit ? this.options.onQuit() : void this.close()),
      onLevelsChanged: () => this.workers?.setLogLevels(this.logLevels()),
      debug: nodeDebugViews({
        state: this.state,
        config,
        servers: () => this.addresses(),
        connections: async () => (this.workers ? this.workers.connections() : { connections: this.nodeProxy?.connections.list() ?? [] }),
      }),
    });
    await this.admin.start();
    // Accepted (a pod-local agent may want it) but never silent: admin can dump config and stop us.
    if (isNetworkReachableBind(config.adminBindAddress)) {
      logger.warn(
        { adminBindAddress: config.adminBindAddress, port: this.admin.address()?.port },
        'admin API (config dump, /quitquitquit, log levels) is reachable from the network: the admin bind address is not a loopback address',
      );
    }
  }

  private async fetchLocalCerts(): Promise<void> {
    const ids = new Set(this.state.localWorkloads(this.config.nodeName).map((w) => formatSpiffeId(identityFromWorkload(w))));
    await Promise.all([...ids].map((id) => this.certs.fetch(id, 'warmup')));
  }

  configDump(): Record<string, unknown> {
    const dump = this.state.dump();
    const local = this.localSource;
    const localName = this.config.localXdsPath ?? (this.config.localXds ? '<inline LOCAL_XDS>' : '<embedded example>');
    return {
      ...dump,
      stagedServices: [],
      staticConfig: { localXdsPath: local ? localName : undefined, xdsAddress: this.config.xds.address },
      version: { ambit: AMBIT_VERSION, configVersion: local?.version, rejectedConfigs: local?.rejectedCount },
      // The control-plane connection: state, held resource versions, the last NACK.
      xds: this.xds?.dump(),
      configSources: {
        local: local ? localName : undefined,
        xds: this.config.xds.address,
        precedence: this.merger ? 'local config wins over xDS on a key conflict' : undefined,
        conflicts: this.merger?.conflicts() ?? [],
      },
      // Secrets (CA_HEADER_* values, a literal AUTH_TOKEN) are redacted in the dump only.
      config: redactedConfig(this.config),
      certificates: this.certManager?.list() ?? [],
      workloadState: this.inpod?.status() ?? [],
      // zds mode: the connection to istio-cni.
      zds: this.zds?.dump(),
      // The data-plane worker threads (absent with one: the data plane is this event loop).
      workers: this.workers?.status(),
      // How many data-plane workers run and why (`auto`'s rule and CPU budget, or a fallback).
      dataPlaneWorkers: this.workerChoice,
    };
  }

  addresses(): NodeAgentAddresses {
    return { admin: this.admin?.address(), stats: this.stats?.address(), readiness: this.readinessServer?.address() };
  }

  /**
   * Graceful: readiness turns 503 at once, listeners stop accepting, connections drain up to the
   * deadline; at the deadline whatever is left is destroyed, whatever peers do. Resolves by the
   * deadline plus the time to close local servers (bounded by ADMIN_CLOSE_GRACE_MS).
   */
  close(): Promise<void> {
    this.closing = true;
    this.markClosed();
    this.stopping ??= (async () => {
      const deadlineMs = this.config.drainDeadlineMs;
      this.readiness.startDrain();
      this.logger.info({ deadlineMs }, 'draining');
      // No pod changes from istio-cni while the pods drain (ztunnel stops reading ZDS on drain):
      // the client stops reading at once; a request in flight finishes within the deadline race.
      const zdsClosed = this.zds?.close();
      const drained = Promise.all([zdsClosed, this.heapTrimmer?.close(), this.nodeProxy?.close(deadlineMs), this.inpod?.close(deadlineMs), this.workers?.close(deadlineMs)]).then(() => 'drained' as const);
      const outcome = await raceTimeout(drained, deadlineMs + DEADLINE_SLACK_MS);
      if (outcome === 'timeout') this.logger.warn({ deadlineMs }, 'drain did not finish by the deadline; destroying what is left');
      this.nodeProxy?.destroy();
      this.workers?.destroy();
      if (outcome === 'timeout') void this.inpod?.destroy();
      this.zds?.destroy();
      this.zdsPods?.close();
      // Admin, stats and readiness last: probes see 503 while the drain runs.
      const servers = Promise.allSettled([this.admin?.close(), this.stats?.close(), this.readinessServer?.close()]);
      if ((await raceTimeout(servers, ADMIN_CLOSE_GRACE_MS)) === 'timeout') {
        this.admin?.destroy();
        this.stats?.destroy();
        this.readinessServer?.destroy();
      }
      void this.localSource?.close();
      this.xds?.destroy();
      this.certManager?.close();
      this.ca?.close();
      this.logger.info('stopped');
      this.logger.flush();
    })();
    return this.stopping;
  }

  destroy(): void {
    this.closing = true;
    this.markClosed();
    this.heapTrimmer?.destroy();
    this.xds?.destroy();
    this.nodeProxy?.destroy();
    this.workers?.destroy();
    this.zds?.destroy();
    void this.inpod?.destroy();
    this.admin?.destroy();
    this.stats?.destroy();
    this.readinessServer?.destroy();
    this.localSource?.destroy();
    this.certManager?.destroy();
    this.ca?.close();
  }
}
