// Where upstream sockets come from: the host network namespace (node-level listeners, tests) or a
// pod's network namespace (in-pod mode, created by the native addon). Handlers only see this seam.

import type { Socket } from 'node:net';
import type { SocketAddr } from './outbound-route.js';
import { connectTcp } from './upstream.js';

export interface ConnectOptions {
  /** Source IP to bind (an address this namespace owns). */
  readonly localAddress?: string;
  /**
   * The original client IP to connect from (transparent proxying: the app sees the real client).
   * Factories that cannot spoof ignore it; `spoofs` says whether one will be used.
   */
  readonly spoofSource?: string;
}

export interface SocketFactory {
  /** True when `spoofSource` is honoured. */
  readonly spoofs: boolean;
  connect(target: SocketAddr, options?: ConnectOptions): Promise<Socket>;
}

/** Plain sockets in the agent's own network namespace (no source spoofing). */
export class HostSocketFactory implements SocketFactory {
  readonly spoofs = false;

  constructor(private readonly timeoutMs: number) {}

  connect(target: SocketAddr, options: ConnectOptions = {}): Promise<Socket> {
    return connectTcp({ target, timeoutMs: this.timeoutMs, localAddress: options.localAddress });
  }
}
