// The ZDS protocol state of one connection, as one transition function (pure): what each request
// means given whether the snapshot is complete. Follows ztunnel src/inpod/linux/statemanager.rs
// (process_msg) and workloadmanager.rs: protocol errors are NACKed and end the connection.

import type { ZdsMessage } from './zds-datagram.js';

export interface ZdsSessionState {
  /** SnapshotSent was received on this connection. */
  readonly snapshotSent: boolean;
  /** Pods added or kept on this connection before SnapshotSent (they survive the reconciliation). */
  readonly snapshot: ReadonlySet<string>;
}

export const NEW_SESSION: ZdsSessionState = { snapshotSent: false, snapshot: new Set() };

/** What the agent does for one request. Every action but `refuse` is acked by its outcome. */
export type ZdsAction =
  /** Start the pod's proxy (or keep it: same netns; or replace it: another netns); ack once its listeners are bound. */
  | { readonly do: 'add'; readonly uid: string; readonly message: Extract<ZdsMessage, { kind: 'add' }> }
  /** Nothing to do now: the pod is in the snapshot set. */
  | { readonly do: 'keep'; readonly uid: string }
  /** Stop the pod's proxy now (immediately: the pod is gone). */
  | { readonly do: 'del'; readonly uid: string }
  /**
   * A Del before the snapshot: out of the snapshot set, so the reconciliation drops it; a pod still
   * failing to start stops retrying now (ztunnel clears it from its pending set).
   */
  | { readonly do: 'forget'; readonly uid: string }
  /** Drop every pod not in `keep`; the agent is then ready (once no pod is pending). */
  | { readonly do: 'reconcile'; readonly keep: ReadonlySet<string> }
  /** Protocol error: NACK with `reason` and drop the connection (istio-cni reconnects and replays). */
  | { readonly do: 'refuse'; readonly reason: string };

export interface ZdsTransition {
  readonly state: ZdsSessionState;
  readonly action: ZdsAction;
}

export function zdsTransition(state: ZdsSessionState, m: ZdsMessage): ZdsTransition {
  const withUid = (uid: string, keep: boolean): ZdsSessionState => {
    const snapshot = new Set(state.snapshot);
    if (keep) snapshot.add(uid);
    else snapshot.delete(uid);
    return { snapshotSent: state.snapshotSent, snapshot };
  };
  switch (m.kind) {
    case 'add':
      return { state: state.snapshotSent ? state : withUid(m.uid, true), action: { do: 'add', uid: m.uid, message: m } };
    case 'keep':
      if (state.snapshotSent) return { state, action: { do: 'refuse', reason: `KeepWorkload ${m.uid} after SnapshotSent (keep is only valid in the snapshot)` } };
      return { state: withUid(m.uid, true), action: { do: 'keep', uid: m.uid } };
    case 'del':
      if (!state.snapshotSent) return { state: withUid(m.uid, false), action: { do: 'forget', uid: m.uid } };
      return { state, action: { do: 'del', uid: m.uid } };
    case 'snapshot-sent':
      if (state.snapshotSent) return { state, action: { do: 'refuse', reason: 'a second SnapshotSent on this connection' } };
      return { state: { snapshotSent: true, snapshot: new Set() }, action: { do: 'reconcile', keep: state.snapshot } };
  }
}
