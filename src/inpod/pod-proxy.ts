// One pod's proxy in in-pod mode: redirect rules in the pod's netns (own-rules mode; with ZDS they
// are istio-cni's), listeners 15001/15006/15008 created inside that netns (named by path, or by the
// fd istio-cni handed over), and a ProxyInstance whose upstream sockets are made there too.
// Removing the pod closes its listeners and every connection it carried, then removes own rules.

import type { Socket } from 'node:net';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { CertSource } from '../identity/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import { Listener, OwnListeners, PodView, ProxyInstance, proxyListeners, type ConnectionManager } from '../proxy/index.js';
import type { ProxyState } from '../state/index.js';
import { listenInNetns, originalDstOf, type NativeSockets, type NetnsTarget } from '../sockets/index.js';
import { LocalWorkloadGate } from './local-workload-gate.js';
import { NamedPodView } from './named-pod-view.js';
import { NetnsSocketFactory } from './netns-socket-factory.js';
import { PACKET_MARK, PodRules } from './pod-rules.js';
import type { IpFamily } from './redirect-rule-set.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

export { PACKET_MARK } from './pod-rules.js';

export interface PodProxyInputs {
  readonly uid: string;
  /** The netns file (own-rules); with `netnsFd`, only how the netns is shown. */
  readonly netns: string;
  /** zds: the pod's netns as an open fd (held by the caller until this proxy is torn down). */
  readonly netnsFd?: number;
  /** zds: the pod's workload is found in the state by these (else by `uid`). */
  readonly workload?: ZdsWorkloadInfo;
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
   * Set when the redirect rules are not this proxy's to install: the main thread's (this proxy is one
   * of several serving the pod, one per worker thread) or istio-cni's (zds mode). `families` are the
   * IP families captured. The listeners take SO_REUSEPORT, so the workers' listeners share the
   * pod's ports (and, as ztunnel's INPOD_PORT_REUSE, a replacement proxy can start beside a
   * draining one). Absent: this proxy is the pod's only one and installs and removes the rules itself.
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
  /** Where this pod's sockets are made. */
  private readonly target: NetnsTarget;
  /** New connections wait here (up to 5 s) until the pod's workload is in the state. */
  private readonly gate: LocalWorkloadGate;

  constructor(private readonly inputs: PodProxyInputs) {
    const { config, native, netns } = inputs;
    this.target = inputs.netnsFd !== undefined ? { fd: inputs.netnsFd, name: inputs.uid } : netns;
    this.sockets = new NetnsSocketFactory({ native, netns: this.target, mark: PACKET_MARK, timeoutMs: config.connectTimeoutMs });
    this.rules = inputs.sharedCapture ? undefined : new PodRules(netns, config, inputs.logger);
    const local = inputs.workload ? new NamedPodView(inputs.state, config.nodeName, inputs.workload) : new PodView(inputs.state, inputs.uid);
    this.gate = new LocalWorkloadGate({ view: local, state: inputs.state, syncState: inputs.syncState });
    this.instance = new ProxyInstance({
      ...inputs,
      local,
      sockets: this.sockets,
      // The pod's namespace holds only this proxy's listeners (wildcard-bound below), not the
      // agent's admin/stats/readiness: an app in the pod may serve 15000/15020/15021 itself.
      // The config is frozen: the list is made once, not per connection.
      ownListeners: new OwnListeners({ listeners: ((l) => () => l)(proxyListeners(config, '::')), localAddresses: () => local.all().flatMap((w) => w.workloadIps) }),
      originalDst: (socket) => originalDstOf(native, socket),
    });
  }

  get netns(): string {
    return this.inputs.netns;
  }

  /** Rules first (unless shared), then listeners; on failure everything done so far is undone. */
  async start(): Promise<void> {
    const { config, native, logger } = this.inputs;
    const netns = this.target;
    const ports = config.ports;
    const reusePort = this.inputs.sharedCapture !== undefined;
    try {
      const families = this.rules ? await this.rules.install() : this.inputs.sharedCapture?.families ?? ['v4'];
      // Where IPv6 is on, the rules redirect IPv6 TCP too: the listeners must be dual-stack ('::'
      // takes both families; IPv4 peers appear as ::ffff:a.b.c.d and are normalised), or every
      // IPv6 connection of the pod would be redirected to a port nobody listens on.
      const host = families.includes('v6') ? '::' : '0.0.0.0';
      const specs: Array<{ name: string; port: number; transparent: boolean; on: (s: Socket) => void }> = [
        { name: 'outbound', port: ports.outbound, transparent: true, on: (s) => this.gate.admit(s, (x) => this.instance.onOutboundSocket(x)) },
        { name: 'inbound-plaintext', port: ports.inboundPlaintext, transparent: true, on: (s) => this.gate.admit(s, (x) => this.instance.onPlaintextSocket(x)) },
        { name: 'hbone', port: ports.hbone, transparent: false, on: (s) => this.gate.admit(s, (x) => this.instance.onHboneSocket(x)) },
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
    // Not yet handed to the instance: nothing of them to drain.
    this.gate.destroy();
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
    this.gate.destroy();
    this.instance.destroy();
    // After the instance: nothing can take from the pool any more (a late connect falls back to
    // unpooled sockets). Left open, the pooled fds would keep the deleted netns alive.
    this.sockets.close();
    await this.rules?.remove();
  }
}
