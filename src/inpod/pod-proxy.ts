// One pod's proxy in in-pod mode: redirect rules in the pod's netns, listeners 15001/15006/15008
// created inside that netns, and a ProxyInstance whose upstream sockets are made there too.
// Removing the pod closes its listeners and every connection it carried, then removes the rules.

import type { Socket } from 'node:net';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { CertSource } from '../identity/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import { Listener, OwnListeners, PodView, ProxyInstance, proxyListeners, type ConnectionManager } from '../proxy/index.js';
import type { ProxyState } from '../state/index.js';
import { listenInNetns, originalDstOf, type NativeSockets } from '../sockets/index.js';
import { NetnsSocketFactory } from './netns-socket-factory.js';
import { PACKET_MARK, PodRules } from './pod-rules.js';
import type { IpFamily } from './redirect-rule-set.js';

export { PACKET_MARK } from './pod-rules.js';

export interface PodProxyInputs {
  readonly uid: string;
  readonly netns: string;
  readonly config: Config;
  readonly state: ProxyState;
  readonly certs: CertSource;
  readonly metrics: TrafficMetrics;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly connections: ConnectionManager;
  readonly native: NativeSockets;
  /**
   * Set when this proxy is one of several serving the pod, one per worker thread: the main thread
   * installed the redirect rules (for these IP families) and removes them, and every worker's
   * listeners join the pod's ports with SO_REUSEPORT so the kernel spreads the connections.
   * Absent: this proxy is the pod's only one and installs and removes the rules itself.
   */
  readonly sharedCapture?: { readonly families: readonly IpFamily[] };
  /** Called before a connection reads the state (a worker catches up with the main thread). */
  readonly syncState?: () => void;
}

export class PodProxy {
  private readonly instance: ProxyInstance;
  /** Held to close its socket pool on teardown: pooled sockets pin the pod's netns. */
  private readonly sockets: NetnsSocketFactory;
  private readonly listeners: Listener[] = [];
  /** Undefined when the rules belong to the main thread (sharedCapture). */
  private readonly rules: PodRules | undefined;

  constructor(private readonly inputs: PodProxyInputs) {
    const { config, native, netns } = inputs;
    this.sockets = new NetnsSocketFactory({ native, netns, mark: PACKET_MARK, timeoutMs: config.connectTimeoutMs });
    this.rules = inputs.sharedCapture ? undefined : new PodRules(netns, config, inputs.logger);
    const local = new PodView(inputs.state, inputs.uid);
    this.instance = new ProxyInstance({
      ...inputs,
      local,
      sockets: this.sockets,
      // The pod's namespace holds only this proxy's listeners (wildcard-bound below), not the
      // agent's admin/stats/readiness: an app in the pod may serve 15000/15020/15021 itself.
      ownListeners: new OwnListeners({ listeners: () => proxyListeners(config, '::'), localAddresses: () => local.all().flatMap((w) => w.workloadIps) }),
      originalDst: (socket) => originalDstOf(native, socket),
    });
  }

  get netns(): string {
    return this.inputs.netns;
  }

  /** Rules first (unless shared), then listeners; on failure everything done so far is undone. */
  async start(): Promise<void> {
    const { config, native, netns, logger } = this.inputs;
    const ports = config.ports;
    const reusePort = this.inputs.sharedCapture !== undefined;
    try {
      const families = this.rules ? await this.rules.install() : this.inputs.sharedCapture?.families ?? ['v4'];
      // Where IPv6 is on, the rules redirect IPv6 TCP too: the listeners must be dual-stack ('::'
      // takes both families; IPv4 peers appear as ::ffff:a.b.c.d and are normalised), or every
      // IPv6 connection of the pod would be redirected to a port nobody listens on.
      const host = families.includes('v6') ? '::' : '0.0.0.0';
      const specs: Array<{ name: string; port: number; transparent: boolean; on: (s: Socket) => void }> = [
        { name: 'outbound', port: ports.outbound, transparent: true, on: (s) => this.instance.onOutboundSocket(s) },
        { name: 'inbound-plaintext', port: ports.inboundPlaintext, transparent: true, on: (s) => this.instance.onPlaintextSocket(s) },
        { name: 'hbone', port: ports.hbone, transparent: false, on: (s) => this.instance.onHboneSocket(s) },
      ];
      for (const spec of specs) {
        const l = new Listener({
          name: `${spec.name} ${this.inputs.uid}`,
          host,
          port: spec.port,
          logger,
          onConnection: spec.on,
          open: () => listenInNetns(native, { netns, host, port: spec.port, mark: PACKET_MARK, transparent: spec.transparent, reusePort, backlog: 128 }),
        });
        this.listeners.push(l);
        await l.start();
      }
    } catch (err) {
      await this.teardown();
      throw err;
    }
  }

  get activeConnections(): number {
    return this.instance.activeConnections;
  }

  /** Graceful: stop accepting, drain up to the deadline, then cut and remove the rules. */
  async close(deadlineMs: number): Promise<void> {
    for (const l of this.listeners) l.close();
    await this.instance.drain(deadlineMs);
    await this.teardown();
  }

  /** Immediate: closes listeners and connections, then removes the rules. */
  async destroy(): Promise<void> {
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    for (const l of this.listeners) l.destroy();
    this.listeners.length = 0;
    this.instance.destroy();
    // After the instance: nothing can take from the pool any more (a late connect falls back to
    // unpooled sockets). Left open, the pooled fds would keep the deleted netns alive.
    this.sockets.close();
    await this.rules?.remove();
  }
}
