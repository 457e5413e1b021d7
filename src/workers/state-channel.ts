// The mesh state from the main thread to the worker threads: every snapshot main applies is posted
// to each worker with a version, and a shared counter says which version is the latest, so a worker
// can catch up synchronously (receiveMessageOnPort) before it lets a new connection read its state.

import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { ProxyState, StateSnapshot } from '../state/index.js';

export interface StateMessage {
  readonly version: number;
  readonly snapshot: StateSnapshot;
}

/** What a worker needs to follow the state: its end of the channel and the shared version. */
export interface StateLink {
  readonly port: MessagePort;
  /** Int32 slot 0 = the latest version posted to every worker (written after the posts). */
  readonly latest: SharedArrayBuffer;
}

/**
 * Main side. Invariant: a version is stored in `latest` only after its snapshot was posted to every
 * attached port, and postMessage enqueues synchronously; so a worker that reads version v from
 * `latest` finds every snapshot up to v in its port's queue.
 */
export class StatePublisher {
  private readonly latest = new SharedArrayBuffer(4);
  private readonly latestView = new Int32Array(this.latest);
  private version = 0;
  private readonly ports = new Set<MessagePort>();
  private readonly unsubscribe: () => void;

  constructor(private readonly state: ProxyState) {
    this.unsubscribe = state.onChange(() => this.publish());
  }

  get currentVersion(): number {
    return this.version;
  }

  /** A new link for a worker (transfer `port` to it): its first message is the current snapshot. */
  attach(): { readonly link: StateLink; readonly detach: () => void } {
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ version: this.version, snapshot: this.state.snapshot() } satisfies StateMessage);
    this.ports.add(port1);
    const detach = (): void => {
      this.ports.delete(port1);
      port1.close();
    };
    return { link: { port: port2, latest: this.latest }, detach };
  }

  private publish(): void {
    this.version++;
    const message: StateMessage = { version: this.version, snapshot: this.state.snapshot() };
    for (const port of this.ports) port.postMessage(message);
    Atomics.store(this.latestView, 0, this.version);
  }

  close(): void {
    this.unsubscribe();
    for (const port of this.ports) port.close();
    this.ports.clear();
  }
}

/**
 * Worker side. Applies snapshots in version order, each at most once, whichever path delivers it
 * first: the port's message event, or sync() draining the queue before a connection.
 */
export class StateFollower {
  private readonly latest: Int32Array;
  private appliedVersion = -1;

  constructor(
    private readonly link: StateLink,
    private readonly state: ProxyState,
    /** A state listener threw (the state itself is applied: ProxyState swaps before it notifies). */
    private readonly onListenerError: (err: unknown) => void,
  ) {
    this.latest = new Int32Array(link.latest);
    link.port.on('message', (m: StateMessage) => this.take(m));
  }

  get version(): number {
    return this.appliedVersion;
  }

  /** Applies whatever main has published and this worker has not; cheap when up to date. */
  sync(): void {
    if (Atomics.load(this.latest, 0) <= this.appliedVersion) return;
    let newest: StateMessage | undefined;
    for (let m = receiveMessageOnPort(this.link.port); m !== undefined; m = receiveMessageOnPort(this.link.port)) {
      newest = m.message as StateMessage;
    }
    // Only the newest matters: listeners compare against the snapshot they last saw.
    if (newest) this.take(newest);
  }

  private take(m: StateMessage): void {
    if (m.version <= this.appliedVersion) return;
    this.appliedVersion = m.version;
    try {
      this.state.apply(m.snapshot);
    } catch (err) {
      this.onListenerError(err);
    }
  }

  close(): void {
    this.link.port.close();
  }
}
