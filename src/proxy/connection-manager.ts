// Live inbound connections and continuous authorization: on every policy change each connection is
// re-checked and the ones no longer allowed are closed ("connection closed due to policy change").

import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { authorize, type RbacConnection } from '../rbac/index.js';
import type { Authorization, Workload } from '../state/index.js';

export interface TrackedConnection {
  /** The destination workload whose policies apply. */
  readonly workloadUid: string;
  readonly rbac: RbacConnection;
  /** Aborts the connection with the given error (idempotent). */
  close(err: MeshError): void;
}

/** The part of state the re-check reads. */
export interface PolicyView {
  workloadByUid(uid: string): Workload | undefined;
  policiesFor(workload: Workload): Authorization[];
}

export class ConnectionManager {
  private readonly live = new Set<TrackedConnection>();

  constructor(private readonly logger: Logger) {}

  /** Tracks a connection until the returned function is called. */
  register(conn: TrackedConnection): () => void {
    this.live.add(conn);
    return () => {
      this.live.delete(conn);
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

  /** All tracked connections (drain uses it for force-close at the deadline). */
  all(): TrackedConnection[] {
    return [...this.live];
  }
}
