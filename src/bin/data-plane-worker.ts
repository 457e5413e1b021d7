// Composition root of one data-plane worker thread (`ambit node` with WORKER_THREADS > 1): the host
// proxy and this worker's share of every pod, on listeners shared with the other workers through
// SO_REUSEPORT; state, certificates and pods come from the main thread, logs and metrics go to it.

import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, targetLogger } from '../common/log.js';
import { deepFreeze } from '../config/index.js';
import { isInpodWorkload, PodProxySet, type SharedPodSpec } from '../inpod/index.js';
import { createRegistry, ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import { ConnectionManager, NodeProxy } from '../proxy/index.js';
import { listenInNetns, loadNativeSockets } from '../sockets/index.js';
import { ProxyState } from '../state/index.js';
import type { WorkloadCertificate } from '../identity/index.js';
import {
  ForwardingLogStream,
  LOAD_REPORT_MS,
  RemoteCerts,
  RpcChannel,
  StateFollower,
  TO_MAIN,
  TO_MAIN_NOTE,
  TO_WORKER,
  TO_WORKER_NOTE,
  type DrainPayload,
  type LogLevelsPayload,
  type PodRemovePayload,
  type WorkerInit,
} from '../workers/index.js';

/** The host listeners' backlog, as the single-loop agent's (src/proxy/listener.ts). */
const LISTEN_BACKLOG = 1024;

function run(init: WorkerInit): void {
  if (!parentPort) throw new Error('data-plane-worker must run as a worker thread');
  const rpc = new RpcChannel(parentPort);
  const config = deepFreeze(init.config);
  const logStream = new ForwardingLogStream((text) => rpc.note(TO_MAIN_NOTE.log, text));
  const root = createLogger({ level: init.logLevels.root, format: config.logFormat, destination: logStream });
  const logger = root.child({ worker: init.id });
  const accessLog = targetLogger(logger, 'access');
  accessLog.level = init.logLevels.access;
  // Survived, as on the main thread (src/bin/daemon.ts): bad input must not end a worker.
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception (survived)'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (survived)'));

  const native = loadNativeSockets();
  // The main thread starts workers only with the addon loaded (SO_REUSEPORT needs it).
  if (!native.ok) throw new Error(`worker ${init.id}: ${native.reason}`);
  const registry = createRegistry({ processMetrics: false, buildInfo: false });
  const metrics = new TrafficMetrics(registry);
  const errors = new ErrorCounter(registry);
  const state = new ProxyState();
  const follower = new StateFollower(init.state, state, (err) => logger.error({ err }, 'state listener failed'));
  const syncState = (): void => follower.sync();
  const certs = new RemoteCerts((identity, priority) => rpc.request<WorkloadCertificate>(TO_MAIN.cert, { identity, priority }), logger);
  const connections = new ConnectionManager(logger.child({ component: 'connection-manager' }));
  const common = { config, state, certs, metrics, errors, accessLog, connections, syncState };
  const pods = new PodProxySet({ ...common, logger, native: native.native });
  const proxy = new NodeProxy({
    ...common,
    logger,
    // Pods served in their own netns: by `netns` (own-rules), or named by istio-cni (zds).
    exclude: (w) => isInpodWorkload(w, config.nodeName) || pods.coversNamed(w, config.nodeName),
    servers: () => init.servers,
    openListener: (host, port) => listenInNetns(native.native, { host, port, reusePort: true, backlog: LISTEN_BACKLOG }),
  });

  rpc.onNote<WorkloadCertificate>(TO_WORKER_NOTE.cert, (cert) => certs.install(cert));
  rpc.handle(TO_WORKER.logLevels, (levels: LogLevelsPayload) => {
    root.level = levels.root;
    accessLog.level = levels.access;
    return Promise.resolve();
  });
  rpc.handle(TO_WORKER.start, async () => {
    syncState();
    await proxy.start();
    return proxy.addresses();
  });
  rpc.handle(TO_WORKER.podAdd, async (spec: SharedPodSpec) => {
    // Main posted the state naming this pod before it asked: catch up before the pod reads it.
    syncState();
    await pods.add(spec);
  });
  rpc.handle(TO_WORKER.podRemove, (p: PodRemovePayload) => pods.remove(p.uid, p.deadlineMs));
  rpc.handle(TO_WORKER.drain, async (p: DrainPayload) => {
    await proxy.close(p.deadlineMs);
    logStream.flush();
  });
  rpc.handle(TO_WORKER.metrics, () => registry.getMetricsAsJSON());
  rpc.handle(TO_WORKER.connections, () => Promise.resolve(connections.list()));
  const report = (): void => rpc.note(TO_MAIN_NOTE.load, { open: proxy.activeConnections + pods.activeConnections, stateVersion: follower.version });
  setInterval(report, LOAD_REPORT_MS).unref();
}

run(workerData as WorkerInit);
