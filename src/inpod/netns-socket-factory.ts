// Upstream sockets made inside a pod's network namespace by the native addon: they leave with the
// pod's IP, carry the agent's packet mark (so the pod's redirect rules let them pass), and toward
// the app they can carry the original client IP (IP_TRANSPARENT + freebind).

import type { Socket } from 'node:net';
import type { ConnectOptions, SocketAddr, SocketFactory } from '../proxy/index.js';
import type { NativeSockets, NetnsSocketPoolOptions, NetnsTarget } from '../sockets/index.js';
import { connectInNetns, NetnsSocketPool } from '../sockets/index.js';

export interface NetnsSocketFactoryOptions {
  readonly native: NativeSockets;
  /** The pod's netns file, or its open fd (which MUST stay open until close()). */
  readonly netns: NetnsTarget;
  /** SO_MARK on every socket (ztunnel's 1337), matched by the pod's bypass rule. */
  readonly mark: number;
  readonly timeoutMs: number;
  /** Tuning of the pod's socket pool (batch, low-water, idle trim); defaults otherwise. */
  readonly pool?: Omit<NetnsSocketPoolOptions, 'netns'>;
}

/**
 * Owns the pod's pool of pre-created sockets: close() MUST be called when the pod is removed, since
 * every pooled socket pins the pod's netns. After close() connections still work (unpooled).
 */
export class NetnsSocketFactory implements SocketFactory {
  readonly spoofs = true;
  private readonly pool: NetnsSocketPool;

  constructor(private readonly options: NetnsSocketFactoryOptions) {
    this.pool = new NetnsSocketPool(options.native, { ...options.pool, netns: options.netns });
  }

  connect(target: SocketAddr, options: ConnectOptions = {}): Promise<Socket> {
    const source = options.spoofSource ?? options.localAddress;
    return connectInNetns(this.options.native, {
      netns: this.options.netns,
      target,
      source: source ? { ip: source } : undefined,
      transparent: options.spoofSource !== undefined,
      mark: this.options.mark,
      timeoutMs: this.options.timeoutMs,
      pool: this.pool,
    });
  }

  /** Sockets pooled right now (diagnostics, tests). */
  get pooledSockets(): number {
    return this.pool.size;
  }

  /** Closes the pooled sockets (and any a refill in flight delivers). Idempotent. */
  close(): void {
    this.pool.close();
  }
}
