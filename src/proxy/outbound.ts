// Outbound path shared by 15001 (captured traffic) and 15080 (SOCKS5): identify the source
// workload, route (ztunnel src/proxy/outbound.rs), then open HBONE through the pool or plain TCP,
// and copy both ways.

import type { Socket } from 'node:net';
import { MeshError, isMeshError } from '../common/errors.js';
import { buildForwarded, copyBidirectional, newTraceparent, type HbonePool } from '../hbone/index.js';
import type { CertSource } from '../identity/index.js';
import { trafficLabels, type ConnectionLabels } from '../metrics/index.js';
import { serviceKey, type Service, type Workload } from '../state/index.js';
import { clientConnectOptions } from '../tls/index.js';
import type { ConnectionManager } from './connection-manager.js';
import { ConnectionRecord, describeError } from './connection-record.js';
import type { HandlerInputs } from './inbound.js';
import { routeOutbound, routeToServiceHost, type Route, type RouteInput, type SocketAddr } from './outbound-route.js';
import { selfCallError } from './own-listeners.js';
import { ServiceEntryHosts } from './service-entry-hosts.js';
import { formatAddr, remoteAddrOf } from './socket-addr.js';
import { pipeTcp } from './upstream.js';
import { workloadBaggage, workloadSpiffeId } from './workload-memo.js';

export interface OutboundInputs extends HandlerInputs {
  readonly certs: CertSource;
  readonly pool: HbonePool;
  /** Where established connections are listed (admin /debug/connections); never re-authorized. */
  readonly connections?: ConnectionManager;
  /** Hostname lookups (DNS ServiceEntries); one per handler when not given. */
  readonly hosts?: ServiceEntryHosts;
}

/**
 * Istio's telemetry for a connection refused under REGISTRY_ONLY: Envoy's sidecar sends it to
 * BlackHoleCluster, which the stats filter reports as the destination service.
 */
const BLACK_HOLE = 'BlackHoleCluster';

/** Hooks a front end (SOCKS5) uses to answer its client once the upstream is up or has failed. */
export interface OutboundHooks {
  established?(): void;
  failed?(err: MeshError): void;
}

export class OutboundHandler {
  private readonly hosts: ServiceEntryHosts;

  /** One closure for every connection's routing input (the own-listener check). */
  private readonly ownListenerAt: (a: SocketAddr) => ReturnType<OutboundInputs['ownListeners']['at']>;

  constructor(private readonly inputs: OutboundInputs) {
    this.hosts = inputs.hosts ?? new ServiceEntryHosts();
    this.ownListenerAt = (a) => inputs.ownListeners.at(a);
  }

  /** Proxies `socket` to `dst`; resolves when the connection is over. Never throws. */
  async handle(socket: Socket, dst: SocketAddr, hooks: OutboundHooks = {}): Promise<void> {
    try {
      await this.serve(socket, dst, hooks);
    } catch (err) {
      const mesh = isMeshError(err) ? err : new MeshError('INTERNAL', 'internal error', { cause: err });
      if (mesh.code === 'INTERNAL') this.inputs.logger.error({ err }, 'outbound: unexpected failure');
      hooks.failed?.(mesh);
      socket.destroy();
    }
  }

  /**
   * Source IP for upstream sockets. With per-workload listeners (workload IPs are addresses of
   * this host: loopback tests, several agents on one host) connections leave from the client's
   * own IP, as they do from inside a pod netns; otherwise the kernel chooses.
   */
  private sourceBind(ip: string): string | undefined {
    return this.inputs.config.inboundBind === 'workloads' ? ip : undefined;
  }

  /** Lists an established connection until the returned function is called. */
  private track(workloadUid: string, src: SocketAddr, originalDst: SocketAddr, actualDst: SocketAddr, protocol: 'HBONE' | 'TCP', expectedIdentities: readonly string[] | undefined): () => void {
    const connections = this.inputs.connections;
    if (connections === undefined) return () => undefined;
    return connections.registerOutbound({ workloadUid, src, originalDst, actualDst, protocol, expectedIdentities, openedAt: Date.now() });
  }

  private earlyFailure(socket: Socket, dst: SocketAddr, err: MeshError, hooks: OutboundHooks): void {
    this.inputs.errors.inc('outbound', err.code);
    this.inputs.accessLog.warn(
      { 'src.addr': formatAddr(remoteAddrOf(socket)), 'dst.addr': formatAddr(dst), direction: 'outbound', error: err.message },
      'connection failed',
    );
    hooks.failed?.(err);
    socket.destroy();
  }

  private async serve(socket: Socket, dst: SocketAddr, hooks: OutboundHooks): Promise<void> {
    const { config, state } = this.inputs;
    const src = remoteAddrOf(socket);
    const source = this.inputs.local.sourceFor(src.ip);
    if (!source) {
      this.earlyFailure(socket, dst, new MeshError('UNKNOWN_SOURCE', `no local workload has address ${src.ip}`), hooks);
      return;
    }
    const input: RouteInput = { state, source, dst, network: config.network, hbonePort: config.ports.hbone, ownListenerAt: this.ownListenerAt };
    let route: Route | undefined;
    let refusal: MeshError | undefined;
    try {
      route = routeOutbound(input, src.ip);
    } catch (err) {
      if (!isMeshError(err, 'NOT_REGISTERED')) {
        this.earlyFailure(socket, dst, err as MeshError, hooks);
        return;
      }
      refusal = err;
    }
    // An address the mesh does not know may still be a DNS ServiceEntry host the client resolved
    // itself: then it is that host (ALLOW_ANY or REGISTRY_ONLY alike); else passthrough or refusal.
    let hostService: Service | undefined;
    const unknown = route === undefined || (route.kind === 'passthrough' && route.destService === undefined);
    if (unknown && this.hosts.candidates(state, source, dst.port).length > 0) {
      const found = await this.hosts.serviceAt(state, source, dst);
      // The state may have changed during the lookup: only a host still registered counts.
      hostService = found && state.serviceByKey(serviceKey(found.namespace, found.hostname));
      if (hostService !== undefined) {
        try {
          route = routeToServiceHost(input, hostService, src.ip);
        } catch (err) {
          this.earlyFailure(socket, dst, err as MeshError, hooks);
          return;
        }
      }
    }
    if (route === undefined) {
      this.refuse(socket, src, source, dst, refusal!, hooks);
      return;
    }
    const srcIdentity = workloadSpiffeId(source);
    const hbone = route.kind === 'hbone';
    const destWorkload = route.kind === 'passthrough' ? undefined : route.destWorkload;
    const destService = route.kind === 'passthrough' ? (route.destService ?? hostService) : route.destService;
    const dstIdentity = destWorkload && hbone ? workloadSpiffeId(destWorkload) : undefined;
    const decided = route;
    const record = new ConnectionRecord({
      accessLog: this.inputs.accessLog,
      metrics: this.inputs.metrics,
      labels: trafficLabels({
        reporter: 'source',
        source,
        sourcePrincipal: hbone ? srcIdentity : undefined,
        destination: destWorkload,
        destinationPrincipal: dstIdentity,
        destinationService: destService,
        securityPolicy: hbone ? 'mutual_tls' : 'unknown',
      }),
      direction: 'outbound',
      fields: () => ({
        'src.addr': formatAddr(src),
        'src.workload': source.name,
        'src.namespace': source.namespace,
        'src.identity': hbone ? srcIdentity : undefined,
        'dst.addr':
          decided.kind === 'hbone' ? formatAddr(decided.nextHop) : decided.kind === 'dns' ? `${decided.hostname}:${decided.port}` : formatAddr(decided.target),
        'dst.hbone_addr': decided.kind === 'hbone' ? decided.authority : undefined,
        'dst.service': destService?.hostname,
        'dst.workload': destWorkload?.name,
        'dst.namespace': destWorkload?.namespace,
        'dst.identity': dstIdentity,
        direction: 'outbound',
      }),
    });
    try {
      if (route.kind === 'hbone') {
        const cert = await this.inputs.certs.fetch(srcIdentity, 'realtime');
        const { stream } = await this.inputs.pool.connect({
          key: `${srcIdentity}|${sansKey(route.expectedSans)}|${src.ip}|${formatAddr(route.nextHop)}`,
          nextHop: route.nextHop,
          localAddress: this.sourceBind(src.ip),
          tls: () => clientConnectOptions(cert, route.expectedSans),
          authority: route.authority,
          headers: {
            baggage: workloadBaggage(source),
            forwarded: buildForwarded(src.ip, src.port, destService?.hostname),
            traceparent: newTraceparent(),
          },
        });
        if (socket.destroyed) {
          stream.close();
          record.complete(new MeshError('UPSTREAM_CONNECT', 'client went away before the tunnel was up'));
          return;
        }
        hooks.established?.();
        const untrack = this.track(source.uid, src, dst, route.nextHop, 'HBONE', route.expectedSans);
        try {
          // The client side buffers up to one stream window, as ztunnel's 4 MiB client send buffer.
          const result = await copyBidirectional(
            socket,
            stream,
            { upstream: (n: number) => record.upstream(n), downstream: (n: number) => record.downstream(n) },
            { h2SendBufferBytes: config.http2.streamWindowBytes },
          );
          record.complete(result.error);
        } finally {
          untrack();
        }
      } else {
        const target = route.kind === 'dns' ? await this.resolvedTarget(route.hostname, route.port, dst.ip) : route.target;
        const upstream = await this.inputs.sockets.connect(target, { localAddress: this.sourceBind(src.ip) });
        if (socket.destroyed) {
          upstream.destroy();
          record.complete(new MeshError('UPSTREAM_CONNECT', 'client went away before the upstream was up'));
          return;
        }
        hooks.established?.();
        const untrack = this.track(source.uid, src, dst, target, 'TCP', undefined);
        try {
          const err = await pipeTcp(socket, upstream, { aToB: (n) => record.upstream(n), bToA: (n) => record.downstream(n) });
          record.complete(err);
        } finally {
          untrack();
        }
      }
    } catch (err) {
      const mesh = isMeshError(err) ? err : new MeshError('UPSTREAM_CONNECT', describeError(err), { cause: err });
      this.inputs.errors.inc('outbound', mesh.code);
      record.complete(mesh);
      hooks.failed?.(mesh);
      socket.destroy();
    }
  }

  /** An endpoint known by hostname: resolved (cached), of the dialled family when it has one; never one of our listeners. */
  private async resolvedTarget(hostname: string, port: number, dialled: string): Promise<SocketAddr> {
    const target = { ip: await this.hosts.addressFor(hostname, dialled), port };
    const own = this.inputs.ownListeners.at(target);
    if (own) throw selfCallError(target, own);
    return target;
  }

  /**
   * REGISTRY_ONLY refusal: logged and counted like a connection with its response flag (NR) and,
   * as Istio reports a sidecar's BlackHoleCluster, destination_service BlackHoleCluster.
   */
  private refuse(socket: Socket, src: SocketAddr, source: Workload, dst: SocketAddr, err: MeshError, hooks: OutboundHooks): void {
    this.inputs.errors.inc('outbound', err.code);
    const labels: ConnectionLabels = {
      ...trafficLabels({ reporter: 'source', source, securityPolicy: 'unknown' }),
      destination_service: BLACK_HOLE,
      destination_service_name: BLACK_HOLE,
    };
    const record = new ConnectionRecord({
      accessLog: this.inputs.accessLog,
      metrics: this.inputs.metrics,
      labels,
      direction: 'outbound',
      fields: () => ({ 'src.addr': formatAddr(src), 'src.workload': source.name, 'src.namespace': source.namespace, 'dst.addr': formatAddr(dst), direction: 'outbound' }),
    });
    record.complete(err);
    hooks.failed?.(err);
    socket.destroy();
  }
}

/** The expected SANs in the pool key: order-independent; one SAN (the usual case) copies nothing. */
function sansKey(sans: readonly string[]): string {
  return sans.length === 1 ? sans[0]! : [...sans].sort().join(',');
}
