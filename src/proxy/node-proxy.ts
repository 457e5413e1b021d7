// The node agent's data plane: owns the listeners (15001, 15080, 15006, 15008), the HBONE server
// and pool, and routes accepted sockets to the outbound / inbound handlers. Follows state changes.

import type { AddressInfo, Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SecureContext } from 'node:tls';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import { HbonePool, HboneServer } from '../hbone/index.js';
import type { CertManager } from '../identity/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import type { ProxyState } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload, serverSecureContext, serverSocketOptions, verifyClientPeer } from '../tls/index.js';
import { ConnectionManager } from './connection-manager.js';
import { InboundHandler } from './inbound.js';
import { InboundPassthroughHandler } from './inbound-passthrough.js';
import { Listener } from './listener.js';
import { LocalWorkloads } from './local-workloads.js';
import { OutboundHandler } from './outbound.js';
import type { SocketAddr } from './outbound-route.js';
import { acceptSocks5, SOCKS_REPLY, writeSocksReply, type Socks5Target } from './socks5.js';
import { localAddrOf } from './socket-addr.js';

/** Reads a redirected connection's original destination (SO_ORIGINAL_DST); the capture seam. */
export type OriginalDstResolver = (socket: Socket) => SocketAddr | undefined;

export interface NodeProxyInputs {
  readonly config: Config;
  readonly state: ProxyState;
  readonly certs: CertManager;
  readonly metrics: TrafficMetrics;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly accessLog: Logger;
  /** Undefined until transparent capture exists: the local address is used (TPROXY semantics). */
  readonly originalDst?: OriginalDstResolver;
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
  private readonly pool: HbonePool;
  private readonly hboneServer: HboneServer;
  private readonly outbound: OutboundHandler;
  private readonly inbound: InboundHandler;
  private readonly passthrough: InboundPassthroughHandler;
  private readonly fixed: Listener[] = [];
  /** Inbound listeners keyed by bind IP (one per local workload IP in `workloads` bind mode). */
  private readonly inboundByIp = new Map<string, Listener[]>();
  private readonly active = new Set<Promise<void>>();
  private readonly contexts = new Map<string, { serial: string; ctx: SecureContext }>();
  private unsubscribe: (() => void) | undefined;
  private closing = false;

  constructor(private readonly inputs: NodeProxyInputs) {
    const { config, state, logger } = inputs;
    this.local = new LocalWorkloads(state, config);
    this.connections = new ConnectionManager(logger.child({ component: 'connection-manager' }));
    this.pool = new HbonePool({ http2: config.http2, pool: config.pool, connectTimeoutMs: config.connectTimeoutMs, logger: logger.child({ component: 'pool' }) });
    const common = { config, state, local: this.local, metrics: inputs.metrics, errors: inputs.errors, accessLog: inputs.accessLog };
    this.outbound = new OutboundHandler({ ...common, certs: inputs.certs, pool: this.pool, logger: logger.child({ component: 'outbound' }) });
    this.inbound = new InboundHandler({ ...common, connections: this.connections, logger: logger.child({ component: 'inbound' }) });
    this.passthrough = new InboundPassthroughHandler({ ...common, connections: this.connections, logger: logger.child({ component: 'inbound-passthrough' }) });
    this.hboneServer = new HboneServer({
      http2: config.http2,
      logger: logger.child({ component: 'hbone-server' }),
      secureContextFor: (ip) => this.secureContextFor(ip),
      tlsOptions: (ctx) => serverSocketOptions(ctx),
      verifyPeer: (socket) => {
        const own = this.local.byIp(localAddrOf(socket).ip) ?? this.local.sole();
        return formatSpiffeId(verifyClientPeer(socket, own?.trustDomain ?? config.trustDomain));
      },
      onConnect: (req) => this.track(Promise.resolve(this.inbound.handle(req))),
      onError: (err, phase) => inputs.errors.inc('hbone_server', `${phase}:${(err as MeshError).code ?? 'ERROR'}`),
    });
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.active.delete(tracked));
    this.active.add(tracked);
  }

  /** The server certificate for a connection arriving on `localIp`: that workload's identity. */
  private async secureContextFor(localIp: string): Promise<SecureContext> {
    const wl = this.local.byIp(localIp) ?? this.local.sole();
    if (!wl) throw new MeshError('UNKNOWN_WORKLOAD', `no local workload for ${localIp}; cannot choose a server certificate`);
    const id = formatSpiffeId(identityFromWorkload(wl));
    const cert = await this.inputs.certs.fetch(id, 'realtime');
    const hit = this.contexts.get(id);
    if (hit && hit.serial === cert.serialNumber) return hit.ctx;
    const ctx = serverSecureContext(cert);
    this.contexts.set(id, { serial: cert.serialNumber, ctx });
    return ctx;
  }

  async start(): Promise<void> {
    const { config, logger } = this.inputs;
    const host = config.bindAddress;
    this.fixed.push(
      new Listener({ name: 'outbound', host, port: config.ports.outbound, logger, onConnection: (s) => this.onOutbound(s) }),
    );
    if (config.socks5Enabled) {
      this.fixed.push(new Listener({ name: 'socks5', host, port: config.ports.socks5, logger, onConnection: (s) => this.onSocks(s) }));
    }
    for (const l of this.fixed) await l.start();
    await this.reconcileInbound();
    this.unsubscribe = this.inputs.state.onChange((change) => {
      if (change.policiesChanged || change.workloadsChanged) this.connections.recheck(this.inputs.state);
      if (change.workloadsChanged) {
        this.reconcileInbound().catch((err: unknown) => logger.error({ err }, 'failed to update inbound listeners'));
      }
      for (const wl of this.local.all()) {
        if (wl.protocol === 'HBONE' || wl.nativeTunnel) this.inputs.certs.prefetch(formatSpiffeId(identityFromWorkload(wl)));
      }
    });
    for (const wl of this.local.all()) this.inputs.certs.prefetch(formatSpiffeId(identityFromWorkload(wl)));
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
      const ls = [
        new Listener({ name: `hbone ${ip}`, host: ip, port: config.ports.hbone, logger, onConnection: (s) => this.hboneServer.handleSocket(s) }),
        new Listener({ name: `inbound-plaintext ${ip}`, host: ip, port: config.ports.inboundPlaintext, logger, onConnection: (s) => this.onPlaintext(s) }),
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

  private destinationOf(socket: Socket): SocketAddr {
    return this.inputs.originalDst?.(socket) ?? localAddrOf(socket);
  }

  // Accepted sockets stay paused until the copy attaches its readers: no byte is read unowned.
  private onOutbound(socket: Socket): void {
    this.track(this.outbound.handle(socket, this.destinationOf(socket)));
  }

  private onPlaintext(socket: Socket): void {
    this.track(this.passthrough.handle(socket, this.destinationOf(socket)));
  }

  /** Inbound plaintext with an explicit original destination (the capture seam; tests use it). */
  handlePlaintext(socket: Socket, dst: SocketAddr): Promise<void> {
    const p = this.passthrough.handle(socket, dst);
    this.track(p);
    return p;
  }

  /** Outbound with an explicit original destination (the capture seam 15001 is fed through). */
  handleOutbound(socket: Socket, dst: SocketAddr): Promise<void> {
    const p = this.outbound.handle(socket, dst);
    this.track(p);
    return p;
  }

  private onSocks(socket: Socket): void {
    const run = async (): Promise<void> => {
      let target: Socks5Target;
      try {
        target = await acceptSocks5(socket);
      } catch (err) {
        this.inputs.errors.inc('socks5', (err as MeshError).code ?? 'SOCKS_PROTOCOL');
        this.inputs.logger.debug({ err: (err as Error).message }, 'socks5 handshake failed');
        socket.destroy();
        return;
      }
      const dst = await this.resolveSocksTarget(target);
      if (!dst) {
        writeSocksReply(socket, SOCKS_REPLY.hostUnreachable);
        socket.end();
        return;
      }
      await this.outbound.handle(socket, dst, {
        established: () => writeSocksReply(socket, SOCKS_REPLY.succeeded),
        failed: (err) =>
          writeSocksReply(socket, err.flag === 'DENY' || err.status === 401 ? SOCKS_REPLY.notAllowed : SOCKS_REPLY.hostUnreachable),
      });
    };
    this.track(run());
  }

  /** Domain names: mesh service hostnames map to their VIP, workload hostnames to their IP; else DNS. */
  private async resolveSocksTarget(t: Socks5Target): Promise<SocketAddr | undefined> {
    if (t.kind === 'ip') return { ip: t.ip, port: t.port };
    if (isIP(t.host)) return { ip: t.host, port: t.port };
    const svc = this.inputs.state.serviceByHostname(t.host);
    const vip = svc?.vips.find((v) => v.network === this.inputs.config.network) ?? svc?.vips[0];
    if (vip) return { ip: vip.ip, port: t.port };
    try {
      const { address } = await lookup(t.host);
      return { ip: address, port: t.port };
    } catch {
      return undefined;
    }
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
    return this.active.size;
  }

  /** Graceful drain: stop accepting, GOAWAY, wait for connections up to `deadlineMs`, then cut. */
  async close(deadlineMs = this.inputs.config.drainDeadlineMs): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    const all = [...this.fixed, ...[...this.inboundByIp.values()].flat()];
    for (const l of all) l.close();
    const serverDrained = this.hboneServer.close(deadlineMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), deadlineMs)));
    const outcome = await Promise.race([Promise.allSettled([...this.active]).then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') this.inputs.logger.warn({ remaining: this.active.size }, 'drain deadline reached; closing remaining connections');
    await serverDrained.catch(() => undefined);
    this.destroy();
  }

  destroy(): void {
    this.closing = true;
    this.unsubscribe?.();
    for (const l of [...this.fixed, ...[...this.inboundByIp.values()].flat()]) l.destroy();
    for (const c of this.connections.all()) c.close(new MeshError('DRAINING', 'proxy shutting down'));
    this.hboneServer.destroy();
    this.pool.destroy();
  }
}
