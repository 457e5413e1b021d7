// Live connections and continuous authorization: on every policy change each inbound connection is
// re-checked and the ones no longer allowed are closed ("connection closed due to policy change").
// Outbound connections are tracked for listings only (admin /debug/connections), never re-checked.

import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { authorize, type RbacConnection } from '../rbac/index.js';
import type { Authorization, Workload } from '../state/index.js';
import type { SocketAddr } from './outbound-route.js';
import { formatAddr } from './socket-addr.js';

export interface TrackedConnection {
  /** The destination workload whose policies apply. */
  readonly workloadUid: string;
  readonly rbac: RbacConnection;
  /** How it arrived, for listings: HBONE (15008) or plaintext (15006). Absent = HBONE. */
  readonly protocol?: 'HBONE' | 'TCP';
  /** The HBONE CONNECT authority the peer asked for, for listings. */
  readonly authority?: string;
  /** The peer identity as presented (SPIFFE URI), for listings. */
  readonly peerIdentity?: string;
  /** When it was registered, ms since the epoch (listings). */
  readonly openedAt?: number;
  /** Aborts the connection with the given error (idempotent). */
  close(err: MeshError): void;
}

/** An established outbound connection of a local workload (listings only). */
export interface OutboundConnection {
  /** The source workload. */
  readonly workloadUid: string;
  readonly src: SocketAddr;
  /** Where the app connected (captured original destination or SOCKS5 target). */
  readonly originalDst: SocketAddr;
  /** The next hop dialled: a peer's 15008, a waypoint, or the target itself (TCP, passthrough). */
  readonly actualDst: SocketAddr;
  readonly protocol: 'HBONE' | 'TCP';
  /** The identities the next hop must present (HBONE). */
  readonly expectedIdentities?: readonly string[];
  readonly openedAt: number;
}

/**
 * One row of /debug/connections, after ztunnel's per-workload connection dump (istioctl
 * ztunnel-config connections): `local` is this side's address, `remote` the peer's, and
 * `remoteTarget` where the peer asked to go (inbound: the CONNECT authority) or where the app
 * asked to go (outbound: the original destination).
 */
export interface ConnectionListing {
  readonly workloadUid: string;
  readonly direction: 'inbound' | 'outbound';
  readonly protocol: 'HBONE' | 'TCP';
  readonly local: string;
  readonly remote: string;
  readonly remoteTarget?: string;
  /** Inbound: the peer's identity; outbound: the identities expected of the next hop, comma-joined. */
  readonly identity?: string;
  /** RFC 3339. */
  readonly openedAt?: string;
}

/** The part of state the re-check reads. */
export interface PolicyView {
  workloadByUid(uid: string): Workload | undefined;
  policiesFor(workload: Workload): readonly Authorization[];
}

export class ConnectionManager {
  private readonly live = new Set<TrackedConnection>();
  private readonly outbound = new Set<OutboundConnection>();

  constructor(private readonly logger: Logger) {}

  /** Tracks a connection until the returned function is called. */
  register(conn: TrackedConnection): () => void {
    this.live.add(conn);
    return () => {
      this.live.delete(conn);
    };
  }

  /** Tracks an established outbound connection until the returned function is called (listings only). */
  registerOutbound(conn: OutboundConnection): () => void {
    this.outbound.add(conn);
    return () => {
      this.outbound.delete(conn);
    };
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * Re-runs RBAC for every live connection against the current state. Synchronous: the state read
   * and the close decision happen in one tick.
   */
  recheck(state: PolicyView): number {
    let closed = 0;
    for (const conn of [...this.live]) {
      const wl = state.workloadByUid(conn.workloadUid);
      const decision = wl
        ? authorize(state.policiesFor(wl), conn.rbac)
        : ({ allowed: false, reason: 'destination workload removed', dryRunNotes: [] } as const);
      if (!decision.allowed) {
        closed++;
        this.live.delete(conn);
        this.logger.info({ src: `${conn.rbac.srcIp}:${conn.rbac.srcPort}`, reason: decision.reason }, 'connection closed due to policy change');
        conn.close(new MeshError('POLICY_CHANGED', `connection closed due to policy change: ${decision.reason}`));
      }
    }
    return closed;
  }

  /** All tracked inbound connections (drain uses it for force-close at the deadline). */
  all(): TrackedConnection[] {
    return [...this.live];
  }

  /** Every tracked connection, inbound then outbound, each in registration order (read-only view). */
  list(): ConnectionListing[] {
    const at = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
    const inbound = [...this.live].map(
      (c): ConnectionListing => ({
        workloadUid: c.workloadUid,
        direction: 'inbound',
        protocol: c.protocol ?? 'HBONE',
        local: formatAddr({ ip: c.rbac.dstIp, port: c.rbac.dstPort }),
        remote: formatAddr({ ip: c.rbac.srcIp, port: c.rbac.srcPort }),
        remoteTarget: c.authority,
        identity: c.peerIdentity,
        openedAt: at(c.openedAt),
      }),
    );
    const outbound = [...this.outbound].map(
      (c): ConnectionListing => ({
        workloadUid: c.workloadUid,
        direction: 'outbound',
        protocol: c.protocol,
        local: formatAddr(c.src),
        remote: formatAddr(c.actualDst),
        remoteTarget: formatAddr(c.originalDst),
        identity: c.expectedIdentities?.join(','),
        openedAt: at(c.openedAt),
      }),
    );
    return [...inbound, ...outbound];
  }
}
