// Inbound HBONE (ztunnel src/proxy/inbound.rs): for each CONNECT stream, validate the authority
// against the local workload, map the target port, authorize, connect to the app, answer 200 and
// copy both ways.

import type { ServerHttp2Stream } from 'node:http2';
import { constants as h2c } from 'node:http2';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import { copyBidirectional, parseAuthority, parseForwardedHost, respondError, type HboneInboundRequest } from '../hbone/index.js';
import type { ErrorCounter, TrafficMetrics } from '../metrics/index.js';
import { trafficLabels } from '../metrics/index.js';
import { authorize, type RbacConnection } from '../rbac/index.js';
import type { ProxyState, Service, Workload } from '../state/index.js';
import { parseSpiffeId } from '../tls/index.js';
import { ConnectionRecord, describeError } from './connection-record.js';
import type { ConnectionManager } from './connection-manager.js';
import type { LocalView } from './local-workloads.js';
import { selfCallError, type OwnListeners } from './own-listeners.js';
import { formatAddr } from './socket-addr.js';
import type { SocketFactory } from './socket-factory.js';
import { workloadBaggage, workloadSpiffeId } from './workload-memo.js';

/** What every connection handler receives (the narrowest common view; no certificate access). */
export interface HandlerInputs {
  readonly config: Config;
  readonly state: ProxyState;
  readonly local: LocalView;
  readonly metrics: TrafficMetrics;
  readonly errors: ErrorCounter;
  readonly logger: Logger;
  readonly accessLog: Logger;
  /** Upstream sockets: host namespace, or the pod's namespace in in-pod mode. */
  readonly sockets: SocketFactory;
  /**
   * The agent's listeners in the namespace `sockets` connect in: the host proxy's include admin,
   * stats and readiness; an in-pod proxy's only the proxy ports (a pod's app may use 15000/15020).
   */
  readonly ownListeners: OwnListeners;
}

export interface InboundInputs extends HandlerInputs {
  readonly connections: ConnectionManager;
}

interface Target {
  readonly workload: Workload;
  readonly ip: string;
  readonly port: number;
}

export class InboundHandler {
  constructor(private readonly inputs: InboundInputs) {}

  /** Entry point wired to HboneServer.onConnect; never throws. */
  handle(req: HboneInboundRequest): void {
    this.serve(req).catch((err: unknown) => {
      this.inputs.logger.error({ err, authority: req.authority }, 'inbound: unexpected failure');
      this.fail(req.stream, err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error', { cause: err }));
    });
  }

  private fail(stream: ServerHttp2Stream, err: MeshError): void {
    this.inputs.errors.inc('inbound', err.code);
    if (!stream.headersSent && !stream.destroyed) respondError(stream, err.status || 503);
    else if (!stream.destroyed) stream.close(h2c.NGHTTP2_CANCEL);
  }

  /**
   * As ztunnel src/proxy/inbound.rs: authority → local workload, destination validation, target
   * port.
   */
  resolveTarget(req: HboneInboundRequest): Target {
    const { state, config } = this.inputs;
    const auth = parseAuthority(req.authority);
    if (!auth) throw new MeshError('BAD_AUTHORITY', `invalid :authority "${req.authority}"`);
    const workload =
      this.inputs.local.byIp(req.localAddress.ip) ?? (auth.kind === 'ip' ? this.inputs.local.byIp(auth.ip) : this.inputs.local.sole());
    if (!workload) throw new MeshError('UNKNOWN_WORKLOAD', `no local workload for ${req.localAddress.ip} / ${req.authority}`);
    let port: number;
    let ip: string;
    if (auth.kind === 'ip') {
      if (!workload.workloadIps.includes(auth.ip) && !workload.applicationTunnel) {
        throw new MeshError('IP_MISMATCH', `ip mismatch: ${auth.ip} is not an address of ${workload.namespace}/${workload.name}`);
      }
      port = auth.port;
      ip = workload.workloadIps.includes(auth.ip) ? auth.ip : workload.workloadIps[0]!;
    } else {
      const svc = state.serviceByHostname(auth.host, workload.namespace);
      const key = svc ? `${svc.namespace}/${svc.hostname}` : '';
      const mapped = svc ? (workload.services.get(key)?.get(auth.port) ?? svc.ports.get(auth.port) ?? 0) : 0;
      if (!svc || mapped === 0) throw new MeshError('UNKNOWN_WORKLOAD', `cannot resolve ${req.authority} on ${workload.name}`);
      port = mapped;
      ip = workload.workloadIps[0]!;
    }
    if (workload.applicationTunnel && workload.applicationTunnel.port !== 0) port = workload.applicationTunnel.port;
    // ztunnel refuses its proxy ports on any address (src/proxy/inbound.rs, `illegal_ports`); the
    // other own listeners only where the target address reaches them (same namespace, bind).
    if (ownPorts(config).includes(port)) throw new MeshError('SELF_CALL', `target port ${port} is one of the proxy's own ports`);
    const own = this.inputs.ownListeners.at({ ip, port });
    if (own) throw selfCallError({ ip, port }, own);
    return { workload, ip, port };
  }

  private async serve(req: HboneInboundRequest): Promise<void> {
    const { state, config } = this.inputs;
    let target: Target;
    try {
      target = this.resolveTarget(req);
    } catch (err) {
      // Early failures: a WARN line, no traffic metrics (ztunnel src/proxy/inbound.rs).
      this.inputs.accessLog.warn(
        { 'src.addr': formatAddr(req.remoteAddress), 'dst.addr': formatAddr(req.localAddress), direction: 'inbound', error: describeError(err) },
        'connection failed',
      );
      this.fail(req.stream, err as MeshError);
      return;
    }
    const { workload } = target;
    const source = state.workloadByIp(config.network, req.remoteAddress.ip);
    const destService = this.guessService(workload, target.port, req.headers['forwarded']);
    const dstIdentity = workloadSpiffeId(workload);
    const record = new ConnectionRecord({
      accessLog: this.inputs.accessLog,
      metrics: this.inputs.metrics,
      labels: trafficLabels({
        reporter: 'destination',
        source,
        sourcePrincipal: req.peerIdentity,
        destination: workload,
        destinationPrincipal: dstIdentity,
        destinationService: destService,
        securityPolicy: 'mutual_tls',
      }),
      direction: 'inbound',
      fields: () => ({
        'src.addr': formatAddr(req.remoteAddress),
        'src.workload': source?.name,
        'src.namespace': source?.namespace,
        'src.identity': req.peerIdentity,
        'dst.addr': formatAddr(req.localAddress),
        'dst.hbone_addr': req.authority,
        'dst.service': destService?.hostname,
        'dst.workload': workload.name,
        'dst.namespace': workload.namespace,
        'dst.identity': dstIdentity,
        direction: 'inbound',
      }),
    });
    const rbac: RbacConnection = {
      srcIp: req.remoteAddress.ip,
      srcPort: req.remoteAddress.port,
      dstIp: target.ip,
      dstPort: target.port,
      srcIdentity: parseSpiffeId(req.peerIdentity),
    };
    const denied = this.check(workload, rbac);
    if (denied) {
      this.fail(req.stream, denied);
      record.complete(denied);
      return;
    }
    let upstream;
    try {
      // In-pod, the app sees the original client IP (ztunnel src/proxy/inbound.rs,
      // src/socket.rs freebind_connect).
      upstream = await this.inputs.sockets.connect({ ip: target.ip, port: target.port }, { spoofSource: req.remoteAddress.ip });
    } catch (err) {
      this.fail(req.stream, isMeshError(err) ? err : new MeshError('UPSTREAM_CONNECT', String(err), { cause: err }));
      record.complete(err);
      return;
    }
    // The await above may have outlived the stream or a policy change: decide again on current state.
    const deniedNow = this.check(workload, rbac);
    if (req.stream.destroyed || deniedNow) {
      upstream.destroy();
      const err = deniedNow ?? new MeshError('UPSTREAM_CONNECT', 'client went away during upstream connect');
      this.fail(req.stream, err);
      record.complete(err);
      return;
    }
    const headers: Record<string, string | number> = { ':status': 200 };
    if (config.enableResponseBaggage) headers['baggage'] = workloadBaggage(workload);
    req.stream.respond(headers);
    let closeReason: MeshError | undefined;
    const untrack = this.inputs.connections.register({
      workloadUid: workload.uid,
      rbac,
      protocol: 'HBONE',
      authority: req.authority,
      peerIdentity: req.peerIdentity,
      openedAt: Date.now(),
      close: (err) => {
        closeReason = err;
        upstream.destroy();
        // CONNECT_ERROR, not CANCEL: the peer must treat this as an abort, not a clean EOF
        // (ztunnel src/proxy/h2.rs).
        if (!req.stream.destroyed) req.stream.close(h2c.NGHTTP2_CONNECT_ERROR);
      },
    });
    const result = await copyBidirectional(upstream, req.stream, {
      upstream: (n: number) => record.downstream(n),
      downstream: (n: number) => record.upstream(n),
    });
    untrack();
    record.complete(closeReason ?? result.error);
  }

  /** RBAC for the destination workload; returns the denial error or undefined. */
  private check(workload: Workload, rbac: RbacConnection): MeshError | undefined {
    const current = this.inputs.state.workloadByUid(workload.uid) ?? workload;
    const decision = authorize(this.inputs.state.policiesFor(current), rbac);
    if (decision.allowed) return undefined;
    return new MeshError('POLICY_DENIED', `connection denied: ${decision.reason}`);
  }

  /**
   * destination_service on inbound (ztunnel src/proxy.rs guess_inbound_service): Forwarded host=
   * if local, else by target port.
   */
  private guessService(workload: Workload, port: number, forwarded: string | string[] | undefined): Service | undefined {
    const services = this.inputs.state.servicesOf(workload);
    const host = typeof forwarded === 'string' ? parseForwardedHost(forwarded) : undefined;
    if (host) {
      const named = services.find((s) => s.hostname === host);
      if (named) return named;
    }
    return services.find((s) => {
      const own = workload.services.get(`${s.namespace}/${s.hostname}`);
      for (const [svcPort, target] of s.ports) {
        if (target === port || own?.get(svcPort) === port) return true;
      }
      return false;
    });
  }
}

export function ownPorts(config: Config): number[] {
  const p = config.ports;
  return config.socks5Enabled ? [p.outbound, p.inboundPlaintext, p.hbone, p.socks5] : [p.outbound, p.inboundPlaintext, p.hbone];
}
