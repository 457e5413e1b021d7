// One proxy instance: the outbound / inbound / plaintext / SOCKS5 handlers, an HBONE server and an
// HBONE pool for a set of local workloads and one socket factory. Listeners belong to the caller:
// the host proxy binds them in the agent's namespace, an in-pod proxy inside the pod's namespace.

import type { Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SecureContext } from 'node:tls';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import { HbonePool, HboneServer, type HbonePoolStats, type HboneServerStats } from '../hbone/index.js';
import type { CertSource } from '../identity/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import type { ProxyState } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload, serverSecureContext, serverSocketOptions, verifyClientPeer } from '../tls/index.js';
import type { ConnectionManager } from './connection-manager.js';
import { InboundHandler } from './inbound.js';
import { InboundPassthroughHandler } from './inbound-passthrough.js';
import type { LocalView } from './local-workloads.js';
import { OutboundHandler } from './outbound.js';
import type { SocketAddr } from './outbound-route.js';
import type { OwnListeners } from './own-listeners.js';
import type { SocketFactory } from './socket-factory.js';
import { socksReplyFor } from './socks-reply.js';
import { acceptSocks5, closeRefusedSocks, SOCKS_REPLY, writeSocksReply, type Socks5Target } from './socks5.js';
import { localAddrOf } from './socket-addr.js';

/** Reads a redirected connection's original destination (SO_ORIGINAL_DST); the capture seam. */
export type OriginalDstResolver = (socket: Socket) => SocketAddr | undefined;

export interface ProxyInstanceInputs {
  readonly config: Config;
  readonly state: ProxyState;
  readonly certs: CertSource;
  readonly metrics: TrafficMetrics;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly accessLog: Logger;
  readonly connections: ConnectionManager;
  readonly local: LocalView;
  readonly sockets: SocketFactory;
  /**
   * Destinations refused on every path (SELF_CALL): the host proxy passes all of the agent's
   * listeners, an in-pod proxy only those in the pod's namespace (its proxy ports).
   */
  readonly ownListeners: OwnListeners;
  /** Undefined without transparent capture: the local address is used (TPROXY semantics). */
  readonly originalDst?: OriginalDstResolver;
  /**
   * Called before a new connection, TLS handshake or CONNECT stream reads the state. In a worker
   * thread it applies the main thread's latest snapshot first, so whatever main applied before a
   * connection arrived is what that connection is checked against, on every worker.
   */
  readonly syncState?: () => void;
}

export class ProxyInstance {
  private readonly pool: HbonePool;
  private readonly hboneServer: HboneServer;
  private readonly outbound: OutboundHandler;
  private readonly inbound: InboundHandler;
  private readonly passthrough: InboundPassthroughHandler;
  private readonly active = new Set<Promise<void>>();
  private readonly contexts = new Map<string, { serial: string; ctx: SecureContext }>();
  private readonly syncState: () => void;

  constructor(private readonly inputs: ProxyInstanceInputs) {
    this.syncState = inputs.syncState ?? (() => undefined);
    const { config, state, logger, local, sockets } = inputs;
    this.pool = new HbonePool({
      http2: config.http2,
      pool: config.pool,
      connectTimeoutMs: config.connectTimeoutMs,
      logger: logger.child({ component: 'pool' }),
      connectTcp: (target, localAddress) => sockets.connect(target, { localAddress }),
    });
    const common = { config, state, local, metrics: inputs.metrics, errors: inputs.errors, accessLog: inputs.accessLog, sockets, ownListeners: inputs.ownListeners };
    this.outbound = new OutboundHandler({ ...common, certs: inputs.certs, pool: this.pool, connections: inputs.connections, logger: logger.child({ component: 'outbound' }) });
    this.inbound = new InboundHandler({ ...common, connections: inputs.connections, logger: logger.child({ component: 'inbound' }) });
    this.passthrough = new InboundPassthroughHandler({ ...common, connections: inputs.connections, logger: logger.child({ component: 'inbound-passthrough' }) });
    this.hboneServer = new HboneServer({
      http2: config.http2,
      logger: logger.child({ component: 'hbone-server' }),
      secureContextFor: (ip) => this.secureContextFor(ip),
      tlsOptions: (ctx) => serverSocketOptions(ctx),
      verifyPeer: (socket) => {
        const own = local.byIp(localAddrOf(socket).ip) ?? local.sole();
        return formatSpiffeId(verifyClientPeer(socket, own?.trustDomain ?? config.trustDomain));
      },
      onConnect: (req) => {
        this.syncState();
        return this.track(Promise.resolve(this.inbound.handle(req)));
      },
      onError: (err, phase) => inputs.errors.inc('hbone_server', `${phase}:${(err as MeshError).code ?? 'ERROR'}`),
    });
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.finally(() => this.active.delete(tracked));
    this.active.add(tracked);
    return tracked;
  }

  /** The server certificate for a connection arriving on `localIp`: that workload's identity. */
  private async secureContextFor(localIp: string): Promise<SecureContext> {
    const wl = this.inputs.local.byIp(localIp) ?? this.inputs.local.sole();
    if (!wl) throw new MeshError('UNKNOWN_WORKLOAD', `no local workload for ${localIp}; cannot choose a server certificate`);
    const id = formatSpiffeId(identityFromWorkload(wl));
    const cert = await this.inputs.certs.fetch(id, 'realtime');
    const hit = this.contexts.get(id);
    if (hit && hit.serial === cert.serialNumber) return hit.ctx;
    const ctx = serverSecureContext(cert);
    this.contexts.set(id, { serial: cert.serialNumber, ctx });
    return ctx;
  }

  private destinationOf(socket: Socket): SocketAddr {
    return this.inputs.originalDst?.(socket) ?? localAddrOf(socket);
  }

  // Accepted sockets stay paused until the copy attaches its readers: no byte is read unowned.
  onOutboundSocket(socket: Socket): void {
    void this.handleOutbound(socket, this.destinationOf(socket));
  }

  onPlaintextSocket(socket: Socket): void {
    void this.handlePlaintext(socket, this.destinationOf(socket));
  }

  onHboneSocket(socket: Socket): void {
    // The handshake picks the server certificate from the local workloads.
    this.syncState();
    this.hboneServer.handleSocket(socket);
  }

  /** Outbound with an explicit original destination (the capture seam 15001 is fed through). */
  handleOutbound(socket: Socket, dst: SocketAddr): Promise<void> {
    this.syncState();
    return this.track(this.outbound.handle(socket, dst));
  }

  /** Inbound plaintext with an explicit original destination (the capture seam; tests use it). */
  handlePlaintext(socket: Socket, dst: SocketAddr): Promise<void> {
    this.syncState();
    return this.track(this.passthrough.handle(socket, dst));
  }

  onSocksSocket(socket: Socket): void {
    const run = async (): Promise<void> => {
      let target: Socks5Target;
      try {
        target = await acceptSocks5(socket);
      } catch (err) {
        this.inputs.errors.inc('socks5', (err as MeshError).code ?? 'SOCKS_PROTOCOL');
        this.inputs.logger.debug({ err: (err as Error).message }, 'socks5 handshake failed');
        // Not destroy(): the refusal acceptSocks5 queued (0xFF, 0x01, 0x07, 0x08) must reach the client.
        closeRefusedSocks(socket);
        return;
      }
      // The handshake took round trips: the state is read from here on.
      this.syncState();
      const dst = await this.resolveSocksTarget(target);
      if (!dst) {
        writeSocksReply(socket, SOCKS_REPLY.hostUnreachable);
        socket.end();
        return;
      }
      this.syncState();
      await this.outbound.handle(socket, dst, {
        established: () => writeSocksReply(socket, SOCKS_REPLY.succeeded),
        failed: (err) => writeSocksReply(socket, socksReplyFor(err)),
      });
    };
    void this.track(run());
  }

  /**
   * Domain names: mesh service hostnames map to their VIP; anything else goes to system DNS. The
   * result is only a destination: own-listener checks run on it in the outbound handler, so a
   * name like `localhost` is refused like the address it resolves to.
   */
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

  get activeConnections(): number {
    return this.active.size;
  }

  /** HBONE sessions and streams, inbound (server) and outbound (pool). */
  stats(): { readonly server: HboneServerStats; readonly pool: HbonePoolStats } {
    return { server: this.hboneServer.stats(), pool: this.pool.stats() };
  }

  /**
   * GOAWAY to HBONE peers, then wait for in-flight connections until the deadline. Settles by
   * the deadline whatever peers do; the caller then destroys what is left.
   */
  async drain(deadlineMs: number): Promise<'drained' | 'deadline'> {
    const serverDrained = this.hboneServer.close(deadlineMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), deadlineMs)));
    const outcome = await Promise.race([Promise.allSettled([...this.active]).then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    await serverDrained.catch(() => undefined);
    return outcome;
  }

  destroy(): void {
    this.hboneServer.destroy();
    this.pool.destroy();
  }
}
