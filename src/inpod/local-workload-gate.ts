// Holds a pod's new connections until the pod's own workload is in the state: with ZDS a pod can be
// captured before xDS has sent its workload. ztunnel waits up to 5 s for the local workload (for the
// source of an outbound connection and for the certificate an inbound one is answered with) and
// then fails the connection as unknown; on-demand xDS does not cover this lookup.

import type { Socket } from 'node:net';
import type { LocalView } from '../proxy/index.js';
import type { ProxyState } from '../state/index.js';

/** How long a connection waits for its pod's workload, ms (ztunnel: 5 s). */
export const LOCAL_WORKLOAD_WAIT_MS = 5_000;

interface Waiter {
  readonly socket: Socket;
  readonly handle: (socket: Socket) => void;
  readonly timer: NodeJS.Timeout;
}

export interface LocalWorkloadGateInputs {
  readonly view: LocalView;
  readonly state: ProxyState;
  /** Called before each look (a worker thread catches up with the main thread's state). */
  readonly syncState?: () => void;
  readonly timeoutMs?: number;
}

/**
 * Accepted sockets are paused (no byte is read) while they wait. Past the timeout a socket is
 * handed over anyway, and the handler fails it as it fails any connection of an unknown workload
 * (logged and counted there). destroy() ends every waiting socket.
 */
export class LocalWorkloadGate {
  private readonly waiters = new Set<Waiter>();
  private unsubscribe: (() => void) | undefined;
  private destroyed = false;

  constructor(private readonly inputs: LocalWorkloadGateInputs) {}

  private known(): boolean {
    this.inputs.syncState?.();
    const view = this.inputs.view;
    // sole() first: a pod's view answers it without building a list.
    return view.sole() !== undefined || view.all().length > 0;
  }

  /** Runs `handle(socket)` now if the pod's workload is known, else once it is (or at the timeout). */
  admit(socket: Socket, handle: (socket: Socket) => void): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    if (this.known()) {
      handle(socket);
      return;
    }
    const timer = setTimeout(() => this.release(waiter), this.inputs.timeoutMs ?? LOCAL_WORKLOAD_WAIT_MS);
    const waiter: Waiter = { socket, handle, timer };
    this.waiters.add(waiter);
    socket.once('close', () => this.drop(waiter));
    this.unsubscribe ??= this.inputs.state.onChange(() => this.onStateChange());
  }

  /** Connections waiting now (diagnostics, tests). */
  get waiting(): number {
    return this.waiters.size;
  }

  private onStateChange(): void {
    if (!this.known()) return;
    for (const w of [...this.waiters]) this.release(w);
  }

  private release(w: Waiter): void {
    if (!this.drop(w)) return;
    if (w.socket.destroyed) return;
    w.handle(w.socket);
  }

  /** Forgets `w`; false if it was gone already. */
  private drop(w: Waiter): boolean {
    if (!this.waiters.delete(w)) return false;
    clearTimeout(w.timer);
    if (this.waiters.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
    }
    return true;
  }

  destroy(): void {
    this.destroyed = true;
    for (const w of [...this.waiters]) {
      this.drop(w);
      w.socket.destroy();
    }
  }
}
