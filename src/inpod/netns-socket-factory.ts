// Upstream sockets made inside a pod's network namespace by the native addon: they leave with the
// pod's IP, carry the agent's packet mark (so the pod's redirect rules let them pass), and toward
// the app they can carry the original client IP (IP_TRANSPARENT + freebind).

import type { Socket } from 'node:net';
import type { ConnectOptions, SocketAddr, SocketFactory } from '../proxy/index.js';
import type { NativeSockets } from '../sockets/index.js';
import { connectInNetns } from '../sockets/index.js';

export interface NetnsSocketFactoryOptions {
  readonly native: NativeSockets;
  readonly netns: string;
  /** SO_MARK on every socket (ztunnel's 1337), matched by the pod's bypass rule. */
  readonly mark: number;
  readonly timeoutMs: number;
}

export class NetnsSocketFactory implements SocketFactory {
  readonly spoofs = true;

  constructor(private readonly options: NetnsSocketFactoryOptions) {}

  connect(target: SocketAddr, options: ConnectOptions = {}): Promise<Socket> {
    const source = options.spoofSource ?? options.localAddress;
    return connectInNetns(this.options.native, {
      netns: this.options.netns,
      target,
      source: source ? { ip: source } : undefined,
      transparent: options.spoofSource !== undefined,
      mark: this.options.mark,
      timeoutMs: this.options.timeoutMs,
    });
  }
}
