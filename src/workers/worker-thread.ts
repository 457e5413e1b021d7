// One data-plane worker thread as the main thread sees it: the Worker, its RpcChannel and state
// link, what it last reported (load, metrics), and its end, expected (stop) or not (a crash).

import { Worker } from 'node:worker_threads';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ProxyAddresses } from '../proxy/index.js';
import { TO_MAIN_NOTE, TO_WORKER, type LoadPayload, type WorkerInit } from './protocol.js';
import { RpcChannel } from './rpc-channel.js';
import type { StatePublisher } from './state-channel.js';

export type WorkerPhase = 'starting' | 'running' | 'stopping' | 'exited';

/** prom-client's getMetricsAsJSON() result, as it crosses from a worker. */
export type MetricsJson = ReadonlyArray<{
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  readonly values: ReadonlyArray<{ readonly value: number; readonly labels: Readonly<Record<string, string | number>>; readonly metricName?: string }>;
}>;

export interface WorkerThreadOptions {
  /** The worker's module (the composition root of a worker, in src/bin). */
  readonly entry: URL;
  readonly init: Omit<WorkerInit, 'state'>;
  readonly publisher: StatePublisher;
  readonly logger: Logger;
  /** Registers main's handlers (certificates, log lines) on the new channel. */
  readonly wire: (rpc: RpcChannel) => void;
  /** Called once, when the thread has ended; `expected` = stop() asked for it. */
  readonly onExit: (thread: WorkerThread, code: number, expected: boolean) => void;
}

export class WorkerThread {
  readonly id: number;
  readonly rpc: RpcChannel;
  readonly startedAt = Date.now();
  phase: WorkerPhase = 'starting';
  /** Set once the pool has replayed every held pod to this thread (status says 'starting' until then). */
  podsReplayed = false;
  /** From the worker's last load report: connections it carries, state version it applied. */
  load: LoadPayload = { open: 0, stateVersion: -1 };
  /** What the worker answered at the last scrape (folded into the totals if it dies). */
  lastMetrics: MetricsJson | undefined;
  addresses: ProxyAddresses | undefined;
  private readonly worker: Worker;
  private stopRequested = false;
  readonly exited: Promise<number>;

  constructor(options: WorkerThreadOptions) {
    this.id = options.init.id;
    const { link, detach } = options.publisher.attach();
    const init: WorkerInit = { ...options.init, state: link };
    this.worker = new Worker(options.entry, { workerData: init, transferList: [link.port] });
    this.rpc = new RpcChannel(this.worker);
    this.rpc.onNote<LoadPayload>(TO_MAIN_NOTE.load, (load) => (this.load = load));
    options.wire(this.rpc);
    // Uncaught errors are survived inside the worker; this sees only what kills it (e.g. a failed
    // module load, or out of memory).
    this.worker.on('error', (err) => options.logger.error({ worker: this.id, err }, 'worker thread failed'));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.phase = 'exited';
        detach();
        this.rpc.failAll(new MeshError('INTERNAL', `worker ${this.id} exited (code ${code})`));
        options.onExit(this, code, this.stopRequested);
        resolve(code);
      });
    });
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** Binds the host listeners; rejects with the worker's error (e.g. a port in use). */
  async start(): Promise<ProxyAddresses> {
    this.addresses = await this.rpc.request<ProxyAddresses>(TO_WORKER.start, undefined);
    return this.addresses;
  }

  /** Ends the thread (its sockets close with it); resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.phase !== 'exited') this.phase = 'stopping';
    await this.worker.terminate();
    await this.exited;
  }

  /**
   * Ends the thread as a crash would: the pool counts it and restarts the slot with backoff (a
   * worker that failed to restart; tests use it to stand in for a crash).
   */
  async abort(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }
}
