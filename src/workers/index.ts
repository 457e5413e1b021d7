// Public surface of the workers module: the data plane spread over worker threads. The main thread
// runs a WorkerPool; each worker follows the state, asks main for certificates and forwards logs.

export { WorkerPool, type WorkerPoolOptions, type WorkerStatus } from './worker-pool.js';
export { WorkerThread, type MetricsJson, type WorkerPhase } from './worker-thread.js';
export { RpcChannel, toWireError, fromWireError, type RpcPort, type WireError } from './rpc-channel.js';
export { StatePublisher, StateFollower, type StateLink, type StateMessage } from './state-channel.js';
export { RemoteCerts, type CertRequest } from './remote-certs.js';
export { ForwardingLogStream, type LineSink } from './log-forwarder.js';
export { MergedMetrics, WORKER_CONNECTIONS_METRIC } from './merged-metrics.js';
export {
  configForWorker,
  withBoundPorts,
  needsBoundPorts,
  LOAD_REPORT_MS,
  TO_MAIN,
  TO_MAIN_NOTE,
  TO_WORKER,
  TO_WORKER_NOTE,
  type CertRequestPayload,
  type DrainPayload,
  type LoadPayload,
  type LogLevelsPayload,
  type PodRemovePayload,
  type WorkerInit,
} from './protocol.js';
