// The host proxy: listeners 15001/15080 on the bind address and 15008/15006 on the bind address or
// per local workload IP, all in the agent's own network namespace, feeding one ProxyInstance.
// Workloads that have their own in-pod proxy are excluded from its view.

import type { AddressInfo, Server, Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { CertSource } from '../identity/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import type { ProxyState, Workload } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload } from '../tls/index.js';
import { ConnectionManager } from './connection-manager.js';
import { Listener } from './listener.js';
import { LocalWorkloads } from './local-workloads.js';
import type { SocketAddr } from './outbound-route.js';
import { hostInterfaceAddresses, OwnListeners, proxyListeners, serverListeners, type OwnListener, type ServerAddresses } from './own-listeners.js';
import { ProxyInstance, type OriginalDstResolver } from './proxy-instance.js';
import { HostSocketFactory } from './socket-factory.js';

export interface NodeProxyInputs {
  readonly config: Config;
  readonly state: ProxyState;
  readonly certs: CertSource;
  readonly metrics: TrafficMetrics;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly accessLog: Logger;
  /** Shared with in-pod proxies so a policy change re-checks every connection of the node. */
  readonly connections?: ConnectionManager;
  readonly originalDst?: OriginalDstResolver;
  /** Workloads served by an in-pod proxy instead (their own listeners in their own netns). */
  readonly exclude?: (w: Workload) => boolean;
  /**
   * Bound addresses of the agent's admin / stats / readiness servers (same namespace as this
   * proxy), read at each check; without it the configured ports are used (a port 0 is then unknown).
   */
  readonly servers?: () => ServerAddresses;
  /**
   * Opens a listening server on host:port instead of binding one here: worker threads open theirs
   * with SO_REUSEPORT, so every worker listens on the same ports and the kernel spreads connections.
   */
  readonly openListener?: (host: string, port: number) => Promise<Server>;
  /** See ProxyInstanceInputs.syncState. */
  readonly syncState?: () => void;
}

export interface ProxyAddresses {
  readonly outbound: AddressInfo | undefined;
  readonly socks5: AddressInfo | undefined;
  readonly hbone: AddressInfo[];
  readonly inboundPlaintext: AddressInfo[];
}

export class NodeProxy {
  readonly local: LocalWorkloads;
  readonly connections: ConnectionManager;
  private readonly instance: ProxyInstance;
  private readonly fixed: Listener[] = [];
  /** Inbound listeners keyed by bind IP (one per local workload IP in `workloads` bind mode). */
  private readonly inboundByIp = new Map<string, Listener[]>();
  private unsubscribe: (() => void) | undefined;
  private closing = false;

  constructor(private readonly inputs: NodeProxyInputs) {
    const { config, state, logger } = inputs;
    this.local = new LocalWorkloads(state, config, inputs.exclude);
    this.connections = inputs.connections ?? new ConnectionManager(logger.child({ component: 'connection-manager' }));
    this.instance = new ProxyInstance({
      ...inputs,
      connections: this.connections,
      local: this.local,
      sockets: new HostSocketFactory(config.connectTimeoutMs),
      ownListeners: new OwnListeners({ listeners: () => this.ownListeners(), localAddresses: hostInterfaceAddresses }),
    });
  }

  /**
   * Everything of the agent listening in this namespace: the proxy ports as configured on the bind
   * address (in `workloads` mode a superset), the listeners as actually bound (ports chosen by the
   * OS included), and the admin, stats and readiness servers.
   */
  private ownListeners(): OwnListener[] {
    const { config } = this.inputs;
    const bound = this.listeners().flatMap((l) => (l.address ? [{ name: l.name, host: l.address.address, port: l.address.port }] : []));
    return [...proxyListeners(config, config.bindAddress), ...bound, ...serverListeners(config, this.inputs.servers?.())];
  }

  /** The `open` of a Listener on host:port: openListener's when given, else Listener's own bind. */
  private opener(host: string, port: number): (() => Promise<Server>) | undefined {
    const open = this.inputs.openListener;
    return open ? () => open(host, port) : undefined;
  }

  async start(): Promise<void> {
    const { config, logger } = this.inputs;
    const host = config.bindAddress;
    const { outbound, socks5 } = config.ports;
    this.fixed.push(new Listener({ name: 'outbound', host, port: outbound, logger, open: this.opener(host, outbound), onConnection: (s) => this.instance.onOutboundSocket(s) }));
    if (config.socks5Enabled) {
      this.fixed.push(new Listener({ name: 'socks5', host, port: socks5, logger, open: this.opener(host, socks5), onConnection: (s) => this.instance.onSocksSocket(s) }));
    }
    for (const l of this.fixed) await l.start();
    await this.reconcileInbound();
    this.unsubscribe = this.inputs.state.onChange((change) => {
      if (change.policiesChanged || change.workloadsChanged) this.connections.recheck(this.inputs.state);
      if (change.workloadsChanged) {
        this.reconcileInbound().catch((err: unknown) => logger.error({ err }, 'failed to update inbound listeners'));
        this.prefetchCerts();
      }
    });
    this.prefetchCerts();
  }

  /** Warm certificates of local HBONE workloads, as ztunnel prefetches on workload arrival. */
  private prefetchCerts(): void {
    for (const wl of this.local.all()) {
      if (wl.protocol === 'HBONE' || wl.nativeTunnel) this.inputs.certs.prefetch(formatSpiffeId(identityFromWorkload(wl)));
    }
  }

  /** Binds / unbinds inbound listeners so that they follow the local workloads. */
  private async reconcileInbound(): Promise<void> {
    if (this.closing) return;
    const { config, logger } = this.inputs;
    const wanted = config.inboundBind === 'any' ? [config.bindAddress] : [...new Set(this.local.all().flatMap((w) => w.workloadIps))];
    for (const [ip, ls] of this.inboundByIp) {
      if (!wanted.includes(ip)) {
        this.inboundByIp.delete(ip);
        for (const l of ls) l.destroy();
      }
    }
    for (const ip of wanted) {
      if (this.inboundByIp.has(ip)) continue;
      const { hbone, inboundPlaintext } = config.ports;
      const ls = [
        new Listener({ name: `hbone ${ip}`, host: ip, port: hbone, logger, open: this.opener(ip, hbone), onConnection: (s) => this.instance.onHboneSocket(s) }),
        new Listener({
          name: `inbound-plaintext ${ip}`,
          host: ip,
          port: inboundPlaintext,
          logger,
          open: this.opener(ip, inboundPlaintext),
          onConnection: (s) => this.instance.onPlaintextSocket(s),
        }),
      ];
      this.inboundByIp.set(ip, ls);
      for (const l of ls) {
        try {
          await l.start();
        } catch (err) {
          if (config.inboundBind === 'any') throw err;
          logger.error({ err: (err as Error).message }, 'cannot bind inbound listener for a local workload');
        }
      }
    }
  }

  /** Inbound plaintext with an explicit original destination (the capture seam; tests use it). */
  handlePlaintext(socket: Socket, dst: SocketAddr): Promise<void> {
    return this.instance.handlePlaintext(socket, dst);
  }

  /** Outbound with an explicit original destination (the capture seam 15001 is fed through). */
  handleOutbound(socket: Socket, dst: SocketAddr): Promise<void> {
    return this.instance.handleOutbound(socket, dst);
  }

  addresses(): ProxyAddresses {
    const inbound = [...this.inboundByIp.values()];
    return {
      outbound: this.fixed.find((l) => l.name === 'outbound')?.address,
      socks5: this.fixed.find((l) => l.name === 'socks5')?.address,
      hbone: inbound.map((ls) => ls[0]?.address).filter((a): a is AddressInfo => !!a),
      inboundPlaintext: inbound.map((ls) => ls[1]?.address).filter((a): a is AddressInfo => !!a),
    };
  }

  get activeConnections(): number {
    return this.instance.activeConnections;
  }

  /** HBONE sessions and streams of the host proxy, inbound (server) and outbound (pool). */
  hboneStats(): ReturnType<ProxyInstance['stats']> {
    return this.instance.stats();
  }

  private listeners(): Listener[] {
    return [...this.fixed, ...[...this.inboundByIp.values()].flat()];
  }

  /** Graceful drain: stop accepting, GOAWAY, wait for connections up to `deadlineMs`, then cut. */
  async close(deadlineMs = this.inputs.config.drainDeadlineMs): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    for (const l of this.listeners()) l.close();
    const outcome = await this.instance.drain(deadlineMs);
    if (outcome === 'deadline') this.inputs.logger.warn({ remaining: this.instance.activeConnections }, 'drain deadline reached; closing remaining connections');
    this.destroy();
  }

  destroy(): void {
    this.closing = true;
    this.unsubscribe?.();
    for (const l of this.listeners()) l.destroy();
    for (const c of this.connections.all()) c.close(new MeshError('DRAINING', 'proxy shutting down'));
    this.instance.destroy();
  }
}
