// Inbound plaintext (15006): non-HBONE traffic to a local workload. Authorized with no peer
// identity, so STRICT (a DENY on "no principal") refuses it and PERMISSIVE lets it through.

import type { Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import { trafficLabels } from '../metrics/index.js';
import { authorize, type RbacConnection } from '../rbac/index.js';
import { ConnectionRecord, describeError } from './connection-record.js';
import { ownPorts, type InboundInputs } from './inbound.js';
import { selfCallError } from './own-listeners.js';
import type { SocketAddr } from './outbound-route.js';
import { formatAddr, remoteAddrOf } from './socket-addr.js';
import { pipeTcp } from './upstream.js';
import { workloadSpiffeId } from './workload-memo.js';

export type InboundPassthroughInputs = InboundInputs;

export class InboundPassthroughHandler {
  constructor(private readonly inputs: InboundPassthroughInputs) {}

  /** Proxies a plaintext connection whose original destination is `dst`. Never throws. */
  async handle(socket: Socket, dst: SocketAddr): Promise<void> {
    const { config, state } = this.inputs;
    const src = remoteAddrOf(socket);
    const early = (err: MeshError): void => {
      this.inputs.errors.inc('inbound_passthrough', err.code);
      this.inputs.accessLog.warn({ 'src.addr': formatAddr(src), 'dst.addr': formatAddr(dst), direction: 'inbound', error: err.message }, 'connection failed');
      socket.destroy();
    };
    if (ownPorts(config).includes(dst.port)) return early(new MeshError('SELF_CALL', `destination port ${dst.port} is one of the proxy's own ports`));
    const own = this.inputs.ownListeners.at(dst);
    if (own) return early(selfCallError(dst, own));
    const workload = this.inputs.local.byIp(dst.ip);
    if (!workload) return early(new MeshError('UNKNOWN_WORKLOAD', `no local workload has address ${dst.ip}`));
    const source = state.workloadByIp(config.network, src.ip);
    const dstIdentity = workloadSpiffeId(workload);
    const record = new ConnectionRecord({
      accessLog: this.inputs.accessLog,
      metrics: this.inputs.metrics,
      labels: trafficLabels({ reporter: 'destination', source, destination: workload, destinationPrincipal: dstIdentity, securityPolicy: 'unknown' }),
      direction: 'inbound',
      fields: () => ({
        'src.addr': formatAddr(src),
        'src.workload': source?.name,
        'src.namespace': source?.namespace,
        'dst.addr': formatAddr(dst),
        'dst.workload': workload.name,
        'dst.namespace': workload.namespace,
        direction: 'inbound',
      }),
    });
    const rbac: RbacConnection = { srcIp: src.ip, srcPort: src.port, dstIp: dst.ip, dstPort: dst.port, srcIdentity: undefined };
    const check = (): MeshError | undefined => {
      const current = state.workloadByUid(workload.uid) ?? workload;
      const decision = authorize(state.policiesFor(current), rbac);
      return decision.allowed ? undefined : new MeshError('POLICY_DENIED', `connection denied: ${decision.reason}`);
    };
    const denied = check();
    if (denied) {
      this.inputs.errors.inc('inbound_passthrough', denied.code);
      record.complete(denied);
      socket.destroy();
      return;
    }
    let upstream: Socket;
    try {
      upstream = await this.inputs.sockets.connect(dst, { spoofSource: src.ip });
    } catch (err) {
      this.inputs.errors.inc('inbound_passthrough', 'UPSTREAM_CONNECT');
      record.complete(err);
      socket.destroy();
      return;
    }
    const deniedNow = check();
    if (deniedNow || socket.destroyed) {
      upstream.destroy();
      socket.destroy();
      record.complete(deniedNow ?? new MeshError('UPSTREAM_CONNECT', 'client went away during upstream connect'));
      return;
    }
    let closeReason: MeshError | undefined;
    const untrack = this.inputs.connections.register({
      workloadUid: workload.uid,
      rbac,
      protocol: 'TCP',
      openedAt: Date.now(),
      close: (err) => {
        closeReason = err;
        socket.destroy();
        upstream.destroy();
      },
    });
    const err = await pipeTcp(socket, upstream, { aToB: (n) => record.upstream(n), bToA: (n) => record.downstream(n) });
    untrack();
    if (err) this.inputs.logger.debug({ err: describeError(err) }, 'inbound passthrough copy ended with error');
    record.complete(closeReason ?? err);
  }
}
