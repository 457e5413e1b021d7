// WaypointProxy: the waypoint's data path. Terminates HBONE (mTLS as the waypoint, peer = the
// source workload), serves each CONNECT to a Service VIP:port it owns as HTTP (routes, filters,
// retries, timeouts, mirrors) or TCP, and reaches endpoints over HBONE as itself (Istio ambient).

import * as net from 'node:net';
import type { SecureContext } from 'node:tls';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Http2Config, PoolConfig } from '../config/types.js';
import { HbonePool, HboneServer, parseAuthority, respondError, type HboneInboundRequest } from '../hbone/index.js';
import type { CertSource } from '../identity/index.js';
import { createRegistry, type Registry } from '../metrics/index.js';
import type { ProxyState, Service } from '../state/index.js';
import { formatSpiffeId, serverSecureContext, serverSocketOptions, verifyClientPeer } from '../tls/index.js';
import { BadRequestCounter } from './bad-request-counter.js';
import { ClusterManager } from './cluster-manager.js';
import { CompiledConfig } from './compiled-config.js';
import { HttpTunnels } from './http-tunnels.js';
import { clusterEndpoints, LoadBalancer } from './load-balancer.js';
import type { LocalitySelf } from './locality.js';
import type { WaypointConfig } from './model/route-model.js';
import type { ForwarderInputs } from './request-forwarder.js';
import type { TunnelContext } from './request-handler.js';
import { sourceIpOf, WaypointSecurity, type WaypointSecurityOptions } from './security/index.js';
import { pickWeighted } from './routing/index.js';
import { relay } from './tcp-relay.js';
import type { WaypointTelemetry } from './telemetry/index.js';
import { UpstreamClients } from './upstream-clients.js';
import { UpstreamMetrics } from './upstream-metrics.js';
import { usesWaypoint } from './waypoint-binding.js';

/** Istio's HBONE port, dialled on endpoints (ztunnel listens there). */
export const HBONE_PORT = 15008;

export interface WaypointProxyInputs {
  readonly listen: { readonly ip: string; readonly port: number };
  /** The waypoint's SPIFFE id (its service account). */
  readonly identity: string;
  readonly trustDomain: string;
  readonly certs: CertSource;
  readonly state: ProxyState;
  readonly http2: Http2Config;
  readonly pool: PoolConfig;
  readonly connectTimeoutMs: number;
  readonly telemetry: WaypointTelemetry;
  readonly logger: Logger;
  readonly random?: () => number;
  /** The waypoint's network (the state's network of VIPs and endpoints); default ''. */
  readonly network?: string;
  /** Port endpoints accept HBONE on; default 15008 (tests point it elsewhere). */
  readonly hbonePort?: number;
  /**
   * Registry for the waypoint's own metrics: L7 security (ambit_waypoint_authz_*, _jwt_*, _jwks_*)
   * upstream policies (circuit breakers, outlier detection, connections) and malformed input
   * (ambit_waypoint_bad_requests_total); default private.
   */
  readonly registry?: Registry;
  /** JWKS refresh/retry timing and the JWT clock (tests); defaults as Istio. */
  readonly security?: Pick<WaypointSecurityOptions, 'jwks' | 'now'>;
  /**
   * The waypoint's own locality and topology labels (its pod's, as Istio's proxy locality and
   * labels) for locality-aware load balancing; undefined ⇒ none applies.
   */
  readonly self?: () => LocalitySelf | undefined;
}

export class WaypointProxy {
  private readonly server: HboneServer;
  private readonly pool: HbonePool;
  private readonly clients: UpstreamClients;
  private readonly lb: LoadBalancer;
  private readonly upstream: ClusterManager;
  private readonly tunnels: HttpTunnels;
  private readonly listener: net.Server;
  private readonly network: string;
  private readonly tcpRelays = new Set<Promise<void>>();
  private readonly security: WaypointSecurity;
  private config = CompiledConfig.empty();
  private context: { serial: string; ctx: SecureContext } | undefined;
  private draining = false;
  private bound: { ip: string; port: number } | undefined;

  constructor(private readonly inputs: WaypointProxyInputs) {
    const random = inputs.random ?? Math.random;
    this.network = inputs.network ?? '';
    // Upstream policies: the LB consults the cluster manager's ejections; the pools its breakers.
    const metrics = new UpstreamMetrics(inputs.registry ?? createRegistry({ processMetrics: false, buildInfo: false }), { clusters: () => this.upstream.gauges() });
    this.lb = new LoadBalancer(random, { health: { ejected: (c, k) => this.upstream.ejected(c, k) }, self: inputs.self });
    this.upstream = new ClusterManager({ state: inputs.state, network: this.network, lb: this.lb, logger: inputs.logger, metrics });
    this.security = new WaypointSecurity({ logger: inputs.logger.child({ component: 'waypoint-security' }), registry: inputs.registry, ...inputs.security });
    this.pool = new HbonePool({ http2: inputs.http2, pool: inputs.pool, connectTimeoutMs: inputs.connectTimeoutMs, logger: inputs.logger.child({ component: 'waypoint-pool' }) });
    this.clients = new UpstreamClients({
      pool: this.pool, certs: inputs.certs, identity: inputs.identity, hbonePort: inputs.hbonePort ?? HBONE_PORT,
      connectTimeoutMs: inputs.connectTimeoutMs, logger: inputs.logger,
      breaker: (c) => this.upstream.breaker(c),
      events: { opened: (c) => metrics.connectionOpened(c), connectFailed: (c) => metrics.connectFailed(c), closed: (c, r) => metrics.connectionClosed(c, r) },
    });
    this.upstream.attachClients(this.clients);
    const forwarder: ForwarderInputs = { state: inputs.state, network: this.network, lb: this.lb, clients: this.clients, random, upstream: this.upstream };
    this.tunnels = new HttpTunnels({
      config: () => this.config,
      telemetry: inputs.telemetry,
      forwarder,
      random,
      draining: () => this.draining,
      logger: inputs.logger,
      security: this.security,
      upgrade: { open: (ep, ctx) => this.clients.open(ep, ctx) },
      badRequests: new BadRequestCounter(inputs.registry),
    });
    this.server = new HboneServer({
      http2: inputs.http2,
      logger: inputs.logger.child({ component: 'waypoint-hbone' }),
      secureContextFor: () => this.secureContext(),
      tlsOptions: (ctx) => serverSocketOptions(ctx),
      // The peer is the source workload (its node agent presents the workload's certificate).
      verifyPeer: (socket) => formatSpiffeId(verifyClientPeer(socket, inputs.trustDomain)),
      onConnect: (req) => this.onConnect(req),
    });
    this.listener = net.createServer({ pauseOnConnect: true }, (s) => this.server.handleSocket(s));
  }

  private async secureContext(): Promise<SecureContext> {
    const cert = await this.inputs.certs.fetch(this.inputs.identity, 'realtime');
    if (this.context?.serial === cert.serialNumber) return this.context.ctx;
    const ctx = serverSecureContext(cert);
    this.context = { serial: cert.serialNumber, ctx };
    return ctx;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(this.inputs.listen.port, this.inputs.listen.ip, () => {
        this.listener.off('error', reject);
        resolve();
      });
    });
    const a = this.listener.address() as net.AddressInfo;
    this.bound = { ip: a.address, port: a.port };
    this.security.start();
    this.upstream.start();
    this.inputs.logger.info({ addr: `${a.address}:${a.port}`, identity: this.inputs.identity }, 'waypoint listening');
  }

  address(): { ip: string; port: number } {
    if (!this.bound) throw new MeshError('INTERNAL', 'waypoint proxy not started');
    return this.bound;
  }

  /** Atomic swap: compiled here once; requests already routing keep the config they started with. */
  setConfig(config: WaypointConfig): void {
    const compiled = new CompiledConfig(config);
    this.security.setConfig(config.security);
    this.config = compiled;
    this.upstream.setConfig(config.clusters);
  }

  /** CONNECT target → the Service served here (by VIP, or by pod IP for an endpoint of one). */
  private resolveTarget(req: HboneInboundRequest): { service: Service; port: number; pinned?: string } | { status: number; reason: string } {
    const auth = parseAuthority(req.authority);
    if (!auth || auth.kind !== 'ip') return { status: 400, reason: `invalid :authority ${req.authority}` };
    const { state } = this.inputs;
    let service = state.serviceByVip(this.network, auth.ip);
    let port = auth.port;
    let pinned: string | undefined;
    if (!service) {
      // Pod-addressed traffic: the workload's service whose target port is the dialled port.
      const wl = state.workloadByIp(this.network, auth.ip);
      if (!wl) return { status: 404, reason: `${req.authority} is neither a service nor a workload` };
      // Only a workload bound to this waypoint (its own `waypoint`, not its services'): refused as
      // any target not served here.
      if (!usesWaypoint(state, wl, this.config.source.waypoint)) return { status: 404, reason: `workload ${wl.name} at ${req.authority} does not use this waypoint` };
      for (const svc of state.servicesOf(wl)) {
        if (!this.config.serves(svc.namespace, svc.hostname)) continue;
        for (const [sp, tp] of svc.ports) {
          const own = wl.services.get(`${svc.namespace}/${svc.hostname}`)?.get(sp);
          if ((own || tp || sp) === auth.port) {
            service = svc;
            port = sp;
          }
        }
      }
      if (!service) return { status: 404, reason: `workload ${wl.name} at ${req.authority} is not served by this waypoint` };
      // The service port only names the cluster and telemetry: the traffic stays with this pod.
      pinned = wl.uid;
    }
    if (!this.config.port(service.namespace, service.hostname, port)) {
      return { status: 404, reason: `${service.hostname}:${port} is not served by this waypoint` };
    }
    return pinned === undefined ? { service, port } : { service, port, pinned };
  }

  /** One CONNECT: whatever goes wrong serving it costs that stream only (never thrown to HboneServer). */
  private onConnect(req: HboneInboundRequest): void {
    try {
      this.serveConnect(req);
    } catch (err) {
      this.inputs.logger.error({ err, authority: req.authority }, 'waypoint: CONNECT handling failed');
      if (!req.stream.destroyed) req.stream.destroy();
    }
  }

  private serveConnect(req: HboneInboundRequest): void {
    if (this.draining) {
      respondError(req.stream, 503);
      return;
    }
    const target = this.resolveTarget(req);
    if ('status' in target) {
      this.inputs.logger.debug({ authority: req.authority, peer: req.peerIdentity, reason: target.reason }, 'waypoint: CONNECT refused');
      respondError(req.stream, target.status);
      return;
    }
    const compiled = this.config.port(target.service.namespace, target.service.hostname, target.port)!;
    const dialled = parseAuthority(req.authority) as { ip: string; port: number };
    const identityOf = (ip: string): string | undefined => {
      const wl = this.inputs.state.workloadByIp(this.network, ip);
      return wl && formatSpiffeId({ trustDomain: wl.trustDomain, namespace: wl.namespace, serviceAccount: wl.serviceAccount });
    };
    const fwd = req.headers['forwarded'];
    const ctx: TunnelContext = {
      security: {
        serviceKey: `${target.service.namespace}/${target.service.hostname}`,
        peerIdentity: req.peerIdentity,
        sourceIp: sourceIpOf(req.remoteAddress.ip, typeof fwd === 'string' ? fwd : undefined, req.peerIdentity, identityOf),
        destinationIp: dialled.ip,
        destinationPort: dialled.port,
      },
      service: target.service,
      servicePort: target.port,
      clientIp: req.remoteAddress.ip,
      clientPort: req.remoteAddress.port,
      peerIdentity: req.peerIdentity,
      clientWorkload: this.inputs.state.workloadByIp(this.network, req.remoteAddress.ip),
      ...(target.pinned !== undefined ? { pinnedWorkloadUid: target.pinned } : {}),
    };
    if (compiled.port.protocol === 'tcp') {
      // L4 authorization of the tunnel (AuthorizationPolicy targetRefs): a denial is 401, as ztunnel answers.
      const d = this.security.checkConnection(ctx.security!);
      if (!d.allowed) {
        this.inputs.logger.debug({ authority: req.authority, peer: req.peerIdentity, policy: d.policy, details: d.details }, 'waypoint: CONNECT denied by policy');
        respondError(req.stream, 401);
        return;
      }
    }
    if (compiled.port.protocol !== 'tcp') {
      req.stream.respond({ ':status': 200 });
      void this.tunnels.serve(req.stream, ctx);
      return;
    }
    const p = this.serveTcp(req, ctx, compiled.port.defaultCluster, compiled.port.tcpBackends);
    const safe = p.catch((err: unknown) => this.inputs.logger.error({ err }, 'waypoint: tcp relay failed'));
    this.tcpRelays.add(safe);
    void safe.finally(() => this.tcpRelays.delete(safe));
  }

  /**
   * TCP: the endpoint is connected before the 200, so a dead upstream is a failed CONNECT (as
   * ztunnel). Every relay, refused or not, is one istio_tcp_* record (reporter="waypoint") and one
   * `connection complete` line, as Envoy's tcp_proxy reports a waypoint's TCP ports.
   */
  private async serveTcp(req: HboneInboundRequest, ctx: TunnelContext, defaultCluster: string, backends: readonly { readonly cluster?: string; readonly weight: number }[] | undefined): Promise<void> {
    const cfg = this.config;
    // Pod-addressed: that pod, through the default cluster narrowed to it (no TCPRoute weights).
    const pinned = ctx.pinnedWorkloadUid;
    const name = backends && backends.length > 0 && pinned === undefined ? pickWeighted(backends, this.inputs.random ?? Math.random)?.cluster : defaultCluster;
    const found = name === undefined ? undefined : cfg.clusters.get(name);
    const cluster = found && pinned !== undefined ? { ...found, workloadUids: [pinned] } : found;
    const ep = cluster ? this.lb.pick(cluster, clusterEndpoints(this.inputs.state, cluster, this.network), { headers: new Map(), query: '', sourceIp: ctx.clientIp }) : undefined;
    const record = this.inputs.telemetry.tcp({
      source: { ip: ctx.clientIp, port: ctx.clientPort, identity: ctx.peerIdentity, workload: ctx.clientWorkload },
      destinationService: ctx.service,
      upstream: ep ? { ip: ep.ip, port: ep.port, workload: ep.workload, identity: ep.identity } : undefined,
      cluster: name,
    });
    if (!cluster || !ep) {
      respondError(req.stream, 503);
      record.close({ flags: 'UH', error: new MeshError('NO_HEALTHY_UPSTREAM', `no healthy upstream for ${name ?? ctx.service.hostname}`) });
      return;
    }
    // Envoy tcp_proxy: the cluster's maxConnections bounds relays too (overflow ⇒ UO, refused).
    const releaseCx = this.upstream.breaker(cluster).tryAcquire('connections');
    if (!releaseCx) {
      this.inputs.logger.debug({ cluster: cluster.name }, 'waypoint: tcp relay refused, cluster maxConnections reached (UO)');
      respondError(req.stream, 503);
      record.close({ flags: 'UO', error: new MeshError('UPSTREAM_OVERFLOW', `cluster ${cluster.name}: maxConnections reached`) });
      return;
    }
    const release = this.lb.acquire(ep);
    try {
      let up;
      try {
        up = await this.clients.open(ep, { clientIp: ctx.clientIp, clientPort: ctx.clientPort, service: ctx.service.hostname });
      } catch (err) {
        this.upstream.report(cluster, ep, 503);
        throw err;
      }
      this.upstream.report(cluster, ep, 200);
      if (req.stream.destroyed || req.stream.closed) {
        up.destroy();
        record.close({ flags: 'DC' });
        return;
      }
      req.stream.respond({ ':status': 200 });
      const error = await relay(req.stream, up, { received: (n) => record.received(n), sent: (n) => record.sent(n) });
      record.close({ error });
    } catch (err) {
      this.inputs.logger.debug({ endpoint: ep.key, err: (err as Error).message }, 'waypoint: tcp upstream failed');
      if (!req.stream.closed) respondError(req.stream, 503);
      record.close({ flags: 'UF', error: err as Error });
    } finally {
      release();
      releaseCx();
    }
  }

  configDump(): unknown {
    const src = this.config.source;
    return {
      version: src.version,
      waypoint: src.waypoint,
      identity: this.inputs.identity,
      services: src.services.map((s) => ({
        hostname: s.hostname,
        namespace: s.namespace,
        ports: s.ports.map((p) => ({ port: p.port, name: p.name, protocol: p.protocol, defaultCluster: p.defaultCluster, tcpBackends: p.tcpBackends, routes: p.routes })),
      })),
      clusters: src.clusters.map((c) => {
        const eps = clusterEndpoints(this.inputs.state, c, this.network);
        const loc = this.lb.locality(c, eps);
        return {
          ...c,
          ...this.upstream.dump(c),
          localityMode: loc.mode,
          endpoints: eps.map((e) => ({
            workload: `${e.workload.namespace}/${e.workload.name}`,
            uid: e.workload.uid,
            address: `${e.ip}:${e.port}`,
            identity: e.identity,
            protocol: e.hbone ? 'HBONE' : 'TCP',
            health: e.healthy ? 'HEALTHY' : 'UNHEALTHY',
            activeRequests: this.lb.activeRequests(e.key),
            locality: e.workload.locality,
            ...(loc.mode === 'none' ? {} : { priority: loc.priority.get(e.key) ?? null }),
            ...(loc.mode === 'distribute' ? { localityWeight: loc.weight.get(e.key) ?? 0 } : {}),
            ...(c.outlierDetection ? { outlier: this.upstream.endpointDump(c, e.key) } : {}),
          })),
        };
      }),
      security: this.security.dump(),
      stats: { hbone: this.server.stats(), pool: this.pool.stats(), tunnels: this.tunnels.activeTunnels },
    };
  }

  /** Stops accepting, lets in-flight requests and tunnels finish up to the deadline, then cuts. */
  async close(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.listener.close();
    this.tunnels.drain();
    await this.server.close(deadlineMs);
    this.security.close();
    this.clients.close();
    this.upstream.close();
    this.destroy();
  }

  destroy(): void {
    this.draining = true;
    this.listener.close();
    this.tunnels.destroy();
    this.server.destroy();
    this.clients.destroy();
    this.upstream.destroy();
    this.pool.destroy();
    this.security.destroy();
  }
}
