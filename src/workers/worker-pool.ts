// The main thread's pool of data-plane worker threads: starts N, feeds them the state, answers their
// certificate requests, writes their log lines, hands them pods, merges their metrics, restarts one
// that dies (its connections are lost and counted) and drains them all within the shutdown deadline.

import type { Registry } from 'prom-client';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { CertSource, RotateListener } from '../identity/index.js';
import type { PodListenerHosts, SharedPodSpec } from '../inpod/index.js';
import type { ConnectionListing, ServerAddresses } from '../proxy/index.js';
import type { ProxyState } from '../state/index.js';
import type { LineSink } from './log-forwarder.js';
import { MergedMetrics } from './merged-metrics.js';
import { PoolMetrics } from './pool-metrics.js';
import {
  configForWorker,
  needsBoundPorts,
  withBoundPorts,
  TO_MAIN,
  TO_MAIN_NOTE,
  TO_WORKER,
  TO_WORKER_NOTE,
  type CertRequestPayload,
  type LogLevelsPayload,
  type PodRemovePayload,
} from './protocol.js';
import type { RpcChannel } from './rpc-channel.js';
import { StatePublisher } from './state-channel.js';
import { WorkerThread, type MetricsJson, type WorkerPhase } from './worker-thread.js';

/** Restart backoff of a slot whose worker keeps dying: 100 ms doubling to 10 s. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before dying restarts at the minimum delay again. */
const STABLE_MS = 30_000;
/** A worker slower than this to answer a scrape is shown with its previous answer. */
const METRICS_TIMEOUT_MS = 1_000;
/** Past a drain deadline, how long a worker may take to answer before it is ended regardless. */
const REQUEST_SLACK_MS = 500;
/** How long terminating the threads may take before close() returns anyway. */
const STOP_GRACE_MS = 1_000;

export interface WorkerPoolOptions {
  readonly count: number;
  /** The worker's module: the composition root of one worker (src/bin). */
  readonly entry: URL;
  readonly config: Config;
  readonly state: ProxyState;
  /** Main's CertManager: answers the workers' requests and tells them of every rotation. */
  readonly certs: CertSource & { onRotate(listener: RotateListener): () => void };
  readonly servers: () => ServerAddresses;
  readonly logger: Logger;
  /** The agent's raw log destination: worker lines arrive formatted. */
  readonly logSink: LineSink;
  readonly logLevels: () => LogLevelsPayload;
  /** Main's registry: the pool's metrics go there, and it is the base of every merged scrape. */
  readonly registry: Registry;
}

interface Slot {
  readonly id: number;
  thread: WorkerThread | undefined;
  /** Consecutive short-lived runs, for the restart backoff. */
  failures: number;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
}

export interface WorkerStatus {
  readonly worker: number;
  readonly phase: WorkerPhase | 'restarting';
  readonly threadId: number | undefined;
  readonly startedAt: string | undefined;
  readonly openConnections: number;
  readonly stateVersion: number;
  readonly restarts: number;
}

async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export class WorkerPool implements PodListenerHosts {
  private readonly slots: Slot[];
  private readonly publisher: StatePublisher;
  /** Replaced once, after the first worker bound ports configured as 0. */
  private workerConfig: Config;
  /** Pods every worker must listen in: replayed to a restarted worker. */
  private readonly pods = new Map<string, SharedPodSpec>();
  /** Pod removals in flight: a drain waits for them before it ends the threads. */
  private readonly removals = new Set<Promise<void>>();
  private readonly merged = new MergedMetrics();
  private readonly metrics: PoolMetrics;
  private readonly unsubscribeCerts: () => void;
  private started = false;
  private closing = false;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new MeshError('CONFIG_INVALID', `worker count must be >= 1, got ${options.count}`);
    this.slots = Array.from({ length: options.count }, (_, i) => ({ id: i + 1, thread: undefined, failures: 0, restarts: 0, timer: undefined }));
    this.publisher = new StatePublisher(options.state);
    this.workerConfig = configForWorker(options.config);
    this.metrics = new PoolMetrics(options.registry, () => this.running().length);
    this.unsubscribeCerts = options.certs.onRotate((_identity, cert) => {
      for (const t of this.live()) t.rpc.note(TO_WORKER_NOTE.cert, cert);
    });
  }

  /** Starts every worker; rejects (and ends them all) if one cannot bind its listeners. */
  async start(): Promise<void> {
    try {
      let rest = this.slots;
      if (needsBoundPorts(this.workerConfig)) {
        const first = this.spawn(this.slots[0] as Slot);
        await this.bringUp(first);
        if (first.addresses) this.workerConfig = withBoundPorts(this.workerConfig, first.addresses);
        rest = this.slots.slice(1);
      }
      await Promise.all(rest.map((slot) => this.bringUp(this.spawn(slot))));
    } catch (err) {
      this.destroy();
      throw err;
    }
    this.started = true;
  }

  /** Threads that answer requests (running). */
  running(): WorkerThread[] {
    return this.live().filter((t) => t.phase === 'running');
  }

  /** Threads not yet exited (starting, running, stopping). */
  private live(): WorkerThread[] {
    return this.slots.flatMap((s) => (s.thread && s.thread.phase !== 'exited' ? [s.thread] : []));
  }

  private spawn(slot: Slot): WorkerThread {
    const { options } = this;
    const thread = new WorkerThread({
      entry: options.entry,
      init: { id: slot.id, config: this.workerConfig, servers: options.servers(), logLevels: options.logLevels() },
      publisher: this.publisher,
      logger: options.logger,
      wire: (rpc) => this.wire(rpc),
      onExit: (t, code, expected) => this.exitOf(slot, t, code, expected),
    });
    slot.thread = thread;
    return thread;
  }

  private wire(rpc: RpcChannel): void {
    rpc.handle(TO_MAIN.cert, (p: CertRequestPayload) => this.options.certs.fetch(p.identity, p.priority));
    rpc.onNote(TO_MAIN_NOTE.log, (text: string) => this.options.logSink.write(text));
  }

  /** Start, then every pod held; 'running' and the pod list are taken in one tick (see addPod). */
  private async bringUp(thread: WorkerThread): Promise<void> {
    await thread.start();
    if (thread.phase !== 'starting') return;
    thread.phase = 'running';
    const pods = [...this.pods.values()];
    const results = await Promise.allSettled(pods.map((p) => thread.rpc.request(TO_WORKER.podAdd, p)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.options.logger.error({ worker: thread.id, pod: pods[i]?.uid, err: (r.reason as Error).message }, 'worker could not listen in a pod');
    });
    thread.podsReplayed = true;
  }

  private exitOf(slot: Slot, thread: WorkerThread, code: number, expected: boolean): void {
    if (slot.thread !== thread) return;
    slot.thread = undefined;
    // Before start() settled, start() reports the failure; after close(), exits are the plan.
    if (expected || this.closing || !this.started) return;
    const lost = thread.load.open;
    this.merged.retire(slot.id, thread.lastMetrics);
    this.metrics.restarts.inc({ worker: String(slot.id) });
    if (lost > 0) this.metrics.lostConnections.inc(lost);
    slot.restarts++;
    slot.failures = Date.now() - thread.startedAt >= STABLE_MS ? 1 : slot.failures + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** (slot.failures - 1));
    this.options.logger.error({ worker: slot.id, code, lostConnections: lost, restartInMs: delay }, 'worker thread ended unexpectedly; restarting it');
    slot.timer = setTimeout(() => this.restart(slot), delay);
  }

  private restart(slot: Slot): void {
    slot.timer = undefined;
    if (this.closing) return;
    const thread = this.spawn(slot);
    this.bringUp(thread).then(
      () => this.options.logger.info({ worker: slot.id, threadId: thread.threadId }, 'worker thread restarted'),
      (err: unknown) => {
        this.options.logger.error({ worker: slot.id, err: (err as Error).message }, 'restarted worker thread failed to start');
        // Ended as a crash would be: the slot is retried with a longer backoff.
        if (thread.phase !== 'exited') void thread.abort();
      },
    );
  }

  /** Every running worker listens in the pod before this resolves (a restarted one gets it on start). */
  async addPod(spec: SharedPodSpec): Promise<void> {
    if (this.closing) throw new MeshError('DRAINING', `not adding pod ${spec.uid}: the agent is shutting down`);
    this.pods.set(spec.uid, spec);
    const targets = this.running();
    const results = await Promise.allSettled(targets.map((t) => t.rpc.request(TO_WORKER.podAdd, spec)));
    // A worker that died meanwhile is no failure: its replacement gets the pod when it starts.
    const failed = results.find((r, i): r is PromiseRejectedResult => r.status === 'rejected' && targets[i]?.phase !== 'exited');
    if (failed) throw failed.reason;
  }

  removePod(uid: string, deadlineMs?: number): Promise<void> {
    this.pods.delete(uid);
    const payload: PodRemovePayload = { uid, deadlineMs };
    const timeout = (deadlineMs ?? 0) + REQUEST_SLACK_MS;
    const done = Promise.allSettled(this.running().map((t) => t.rpc.request(TO_WORKER.podRemove, payload, timeout))).then(() => undefined);
    this.removals.add(done);
    void done.then(() => this.removals.delete(done));
    return done;
  }

  /**
   * Resolves once every live worker has applied `levels` (a worker that dies meanwhile starts
   * again with the levels of the moment, so its failure is no failure here). Bounded like a scrape.
   */
  async setLogLevels(levels: LogLevelsPayload): Promise<void> {
    await Promise.allSettled(this.live().map((t) => t.rpc.request(TO_WORKER.logLevels, levels, METRICS_TIMEOUT_MS)));
  }

  /** Main's registry merged with every worker's counters and gauges, for one scrape. */
  async gatherMetrics(): Promise<Registry> {
    const answers = await Promise.all(
      this.running().map(async (t) => {
        try {
          t.lastMetrics = await t.rpc.request<MetricsJson>(TO_WORKER.metrics, undefined, METRICS_TIMEOUT_MS);
        } catch (err) {
          this.options.logger.debug({ worker: t.id, err: (err as Error).message }, 'worker did not answer the scrape; showing its previous answer');
        }
        return t.lastMetrics ? [{ id: t.id, json: t.lastMetrics }] : [];
      }),
    );
    return this.merged.merge(this.options.registry, answers.flat());
  }

  /**
   * Every worker's tracked connections, each row with its worker's id. A worker that does not answer
   * within the scrape timeout is named in `unanswered` (its connections are missing from the list).
   */
  async connections(): Promise<{ connections: Array<ConnectionListing & { worker: number }>; unanswered: number[] }> {
    const unanswered: number[] = [];
    const answers = await Promise.all(
      this.running().map(async (t) => {
        try {
          const list = await t.rpc.request<ConnectionListing[]>(TO_WORKER.connections, undefined, METRICS_TIMEOUT_MS);
          return list.map((c) => ({ ...c, worker: t.id }));
        } catch {
          unanswered.push(t.id);
          return [];
        }
      }),
    );
    return { connections: answers.flat(), unanswered: unanswered.sort((a, b) => a - b) };
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({
      worker: s.id,
      // 'running' is internal from the moment pods may be sent to the thread; to an observer it is
      // running only once it listens in every pod it held when it came up.
      phase: s.thread ? (s.thread.phase === 'running' && !s.thread.podsReplayed ? 'starting' : s.thread.phase) : 'restarting',
      threadId: s.thread?.threadId,
      startedAt: s.thread ? new Date(s.thread.startedAt).toISOString() : undefined,
      openConnections: s.thread?.load.open ?? 0,
      stateVersion: s.thread?.load.stateVersion ?? -1,
      restarts: s.restarts,
    }));
  }

  /** The live threads (diagnostics; tests end one to see it restarted). */
  threads(): WorkerThread[] {
    return this.live();
  }

  /**
   * Graceful and bounded: every worker stops accepting and drains its host proxy up to the
   * deadline (then cuts what is left), pod removals in flight finish, then the threads end.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    this.clearTimers();
    const threads = this.live();
    await Promise.allSettled(threads.map((t) => t.rpc.request(TO_WORKER.drain, { deadlineMs }, deadlineMs + REQUEST_SLACK_MS)));
    await within(Promise.allSettled([...this.removals]), deadlineMs + REQUEST_SLACK_MS);
    await within(Promise.allSettled(threads.map((t) => t.stop())), STOP_GRACE_MS);
    this.release();
  }

  /** Ends every thread now (their sockets close with them). */
  destroy(): void {
    this.closing = true;
    this.clearTimers();
    for (const t of this.live()) void t.stop();
    this.release();
  }

  private clearTimers(): void {
    for (const s of this.slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
    }
  }

  private release(): void {
    this.unsubscribeCerts();
    this.publisher.close();
  }
}
